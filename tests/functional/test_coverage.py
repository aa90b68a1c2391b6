"""Intervals cover at their nominal level: a simulation of audits with known true rates.

Each scenario fixes, for 7 groups, the true positive and false positive rate of a
binary task (prevalence 1/2); an audit draws 300 rows per group. The true gaps
follow from the expected counts through the very functions that give the estimates
(``fairness_arrays`` on expected counts), so "true" means the same definition.

200 audits per scenario: a coverage of 0.95 has Monte Carlo standard error
sqrt(0.95 * 0.05 / 200) = 0.015, so requiring >= 0.93 fails a method whose real
coverage is below about 0.90 (2.6 standard errors) and passes a correct one with
probability above 0.9 even if it were exactly nominal. The simultaneous intervals
are conservative by construction (their coverage is far above 0.95), so the test
does not flicker; the seeds are fixed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fairaudit.functional import fairness_arrays
from fairaudit.functional._fairness import gap_intervals
from fairaudit.model_audit import audit_predictions
from fairaudit.vocab import Vocabulary

N_AUDITS = 200
N_GROUPS = 7
ROWS = 300
CHECKED = ("accuracy_difference", "demographic_parity_difference", "equalized_odds_difference")


def _rates(gap: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """TPR and FPR of each group; group 0 differs by ``gap``."""
    tpr = np.full(N_GROUPS, 0.75)
    fpr = np.full(N_GROUPS, 0.25)
    if kind == "accuracy":  # worse on both classes: accuracy and EO gaps, no DP gap
        tpr[0] -= gap
        fpr[0] += gap
    else:  # predicts the positive class more often: DP and EO gaps, no accuracy gap
        tpr[0] += gap
        fpr[0] += gap
    return tpr, fpr


def _expected_counts(tpr: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    half = ROWS / 2
    cm = np.empty((N_GROUPS, 2, 2))
    cm[:, 1, 1], cm[:, 1, 0] = half * tpr, half * (1 - tpr)
    cm[:, 0, 1], cm[:, 0, 0] = half * fpr, half * (1 - fpr)
    return cm


def _draw(rng: np.random.Generator, tpr: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    positives = rng.binomial(ROWS, 0.5, size=N_GROUPS)
    negatives = ROWS - positives
    tp = rng.binomial(positives, tpr)
    fp = rng.binomial(negatives, fpr)
    cm = np.empty((N_GROUPS, 2, 2), dtype=np.int64)
    cm[:, 1, 1], cm[:, 1, 0] = tp, positives - tp
    cm[:, 0, 1], cm[:, 0, 0] = fp, negatives - fp
    return cm


@pytest.mark.parametrize("kind", ["accuracy", "selection"])
@pytest.mark.parametrize("gap", [0.0, 0.05, 0.15])
def test_gap_intervals_cover_at_their_level(gap: float, kind: str) -> None:
    tpr, fpr = _rates(gap, kind)
    truth = fairness_arrays(_expected_counts(tpr, fpr))
    rng = np.random.default_rng(int(gap * 100) + (7 if kind == "selection" else 0))
    covered = {metric: 0 for metric in CHECKED}
    for _ in range(N_AUDITS):
        cm = _draw(rng, tpr, fpr)
        estimate = fairness_arrays(cm)
        bounds = gap_intervals(cm, confidence=0.95)
        for metric in CHECKED:
            low, high = (float(b) for b in bounds[metric]["summary"])
            value = float(estimate[metric]["summary"]["value"])
            assert low <= value <= high, (metric, low, value, high)  # estimate inside, always
            true = float(truth[metric]["summary"]["value"])
            covered[metric] += low <= true <= high
    coverage = {metric: n / N_AUDITS for metric, n in covered.items()}
    assert all(c >= 0.93 for c in coverage.values()), coverage


def test_a_naive_bootstrap_of_the_gap_would_fail_this_check() -> None:
    """The check can fail: the percentile bootstrap of max - min misses a true gap of 0."""
    from fairaudit.functional._resampling import multinomial_replicates, percentile_interval

    tpr, fpr = _rates(0.0, "accuracy")
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(60):
        cm = _draw(rng, tpr, fpr)
        reps = multinomial_replicates(cm, 200, rng)
        values = fairness_arrays(reps)["accuracy_difference"]["summary"]["value"]
        low, _, _, _ = percentile_interval(values[:, None], 0.025)
        covered += low[0] <= 0.0
    assert covered / 60 < 0.5


def test_per_slice_bootstrap_intervals_cover_at_their_level() -> None:
    """The bootstrap's per-slice accuracy intervals (what reports show per group) cover."""
    tpr, fpr = _rates(0.15, "accuracy")
    true_accuracy = 0.5 * tpr + 0.5 * (1 - fpr)
    vocab = Vocabulary("binary", ("no", "yes"))
    groups = Vocabulary("group", tuple(f"g{i}" for i in range(N_GROUPS)))
    rng = np.random.default_rng(5)
    hits = total = 0
    for _ in range(N_AUDITS):
        cm = _draw(rng, tpr, fpr)
        cells, true, pred = np.nonzero(cm)
        repeat = cm[cells, true, pred]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audit = audit_predictions(
                y_true={"task": np.repeat(true, repeat)},
                y_pred={"task": np.repeat(pred, repeat)},
                sensitive_features={"group": np.repeat(cells, repeat)},
                tasks={"task": vocab},
                attributes={"group": groups},
            )
            boot = audit.bootstrap(n_resamples=300, random_state=rng, by="group", progress=False)
        rows = boot[(boot["metric"] == "accuracy") & (boot["group"] != "all")]
        inside = (rows["lower"].to_numpy() <= true_accuracy) & (
            true_accuracy <= rows["upper"].to_numpy()
        )
        hits += int(inside.sum())
        total += len(rows)
        gaps = boot[boot["metric"] == "accuracy_difference"]
        assert (gaps["lower"] <= gaps["estimate"]).all() and (
            gaps["estimate"] <= gaps["upper"]
        ).all()
    assert total == N_AUDITS * N_GROUPS
    assert hits / total >= 0.93, hits / total
