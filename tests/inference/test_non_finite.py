"""Issue 26: NaN or infinite model outputs are an error, never a label with status ok."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from fairaudit.exceptions import FairAuditError
from fairaudit.inference import Predictor
from fairaudit.inference._outputs import task_columns
from fairaudit.models import FAIRFACE_TASKS

from .conftest import INPUT_SIZE


def _outputs(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {t.name: rng.dirichlet(np.ones(len(t.classes)), size=n) for t in FAIRFACE_TASKS}


def test_nan_and_inf_outputs_are_refused_naming_rows():
    outputs = _outputs(5)
    outputs["race"][3] = np.nan
    with pytest.raises(
        FairAuditError, match=r"race outputs are not finite .* 1 of 5 .*row\(s\) 4\)"
    ):
        task_columns(FAIRFACE_TASKS, outputs, np.ones(5, dtype=bool))
    outputs = _outputs(5)
    outputs["gender"][[0, 2], 1] = np.inf
    with pytest.raises(FairAuditError, match=r"gender outputs .* 2 of 5 .*row\(s\) 1, 3\)"):
        task_columns(FAIRFACE_TASKS, outputs, np.ones(5, dtype=bool))


def test_rows_not_predicted_may_hold_anything():
    outputs = _outputs(3)
    outputs["age"][1] = np.nan  # an unreadable image's placeholder
    columns = task_columns(FAIRFACE_TASKS, outputs, np.array([True, False, True]))
    assert np.isnan(columns["age_prob_0-2"][1]) and not np.isnan(columns["age_prob_0-2"][0])


def test_a_checkpoint_with_nan_weights_predicts_no_label(model, image_folder: Path):
    broken = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in broken.parameters():
            parameter.fill_(float("nan"))
    predictor = Predictor(broken, input_size=INPUT_SIZE)
    with pytest.raises(FairAuditError, match="outputs are not finite"):
        predictor.predict(image_folder, progress=False)
