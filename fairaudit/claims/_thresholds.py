"""A threshold verdict: does the data show a value above (or below) a bound, or within it?

A gate's check bounds a quantity (a gap, the worst slice's rate, a change from a
baseline) by a threshold. Judged on the point estimate, noise alone fails fair
models and passes unfair ones; judged on the quantity's interval (every check of a
gate at level ``1 - alpha / k``, Bonferroni over its ``k`` checks), the verdict is

- ``"fail"``: the data show a violation (the whole interval lies beyond the bound);
- ``"pass"``: the data show compliance (the whole interval lies within it);
- ``"inconclusive"``: the interval straddles the bound; more rows would settle it.

The worst slice of a rate (accuracy, error rate) over the ``S`` judged slices lies in
``[min L, min U]`` (or ``[max L, max U]`` for the highest) when every slice's exact
interval at ``alpha / S`` holds, which it does with probability ``1 - alpha``.
"""

from __future__ import annotations

import numpy as np

from fairaudit.claims._gaps import LIMITS, TAIL_LIMITS
from fairaudit.claims._levels import critical_z

__all__ = [
    "THRESHOLD_VERDICTS",
    "threshold_verdict",
    "worst_rate_interval",
]

#: Verdicts of a threshold check decided on an interval.
THRESHOLD_VERDICTS = ("pass", "fail", "inconclusive")


def threshold_verdict(lower: float, upper: float, threshold: float, *, bound: str) -> str:
    """``"fail"``, ``"pass"`` or ``"inconclusive"`` for an interval against a bound.

    Parameters
    ----------
    lower, upper : float
        The quantity's interval (equal to each other to decide on a point estimate).
    threshold : float
    bound : {"max", "min"}
        ``"max"``: the quantity must not exceed the threshold; ``"min"``: it must
        not fall below it.

    Examples
    --------
    >>> threshold_verdict(0.02, 0.08, 0.10, bound="max")
    'pass'
    >>> threshold_verdict(0.12, 0.30, 0.10, bound="max")
    'fail'
    >>> threshold_verdict(0.05, 0.15, 0.10, bound="max")
    'inconclusive'
    """
    if bound == "max":
        if lower > threshold:
            return "fail"
        return "pass" if upper <= threshold else "inconclusive"
    if bound == "min":
        if upper < threshold:
            return "fail"
        return "pass" if lower >= threshold else "inconclusive"
    raise ValueError(f"bound must be 'max' or 'min', got {bound!r}")


def worst_rate_interval(
    hits: np.ndarray,
    n: np.ndarray,
    alpha: float,
    *,
    highest: bool,
    limits: str = TAIL_LIMITS,
) -> tuple[float, float]:
    """Simultaneous interval of the lowest (or highest) rate over slices.

    Parameters
    ----------
    hits, n : numpy.ndarray of int, shape (S,)
        Successes and rows of each judged slice.
    alpha : float
        Error level of the whole interval (each slice at ``alpha / S``).
    highest : bool
        The highest rate (a bound on an error rate) instead of the lowest.
    limits : {"exact", "wilson"}, default="exact"

    Returns
    -------
    (float, float)
        NaN when no slice is given.
    """
    hits, n = np.asarray(hits), np.asarray(n)
    if not n.size:
        return float("nan"), float("nan")
    low, high = LIMITS[limits][0](hits, n, critical_z(alpha, m=n.size))
    pick = np.max if highest else np.min
    return float(pick(low)), float(pick(high))
