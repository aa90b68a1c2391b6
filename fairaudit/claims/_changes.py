"""A change between two versions of a model audited on the same rows.

- **A rate** (accuracy, error rate, a class's recall, precision, selection rate or
  false positive rate, in one slice): the square-and-add interval of the difference
  of two independent proportions from their exact limits, or, when the rows are paired (the two
  versions' predictions on the same rows, :class:`~fairaudit.model_audit.PairedCounts`),
  Newcombe's paired square-and-add interval, which uses the correlation of the two
  versions' correctness and is much narrower when they mostly agree.
- **Another metric** (balanced accuracy, F1, macro averages: not proportions): the
  percentile interval of the difference of the two versions' bootstrap replicates,
  widened to hold the estimate; its p-value is that interval's inversion too.
- **A gap** (a fairness metric's change): each version's simultaneous gap interval
  (:class:`~fairaudit.claims.GapInference`) at ``alpha / 2``, the change bounded by
  ``[L_b - U_a, U_b - L_a]``. Bonferroni over the two versions needs no assumption on
  how they depend on each other, so it holds for paired rows too, and it covers
  when a gap leaves a tie (``0 -> 0.15``), where the bootstrap of a difference of
  maxima does not.

As everywhere in :mod:`fairaudit.claims`, the p-value is the inversion of the interval.
Where no change is supported, :func:`detectable_change` gives the smallest change an
interval of that width would have shown with 80% power.
"""

from __future__ import annotations

import numpy as np

from fairaudit.claims._gaps import LIMITS, TAIL_LIMITS, GapInference
from fairaudit.claims._levels import MIN_POWER, critical_z, inversion_p_value, p_of_z, power_z
from fairaudit.functional._intervals import exact_difference_excludes, paired_newcombe_bounds

__all__ = [
    "CHANGE_METHODS",
    "bootstrap_change",
    "detectable_change",
    "gap_change_interval",
    "gap_change_p_value",
    "paired_rate_change",
    "rate_change",
]

#: Whether a change's interval excludes 0, from the one bound that can, by limits.
_EXCLUDES = {"exact": exact_difference_excludes}

#: The ``method`` of each kind of change claim.
CHANGE_METHODS: dict[str, str] = {
    "rate": "exact square-and-add (independent)",
    "paired": "Newcombe paired",
    "gap": "both gap intervals at alpha/2 (projection)",
    "bootstrap": "percentile bootstrap (independent resamples)",
}


def rate_change(
    x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray
) -> tuple[np.ndarray, callable]:
    """P-values of ``x_b / n_b - x_a / n_a`` and the function giving its bounds at a level.

    Returns
    -------
    (p_value, bounds)
        Two-sided p-values (NaN where a rate is undefined) and ``bounds(alpha)`` ->
        ``(lower, upper)`` at level ``1 - alpha``.
    """
    args = [np.asarray(v, dtype=np.float64) for v in (x_b, n_b, x_a, n_a)]
    difference = LIMITS[TAIL_LIMITS][1]
    one_side = _EXCLUDES.get(TAIL_LIMITS)
    return _by_inversion(
        lambda z: difference(*args, z),
        args[1] * args[3] > 0,
        None if one_side is None else lambda z: one_side(*args, z),
    )


def paired_rate_change(
    both: np.ndarray, a_only: np.ndarray, b_only: np.ndarray, neither: np.ndarray
) -> tuple[np.ndarray, callable]:
    """:func:`rate_change` for paired rows: Newcombe's paired interval of ``acc_b - acc_a``."""
    args = [np.asarray(v, dtype=np.float64) for v in (both, a_only, b_only, neither)]
    n = args[0] + args[1] + args[2] + args[3]
    return _by_inversion(lambda z: paired_newcombe_bounds(*args, z), n > 0)


def _by_inversion(bounds_z, defined: np.ndarray, excludes=None):
    """P-values and ``bounds(alpha)`` of intervals ``bounds_z(z)``; ``excludes(z)``: whether
    each excludes 0, when cheaper than both bounds."""
    shape = np.shape(defined)

    def both_bounds_exclude(z: np.ndarray) -> np.ndarray:
        low, high = bounds_z(z)
        return (np.nan_to_num(low) > 0) | (np.nan_to_num(high) < 0)

    excludes = both_bounds_exclude if excludes is None else excludes

    p = np.where(defined, inversion_p_value(excludes, shape), np.nan)

    def bounds(alpha: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return bounds_z(np.broadcast_to(critical_z(alpha), shape))

    return p, bounds


def detectable_change(
    ci_low: float, ci_high: float, level: float, *, power: float = MIN_POWER
) -> float:
    """Smallest change an interval this wide shows with ``power`` at its level.

    The interval ``[ci_low, ci_high]`` at ``level`` is read as a normal one: its
    standard error is ``(ci_high - ci_low) / (2 z)`` with ``z`` the critical value
    of ``level``, and a true change of ``(z + z_power)`` standard errors gives an
    interval that excludes 0 with probability ``power``. An approximation (the
    square-and-add and paired intervals are not symmetric), stated so that "no
    supported change" is never read as "no change".

    Returns
    -------
    float
        NaN when a bound is not finite.

    Examples
    --------
    >>> round(detectable_change(-0.0196, 0.0196, 0.95), 4)  # a standard error of 0.01
    0.028
    """
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return float("nan")
    z = float(critical_z(1 - level))
    return (ci_high - ci_low) / (2 * z) * (z + power_z(power))


def gap_change_interval(a: GapInference, b: GapInference, alpha: float) -> tuple[float, float]:
    """Interval of ``gap_b - gap_a`` at level ``1 - alpha`` (NaN when a gap is undefined).

    Its p-value is :func:`gap_change_p_value`.
    """
    low, high = _gap_change_bounds(a, b, np.asarray(critical_z(alpha)))
    return float(low), float(high)


def gap_change_p_value(a: GapInference, b: GapInference) -> float:
    """Two-sided p-value of "the gap did not change", by inversion of the projection."""
    if not (a.defined and b.defined):
        return float("nan")

    def excludes(z: np.ndarray) -> np.ndarray:
        low, high = _gap_change_bounds(a, b, z)
        return (low > 0) | (high < 0)

    return float(inversion_p_value(excludes, ()))


def _gap_change_bounds(a: GapInference, b: GapInference, z: np.ndarray):
    """Bounds of the change when the claim's own level is that of critical value ``z``."""
    alpha = p_of_z(z)  # the claim's level; each version gets half of it
    la, ua = a.bounds_at_z(critical_z(alpha / 2, m=a.m))
    lb, ub = b.bounds_at_z(critical_z(alpha / 2, m=b.m))
    return lb - ua, ub - la


def bootstrap_change(differences: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, callable]:
    """P-values and bounds of changes from bootstrap replicates of their difference.

    Parameters
    ----------
    differences : numpy.ndarray, shape (R, S)
        Replicates of ``value_b - value_a`` (NaN where undefined).
    estimate : numpy.ndarray, shape (S,)
        The changes' point estimates.

    Returns
    -------
    (p_value, bounds)
        ``bounds(alpha)`` is the percentile interval at level ``1 - alpha`` widened
        to hold the estimate (a percentile interval of a biased statistic can miss
        it); the p-value is the level at which that interval just includes 0, so
        a change whose replicates sit on the other side of 0 from its estimate is
        never significant.
    """
    differences = np.asarray(differences, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    shape = estimate.shape

    ordered = np.sort(differences, axis=0)  # NaN last, sorted once for every level
    n_valid = (~np.isnan(differences)).sum(axis=0)
    columns = np.arange(ordered.shape[1])

    def quantile(q: np.ndarray) -> np.ndarray:
        """numpy's "linear" quantile of each column's defined replicates (as
        :func:`fairaudit.functional.percentile_interval`)."""
        position = q * np.maximum(n_valid - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(n_valid - 1, 0))
        low, high = ordered[below, columns], ordered[above, columns]
        return np.where(n_valid > 0, low + (high - low) * (position - below), np.nan)

    def bounds_z(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.asarray(z, dtype=np.float64)
        if z.ndim > len(shape):  # several trial levels per change: one at a time
            parts = [bounds_z(row) for row in z]
            return np.stack([a for a, _ in parts]), np.stack([b for _, b in parts])
        alpha = np.broadcast_to(p_of_z(z), shape)
        low, high = quantile(alpha / 2), quantile(1 - alpha / 2)
        return np.fmin(low, estimate), np.fmax(high, estimate)

    def excludes(z: np.ndarray) -> np.ndarray:
        low, high = bounds_z(z)
        return (np.nan_to_num(low) > 0) | (np.nan_to_num(high) < 0)

    defined = ~np.isnan(estimate) & (~np.isnan(differences)).any(axis=0)
    p = np.where(defined, inversion_p_value(excludes, shape), np.nan)

    def bounds(alpha: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return bounds_z(np.broadcast_to(critical_z(alpha), shape))

    return p, bounds
