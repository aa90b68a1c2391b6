"""Calibration counts and calibration metrics (ECE, reliability curves).

Calibration needs per-row probabilities, so the audit keeps additive
*calibration counts* instead of rows: for each task, cell and confidence bin, the
number of rows ``n``, the number of correct predictions ``correct`` and the sum of
confidences ``confidence_sum``. They add up across batches and shards like the
confusion counts.

The confidence of a row is the predicted probability of its predicted class
(the top-label confidence when the prediction is the argmax). Bins are ``B``
equal-width intervals of [0, 1]: bin ``b`` holds confidences in ``[b/B, (b+1)/B)``,
the last bin also holds 1.0. The expected calibration error of a group is

    ECE = sum_b (n_b / N) * |accuracy_b - mean_confidence_b|
        = sum_b |correct_b - confidence_sum_b| / N

and the maximum calibration error (MCE) is the largest ``|accuracy_b - mean_confidence_b|``
over non-empty bins.
"""

from __future__ import annotations

import numpy as np

from fairaudit.functional._arrays import safe_divide as _divide

__all__ = ["calibration_counts", "calibration_error", "confidence_bins"]


def confidence_bins(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin index of each confidence (equal-width bins, last bin closed)."""
    return np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)


def calibration_counts(
    cell: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray,
    *,
    n_cells: int,
    n_bins: int,
) -> np.ndarray:
    """Per cell and bin: ``[n, correct, confidence_sum]`` as float64 ``(n_cells, n_bins, 3)``.

    ``n`` and ``correct`` are integral (kept in float64 so the three statistics
    travel in one array; exact below 2**53 rows).
    """
    confidence = np.take_along_axis(proba, y_pred.astype(np.int64)[:, None], axis=1)[:, 0]
    index = cell * n_bins + confidence_bins(confidence, n_bins)
    size = n_cells * n_bins
    out = np.empty((size, 3), dtype=np.float64)
    out[:, 0] = np.bincount(index, minlength=size)
    out[:, 1] = np.bincount(index, weights=(y_true == y_pred).astype(np.float64), minlength=size)
    out[:, 2] = np.bincount(index, weights=confidence.astype(np.float64), minlength=size)
    return out.reshape(n_cells, n_bins, 3)


def calibration_error(stats: np.ndarray) -> dict[str, np.ndarray]:
    """ECE, MCE, mean confidence and accuracy from ``(..., n_bins, 3)`` statistics.

    Groups without rows get NaN (flagged by their zero support).
    """
    n = stats[..., 0]
    correct = stats[..., 1]
    conf = stats[..., 2]
    total = n.sum(axis=-1)
    gap = np.abs(_divide(correct, n, np.nan) - _divide(conf, n, np.nan))
    mce = np.where(n.sum(axis=-1) > 0, np.nanmax(np.where(n > 0, gap, -np.inf), axis=-1), np.nan)
    return {
        "support": total,
        "ece": _divide(np.abs(correct - conf).sum(axis=-1), total, np.nan),
        "mce": mce,
        "mean_confidence": _divide(conf.sum(axis=-1), total, np.nan),
        "accuracy": _divide(correct.sum(axis=-1), total, np.nan),
    }
