"""Prediction on real FairFace images (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairaudit.datasets import load_fairface
from fairaudit.inference import Predictor

pytestmark = pytest.mark.shared_data


def test_predict_64_real_val_images_joins_to_labels(fairface_root: Path, checkpoint: Path) -> None:
    dataset = load_fairface(fairface_root, splits=("val",))
    run = Predictor.from_checkpoint(checkpoint, batch_size=32).run(
        dataset, limit=64, progress=False
    )
    table = run.table
    assert len(table) == 64
    assert (table["status"] == "ok").all()
    assert run.summary.n_missing == dataset.report.n_missing_images  # 10,954 - 5,000 listed
    labels = pd.read_csv(fairface_root / "labels" / "fairface_label_val.csv")
    joined = table.merge(labels, on="file", how="left", suffixes=("", "_csv"), indicator=True)
    assert (joined["_merge"] == "both").all()
    for column in ("gender", "age", "race"):
        assert (joined[column].astype(str) == joined[f"{column}_csv"]).all()
    assert table["file"].str.startswith("val/").all()
