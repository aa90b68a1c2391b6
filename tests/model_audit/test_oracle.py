"""Every per-slice value against the naive per-group loop with scikit-learn, and fairlearn."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

from fairaudit.model_audit import audit_predictions
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from .conftest import SIZES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

GROUPINGS = [
    ("gender", None),
    ("age", ("gender",)),
    ("race", ("race", "gender")),
    ("gender", ("age", "race")),
    ("age", ("gender", "age", "race")),
]


def _masks(y_true: dict, by: tuple[str, ...] | None):
    if not by:
        yield (), np.ones(len(y_true["gender"]), dtype=bool)
        return
    for combo in itertools.product(*[range(SIZES[b]) for b in by]):
        mask = np.ones(len(y_true["gender"]), dtype=bool)
        for b, v in zip(by, combo, strict=True):
            mask &= y_true[b] == v
        yield combo, mask


@pytest.mark.parametrize(("task", "by"), GROUPINGS)
def test_slice_metrics_equal_sklearn_loop(data, task, by):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    frame = result.metrics(task, by=by)
    cms = result.confusion_matrix(task, by=by).to_numpy().reshape(len(frame), SIZES[task], -1)
    for i, (_, mask) in enumerate(_masks(y_true, by)):
        t, p = y_true[task][mask], y_pred[task][mask]
        row = frame.iloc[i]
        assert row["support"] == mask.sum()
        np.testing.assert_array_equal(cms[i], confusion_matrix(t, p, labels=range(SIZES[task])))
        if mask.sum() == 0:
            assert np.isnan(row["accuracy"]) and row["status"] == "empty"
            continue
        assert row["accuracy"] == pytest.approx(accuracy_score(t, p), abs=1e-12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert row["balanced_accuracy"] == pytest.approx(
                balanced_accuracy_score(t, p), abs=1e-12
            )
        for average in ("macro", "weighted"):
            ps, rs, fs, _ = precision_recall_fscore_support(t, p, average=average, zero_division=0)
            assert row[f"precision_{average}"] == pytest.approx(ps, abs=1e-12)
            assert row[f"recall_{average}"] == pytest.approx(rs, abs=1e-12)
            assert row[f"f1_{average}"] == pytest.approx(fs, abs=1e-12)


@pytest.mark.parametrize("task", ["age", "race"])
def test_per_class_equal_sklearn(data, task):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    frame = result.per_class(task, by=("gender", "race"))
    c = SIZES[task]
    for i, (_, mask) in enumerate(_masks(y_true, ("gender", "race"))):
        p, r, f, s = precision_recall_fscore_support(
            y_true[task][mask], y_pred[task][mask], labels=range(c), zero_division=0
        )
        block = frame.iloc[i * c : (i + 1) * c]
        np.testing.assert_allclose(block["precision"], p, atol=1e-12)
        np.testing.assert_allclose(block["recall"], r, atol=1e-12)
        np.testing.assert_allclose(block["f1"], f, atol=1e-12)
        np.testing.assert_array_equal(block["support"], s)
        sel = np.array([(y_pred[task][mask] == k).mean() for k in range(c)])
        np.testing.assert_allclose(block["selection_rate"], sel, atol=1e-12)


def test_normalized_confusion_matrix_equals_sklearn(data):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    mine = result.confusion_matrix("age", normalize="true").to_numpy()
    theirs = confusion_matrix(y_true["age"], y_pred["age"], normalize="true")
    np.testing.assert_allclose(mine, theirs, atol=1e-12)


@pytest.mark.parametrize("by", [("race",), ("age",), ("race", "age")])
def test_binary_fairness_equals_fairlearn(data, by):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    fair = result.fairness("gender", by=by).set_index(["metric", "class"])["value"]
    # fairlearn groups only observed combinations; the engine leaves empty groups out too
    sf = pd.DataFrame({b: y_true[b] for b in by})
    t, p = y_true["gender"], y_pred["gender"]
    kw = {"sensitive_features": sf}
    assert fair["demographic_parity_difference", "all"] == pytest.approx(
        demographic_parity_difference(t, p, **kw), abs=1e-12
    )
    assert fair["demographic_parity_ratio", "all"] == pytest.approx(
        demographic_parity_ratio(t, p, **kw), abs=1e-12
    )
    assert fair["equalized_odds_difference", "all"] == pytest.approx(
        equalized_odds_difference(t, p, **kw), abs=1e-12
    )
    assert fair["equalized_odds_ratio", "all"] == pytest.approx(
        equalized_odds_ratio(t, p, **kw), abs=1e-12
    )


def test_multiclass_fairness_one_vs_rest_equals_fairlearn_per_class(data):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    fair = result.fairness("age", by="race").set_index(["metric", "class"])["value"]
    sf = y_true["race"]
    per_class = {}
    for k, cls in enumerate(FAIRFACE_VOCABULARIES["age"].classes):
        t, p = (y_true["age"] == k).astype(int), (y_pred["age"] == k).astype(int)
        rates = np.array([p[sf == g].mean() for g in range(7)])
        per_class[cls] = (
            demographic_parity_difference(t, p, sensitive_features=sf),
            equalized_odds_difference(t, p, sensitive_features=sf),
            rates.min() / rates.max(),
        )
        assert fair["demographic_parity_difference", cls] == pytest.approx(per_class[cls][0])
        assert fair["equalized_odds_difference", cls] == pytest.approx(per_class[cls][1])
        assert fair["disparate_impact_ratio", cls] == pytest.approx(per_class[cls][2])
    # the summary is the worst class
    assert fair["demographic_parity_difference", "all"] == pytest.approx(
        max(v[0] for v in per_class.values())
    )
    assert fair["equalized_odds_difference", "all"] == pytest.approx(
        max(v[1] for v in per_class.values())
    )
    assert fair["demographic_parity_ratio", "all"] == pytest.approx(
        min(v[2] for v in per_class.values())
    )


def test_accuracy_gap_and_table_equal_naive_loop(data):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    accs = [
        accuracy_score(y_true["race"][y_true["age"] == a], y_pred["race"][y_true["age"] == a])
        for a in range(9)
    ]
    fair = result.fairness("race", by="age").set_index(["metric", "class"])
    assert fair.loc[("accuracy_difference", "all"), "value"] == pytest.approx(max(accs) - min(accs))
    assert fair.loc[("accuracy_ratio", "all"), "value"] == pytest.approx(min(accs) / max(accs))
    worst = FAIRFACE_VOCABULARIES["age"].classes[int(np.argmin(accs))]
    assert fair.loc[("accuracy_difference", "all"), "low_group"] == worst
    table = result.table("gender", rows="age", columns="race")
    for a, r in [(0, 0), (3, 4), (8, 6)]:
        mask = (y_true["age"] == a) & (y_true["race"] == r)
        expected = accuracy_score(y_true["gender"][mask], y_pred["gender"][mask])
        assert table.iloc[a, r] == pytest.approx(expected)


def test_disparate_impact_four_fifths(data):
    y_true, y_pred = data
    result = audit_predictions(y_true=y_true, y_pred=y_pred)
    di = result.disparate_impact("gender", by="race")
    female = di[di["class"] == "Female"]
    rates = np.array([(y_pred["gender"][y_true["race"] == r] == 1).mean() for r in range(7)])
    np.testing.assert_allclose(female["selection_rate"], rates)
    np.testing.assert_allclose(female["ratio"], rates / rates.max())
    np.testing.assert_array_equal(female["passes"], rates / rates.max() >= 0.8)
