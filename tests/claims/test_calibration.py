"""Calibration claims against a naive per-bin oracle, and the verdicts they must give."""

from __future__ import annotations

import numpy as np
import pytest

from fairaudit.claims._calibration import CALIBRATION_VERDICTS, calibration_claims
from tests.claims._oracles import naive_calibration


def _random_groups(rng: np.random.Generator, groups: int, n_bins: int) -> np.ndarray:
    """``(groups, n_bins, 3)`` statistics: some bins empty, accuracies off their confidence."""
    n = rng.integers(0, 60, size=(groups, n_bins)) * (rng.random((groups, n_bins)) < 0.7)
    mean = (np.arange(n_bins) + rng.random((groups, n_bins))) / n_bins
    correct = rng.binomial(
        n,
        np.clip(
            mean + rng.normal(0, 0.15, (groups, n_bins)) * (rng.random((groups, 1)) < 0.5), 0, 1
        ),
    )
    return np.stack([n, correct, n * mean], axis=-1).astype(np.float64)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_claims_equal_a_naive_loop_over_the_bins(confidence: float) -> None:
    rng = np.random.default_rng(7)
    stats = _random_groups(rng, 40, 15)
    stats[0] = 0.0  # a group without rows
    out = calibration_claims(stats, min_support=300, confidence=confidence)
    assert np.isnan(out["ece"][0]) and np.isnan(out["ece_lower"][0])
    assert out["verdict"][0] == "too few rows"
    seen = set()
    for g in range(1, len(stats)):
        n, correct, conf = stats[g].T
        ece, lower, upper, verdict = naive_calibration(
            n, correct, conf, confidence=confidence, min_support=300
        )
        assert out["support"][g] == n.sum()
        assert out["ece"][g] == pytest.approx(ece, abs=1e-12)
        assert out["ece_lower"][g] == pytest.approx(lower, abs=1e-9)
        assert out["ece_upper"][g] == pytest.approx(upper, abs=1e-9)
        assert out["verdict"][g] == verdict
        assert lower <= ece <= upper
        seen.add(verdict)
    assert seen == set(CALIBRATION_VERDICTS)


def test_the_verdict_is_the_interval_excluding_zero() -> None:
    stats = _random_groups(np.random.default_rng(3), 200, 10)
    out = calibration_claims(stats, min_support=0)
    judged = out["support"] > 0
    np.testing.assert_array_equal(
        out["verdict"][judged] == "miscalibrated", out["ece_lower"][judged] > 0
    )


def test_perfectly_calibrated_large_bins_show_no_miscalibration() -> None:
    """Ten bins of 1,000 rows, each exactly as accurate as its mean confidence."""
    mean = (np.arange(10) + 0.5) / 10
    stats = np.stack([np.full(10, 1000.0), 1000 * mean, 1000 * mean], axis=-1)
    out = calibration_claims(stats, min_support=30)
    assert out["verdict"] == "no miscalibration shown"
    assert out["ece"] == 0.0 and out["ece_lower"] == 0.0
    assert 0.0 < out["ece_upper"] < 0.06


def test_confidence_090_with_accuracy_050_is_miscalibrated() -> None:
    """200 rows at confidence 0.9 of which 100 are right (plus a calibrated bin)."""
    stats = np.array([[200.0, 100.0, 180.0], [300.0, 210.0, 210.0]])
    out = calibration_claims(stats, min_support=30)
    assert out["verdict"] == "miscalibrated"
    assert out["ece"] == pytest.approx(200 / 500 * 0.4)
    assert 0 < out["ece_lower"] < out["ece"] < out["ece_upper"]
    # one bin alone: under min_support it is not judged, whatever its accuracy
    alone = calibration_claims(stats[:1], min_support=201)
    assert alone["verdict"] == "too few rows" and alone["ece_lower"] > 0.3
