"""Bootstrap (multinomial vs naive row resampling), significance tests, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from fairaudit.functional._resampling import multinomial_replicates
from fairaudit.functional._significance import holm
from fairaudit.model_audit import audit_predictions

from .conftest import make_data

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def small():
    y_true, y_pred = make_data(600, 5, accuracy=0.8)
    result = audit_predictions(
        y_true=y_true, y_pred=y_pred, sensitive_features={"race": y_true["race"]}
    )
    return y_true, y_pred, result


def test_multinomial_replicates_keep_total_and_zeros():
    counts = np.array([[5, 0], [3, 2]])
    reps = multinomial_replicates(counts, 50, np.random.default_rng(0))
    assert reps.shape == (50, 2, 2)
    assert (reps.sum(axis=(1, 2)) == 10).all() and (reps[:, 0, 1] == 0).all()


def test_bootstrap_seeded_and_contains_estimate(small):
    _, _, result = small
    a = result.bootstrap(n_resamples=200, random_state=7, progress=False, by="race")
    b = result.bootstrap(n_resamples=200, random_state=7, progress=False, by="race")
    c = result.bootstrap(n_resamples=200, random_state=8, progress=False, by="race")
    assert a.equals(b) and not a.equals(c)
    slices = a[(a["group"] != "all") & a["n_valid"].eq(200)]
    assert len(slices) > 0
    assert (
        (slices["lower"] <= slices["estimate"] + 1e-12)
        & (slices["estimate"] <= slices["upper"] + 1e-12)
    ).all()
    assert (slices["upper"] > slices["lower"]).any()


def test_bootstrap_width_agrees_with_naive_row_bootstrap(small):
    y_true, y_pred, result = small
    n_rep = 400
    boot = result.bootstrap(
        n_resamples=n_rep, random_state=0, progress=False, tasks=["age"], by="race"
    )
    rng = np.random.default_rng(123)
    n = len(y_true["age"])
    naive_acc = {r: [] for r in range(7)}
    naive_gap = []
    for _ in range(n_rep):
        idx = rng.integers(0, n, n)
        t, p, g = y_true["age"][idx], y_pred["age"][idx], y_true["race"][idx]
        accs = [(t[g == r] == p[g == r]).mean() for r in range(7)]
        for r in range(7):
            naive_acc[r].append(accs[r])
        naive_gap.append(max(accs) - min(accs))
    acc_rows = boot[(boot["metric"] == "accuracy") & (boot["group"] != "all")]
    for r, row in enumerate(acc_rows.itertuples()):
        assert row.std_error == pytest.approx(np.std(naive_acc[r], ddof=1), rel=0.2)
    gap = boot[(boot["metric"] == "accuracy_difference") & (boot["class"] == "all")].iloc[0]
    assert gap["std_error"] == pytest.approx(np.std(naive_gap, ddof=1), rel=0.2)
    # the gap's bounds are not the (biased) percentile interval of the naive bootstrap but
    # the gap claim's simultaneous interval, which contains the estimate
    from fairaudit.claims import GapInference

    claim = GapInference(result.grouped_counts("age", by="race"), "accuracy_difference")
    assert gap["interval"] == claim.method
    assert (gap["lower"], gap["upper"]) == pytest.approx(claim.interval(0.05), abs=1e-12)
    assert gap["lower"] <= gap["estimate"] <= gap["upper"]
    # a group's accuracy: the exact interval of its counts, whatever its size
    from statsmodels.stats.proportion import proportion_confint

    for r, row in enumerate(acc_rows.itertuples()):
        mask = y_true["race"] == r
        hits = int((y_true["age"][mask] == y_pred["age"][mask]).sum())
        low, high = proportion_confint(hits, int(mask.sum()), alpha=0.05, method="beta")
        assert (row.lower, row.upper) == pytest.approx((low, high), abs=1e-10)
        assert row.interval == "exact (Clopper-Pearson)"


def test_significance_claims_agree_with_their_intervals_and_bh(small):
    from statsmodels.stats.multitest import multipletests

    y_true, y_pred, result = small
    for pairs in ("extreme", "all"):
        sig = result.significance("age", by="race", pairs=pairs)
        reject, q, _, _ = multipletests(sig["p_value"], alpha=0.05, method="fdr_bh")
        np.testing.assert_allclose(sig["p_adjusted"], q)
        np.testing.assert_array_equal(sig["significant"], reject)
        np.testing.assert_array_equal(sig["significant"], sig["lower"] > 0)
        assert (sig["lower"] <= sig["difference"] + 1e-12).all()
        assert (sig["difference"] <= sig["upper"] + 1e-12).all()
    acc = sig[sig["rate"] == "accuracy"].iloc[0]  # a pair: the rates from the rows
    races = list(result.attributes["race"].classes)
    for group, column in ((acc["group_a"], "rate_a"), (acc["group_b"], "rate_b")):
        m = y_true["race"] == races.index(group)
        assert acc[column] == pytest.approx((y_true["age"][m] == y_pred["age"][m]).mean())


def test_holm_against_hand_computation():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> 0.09 (monotone), 0.5*1=0.5
    np.testing.assert_allclose(holm(p), [0.04, 0.09, 0.09, 0.5])


def test_calibration_ece_equals_naive_loop():
    y_true, y_pred = make_data(1500, 9)
    rng = np.random.default_rng(9)
    proba = rng.dirichlet(np.ones(7) * 0.5, 1500)
    pred = proba.argmax(axis=1)
    result = audit_predictions(
        y_true={"race": y_true["race"]},
        y_proba={"race": proba},
        sensitive_features={"gender": y_true["gender"]},
        n_bins=10,
    )
    cal = result.calibration("race", by="gender")
    rel = result.reliability("race", by="gender")
    for g in range(2):
        m = y_true["gender"] == g
        conf, correct = proba[m].max(axis=1), (pred[m] == y_true["race"][m])
        ece = 0.0
        for b in range(10):
            in_bin = (conf >= b / 10) & ((conf < (b + 1) / 10) | (b == 9))
            if in_bin.any():
                ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
                row = rel[(rel["gender"] == str(g)) & (rel["bin"] == b)].iloc[0]
                assert row["n"] == in_bin.sum()
                assert row["accuracy"] == pytest.approx(correct[in_bin].mean())
        assert cal["ece"].iloc[g] == pytest.approx(ece, abs=1e-12)
