"""The per-group rate view (model_audit._views.group_rate_table) against a naive loop.

Oracles: each group's rows counted one by one from the raw labels and predictions
(no count tensor), and statsmodels' ``proportion_confint`` (``"beta"``: Clopper-Pearson,
``"wilson"``) for the intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from fairaudit.exceptions import DataValidationError
from fairaudit.model_audit import audit_predictions
from fairaudit.model_audit._views import group_rate_table
from fairaudit.vocab import FAIRFACE_AGE as AGE
from fairaudit.vocab import FAIRFACE_RACE as RACE
from fairaudit.vocab import GENDER
from tests.model_audit.conftest import make_data

VOCABS = {"gender": GENDER, "age": AGE, "race": RACE}
STATSMODELS = {"exact": "beta", "wilson": "wilson"}


@pytest.fixture(scope="module")
def raw() -> tuple[dict, dict]:
    # small, so that some age x race groups are empty and some classes absent
    return make_data(400, 7)


@pytest.fixture(scope="module")
def audit(raw):
    y_true, y_pred = raw
    return audit_predictions(
        y_true={t: np.asarray(VOCABS[t].classes)[v] for t, v in y_true.items()},
        y_pred={t: np.asarray(VOCABS[t].classes)[v] for t, v in y_pred.items()},
        sensitive_features={a: np.asarray(VOCABS[a].classes)[y_true[a]] for a in VOCABS},
        tasks=VOCABS,
        attributes=VOCABS,
    )


def _naive(raw, task, by, rate, k, method, confidence):
    """Per group (C order), rows counted one at a time: (group, n, hits, rate, lower, upper)."""
    y_true, y_pred = raw
    out = []
    groups = [()]
    for attribute in by:
        groups = [g + (c,) for g in groups for c in range(len(VOCABS[attribute]))]
    for group in groups:
        n = hits = 0
        for i in range(len(y_true[task])):
            if any(y_true[a][i] != c for a, c in zip(by, group, strict=True)):
                continue
            truth, guess = y_true[task][i], y_pred[task][i]
            if rate == "accuracy":
                n, hits = n + 1, hits + (truth == guess)
            elif rate == "tpr" and truth == k:
                n, hits = n + 1, hits + (guess == k)
            elif rate == "fpr" and truth != k:
                n, hits = n + 1, hits + (guess == k)
            elif rate == "selection_rate":
                n, hits = n + 1, hits + (guess == k)
        name = " & ".join(VOCABS[a].classes[c] for a, c in zip(by, group, strict=True)) or "all"
        if n:
            low, high = proportion_confint(
                hits, n, alpha=1 - confidence, method=STATSMODELS[method]
            )
            out.append((name, n, hits, hits / n, low, high))
        else:
            out.append((name, 0, 0, np.nan, np.nan, np.nan))
    return pd.DataFrame(out, columns=["group", "n", "hits", "rate", "lower", "upper"])


@pytest.mark.parametrize("method", ["exact", "wilson"])
@pytest.mark.parametrize("by", [(), ("race",), ("age", "race")])
def test_accuracy_per_group_against_a_naive_loop(raw, audit, by, method) -> None:
    table = group_rate_table(audit, "gender", by=by, method=method, confidence=0.9)
    expected = _naive(raw, "gender", by, "accuracy", None, method, 0.9)
    assert (table["n"] == 0).any() if len(by) == 2 else True  # empty groups are kept
    assert table["group"].tolist() == expected["group"].tolist()
    assert table["n"].tolist() == expected["n"].tolist()
    assert table["hits"].tolist() == expected["hits"].tolist()
    for column in ("rate", "lower", "upper"):
        np.testing.assert_allclose(table[column], expected[column], rtol=0, atol=1e-10)
    assert set(table["method"]) == {method}
    assert list(table.columns) == [*by, "group", "n", "hits", "rate", "lower", "upper", "method"]
    for attribute in by:
        assert table[attribute].dtype == VOCABS[attribute].dtype


@pytest.mark.parametrize("rate", ["tpr", "fpr", "selection_rate"])
def test_per_class_rates_against_a_naive_loop(raw, audit, rate) -> None:
    table = group_rate_table(audit, "age", by="gender", rate=rate)
    assert len(table) == len(GENDER) * len(AGE)
    assert table["class"].tolist() == list(AGE.classes) * len(GENDER)
    for k, cls in enumerate(AGE.classes):
        mine = table[table["class"] == cls].reset_index(drop=True)
        expected = _naive(raw, "age", ("gender",), rate, k, "exact", 0.95)
        assert mine["n"].tolist() == expected["n"].tolist()
        assert mine["hits"].tolist() == expected["hits"].tolist()
        for column in ("rate", "lower", "upper"):
            np.testing.assert_allclose(mine[column], expected[column], rtol=0, atol=1e-10)
        one = group_rate_table(audit, "age", by="gender", rate=rate, of_class=cls)
        pd.testing.assert_frame_equal(one, mine)


def test_bad_requests_are_refused(audit) -> None:
    with pytest.raises(DataValidationError, match="unknown rate 'recall'"):
        group_rate_table(audit, "gender", rate="recall")
    with pytest.raises(DataValidationError, match="unknown interval method 'wald'"):
        group_rate_table(audit, "gender", method="wald")
    with pytest.raises(DataValidationError, match="not of a class"):
        group_rate_table(audit, "gender", of_class="Female")
    with pytest.raises(DataValidationError, match="'Other' is not a class of 'gender'"):
        group_rate_table(audit, "gender", rate="tpr", of_class="Other")
    with pytest.raises(DataValidationError, match="unknown task"):
        group_rate_table(audit, "skin", by="race")
