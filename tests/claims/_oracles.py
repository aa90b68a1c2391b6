"""Independent constructions the inference layer is checked against (from statsmodels)."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint


def exact_square_and_add(x1, n1, x2, n2, alpha):
    """MOVER interval of x1/n1 - x2/n2 from statsmodels' Clopper-Pearson limits."""
    l1, u1 = proportion_confint(x1, n1, alpha=alpha, method="beta")
    l2, u2 = proportion_confint(x2, n2, alpha=alpha, method="beta")
    l1, u1, l2, u2 = (
        float(np.nan_to_num(v, nan=d)) for v, d in ((l1, 0), (u1, 1), (l2, 0), (u2, 1))
    )
    p1, p2 = x1 / n1, x2 / n2
    return (
        p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        p1 - p2 + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def naive_calibration(n, correct, confidence_sum, *, confidence, min_support):
    """ECE, its interval and the verdict of one group, bin by bin with statsmodels' exact limits.

    Each non-empty bin's Clopper-Pearson interval at ``1 - (1 - confidence) / B``
    (``B`` non-empty bins); ``near`` is the distance from the bin's mean confidence to
    the interval, ``far`` to its farther end.
    """
    filled = [b for b in range(len(n)) if n[b] > 0]
    total = sum(n[b] for b in filled)
    alpha = (1 - confidence) / len(filled)
    ece = lower = upper = 0.0
    shown = False
    for b in filled:
        low, high = proportion_confint(int(correct[b]), int(n[b]), alpha=alpha, method="beta")
        low = 0.0 if correct[b] == 0 else float(low)
        high = 1.0 if correct[b] == n[b] else float(high)
        mean = confidence_sum[b] / n[b]
        near = max(low - mean, mean - high, 0.0)
        far = max(abs(mean - low), abs(high - mean))
        shown = shown or near > 0
        ece += n[b] / total * abs(correct[b] / n[b] - mean)
        lower += n[b] / total * near
        upper += n[b] / total * far
    if total < min_support:
        verdict = "too few rows"
    else:
        verdict = "miscalibrated" if shown else "no miscalibration shown"
    return ece, lower, upper, verdict
