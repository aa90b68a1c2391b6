"""A group's calibration: does the data show accuracy differing from confidence?

The audit keeps, per group and confidence bin ``b``, the rows ``n_b``, the correct
predictions ``correct_b`` and the sum of confidences ``confidence_sum_b``
(:mod:`fairaudit.functional._calibration`). The expected calibration error
``ECE = sum_b n_b / N * |accuracy_b - c_b|`` (``c_b = confidence_sum_b / n_b``, the
bin's mean confidence) is never 0 on finite data, so its size alone says nothing.
The claim is built from the bins' accuracies:

- each non-empty bin's accuracy ``correct_b / n_b`` gets its exact (Clopper-Pearson)
  interval ``[L_b, U_b]`` at level ``1 - alpha / B``, Bonferroni over the group's
  ``B`` non-empty bins, so that all of them hold together with probability at least
  ``1 - alpha``;
- the ECE interval is ``[sum_b n_b / N * d_b, sum_b n_b / N * D_b]`` with ``d_b`` the
  distance from ``c_b`` to ``[L_b, U_b]`` (0 when the interval holds it) and ``D_b =
  max(|c_b - L_b|, |U_b - c_b|)``: when every bin's interval holds its true accuracy,
  the true ECE of these bins lies inside, and the estimate always does;
- the verdict is ``"miscalibrated"`` when some bin's interval excludes its mean
  confidence (equivalently, the ECE interval excludes 0), ``"no miscalibration
  shown"`` otherwise, and ``"too few rows"`` for a group under ``min_support`` rows
  (shown, never judged).

A calibrated model (each row correct with probability its confidence) is called
miscalibrated with probability at most ``alpha``: a bin's correct count is then a sum
of independent Bernoulli trials with mean ``confidence_sum_b``, less spread than the
binomial the exact interval assumes (Hoeffding, 1956), so each bin's test keeps its
level.
"""

from __future__ import annotations

import numpy as np

from fairaudit.claims._levels import critical_z
from fairaudit.functional._intervals import exact_bounds

__all__ = [
    "CALIBRATION_METHOD",
    "CALIBRATION_VERDICTS",
    "calibration_claims",
]

#: The ``method`` of calibration claims.
CALIBRATION_METHOD = "exact (Clopper-Pearson) per confidence bin, Bonferroni over the bins"

#: Verdicts of a calibration claim: miscalibration shown, not shown, not judged.
CALIBRATION_VERDICTS = ("miscalibrated", "no miscalibration shown", "too few rows")


def calibration_claims(
    stats: np.ndarray, *, min_support: int, confidence: float = 0.95
) -> dict[str, np.ndarray]:
    """ECE with its interval and the calibration verdict of each group.

    Parameters
    ----------
    stats : numpy.ndarray, shape (..., n_bins, 3)
        Per group and confidence bin: ``[n, correct, confidence_sum]`` (as
        :func:`fairaudit.functional._calibration.calibration_counts`).
    min_support : int
        Groups with fewer rows are not judged (``"too few rows"``).
    confidence : float, default=0.95
        Level of each group's ECE interval (and ``1 -`` the error level of its verdict).

    Returns
    -------
    dict of str to numpy.ndarray
        ``support``, ``ece``, ``ece_lower``, ``ece_upper`` (NaN for groups without
        rows) and ``verdict`` (one of :data:`CALIBRATION_VERDICTS`), each of shape
        ``stats.shape[:-2]``.

    Examples
    --------
    One bin of 200 rows at confidence 0.9 with 100 right:

    >>> out = calibration_claims(np.array([[200.0, 100.0, 180.0]]), min_support=30)
    >>> str(out["verdict"]), round(float(out["ece"]), 2)
    ('miscalibrated', 0.4)
    >>> round(float(out["ece_lower"]), 3), round(float(out["ece_upper"]), 3)
    (0.329, 0.471)
    """
    stats = np.asarray(stats, dtype=np.float64)
    n, correct, confidence_sum = stats[..., 0], stats[..., 1], stats[..., 2]
    filled = n > 0
    bins = filled.sum(axis=-1, keepdims=True)
    z = critical_z(1.0 - confidence, m=bins)
    low, high = exact_bounds(correct, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = confidence_sum / n
    near = np.maximum.reduce([low - mean_confidence, mean_confidence - high, np.zeros_like(n)])
    far = np.maximum(np.abs(mean_confidence - low), np.abs(high - mean_confidence))
    support = n.sum(axis=-1)
    has_rows = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(filled, n, 0.0) / support[..., None]
        ece = np.abs(correct - confidence_sum).sum(axis=-1) / support
    lower = np.where(filled, weight * near, 0.0).sum(axis=-1)
    upper = np.where(filled, weight * far, 0.0).sum(axis=-1)
    shown = (np.where(filled, near, 0.0) > 0).any(axis=-1)
    verdict = np.where(
        support < min_support,
        CALIBRATION_VERDICTS[2],
        np.where(shown, CALIBRATION_VERDICTS[0], CALIBRATION_VERDICTS[1]),
    )
    return {
        "support": support,
        "ece": np.where(has_rows, ece, np.nan),
        "ece_lower": np.where(has_rows, lower, np.nan),
        "ece_upper": np.where(has_rows, upper, np.nan),
        "verdict": verdict,
    }
