"""Levels, critical values, p-values by inverting an interval, and FDR selection.

Every procedure of :mod:`fairaudit.claims` is an interval first: a function of a
normal critical value ``z`` that widens as ``z`` grows. Its p-value is the level at
which the interval just stops excluding the null value (the test is the interval's
inversion), so that "the interval excludes the null" and "p <= alpha" can never
disagree. Multiplicity is handled by the level handed to the interval:

- Bonferroni inside a claim (the ``m`` pairs of groups behind a gap, the classes of a
  multiclass task): each part at ``alpha / m``; the claim's p-value is ``m`` times its
  smallest part's.
- Benjamini-Hochberg over a family of claims (ranked findings, worst slices, changes
  between versions): the claims whose q-value is at most ``fdr`` are the discoveries,
  and every claim's interval is given at the false-coverage-statement level ``1 - fdr *
  max(R, 1) / M`` of Benjamini and Yekutieli (2005), with ``R`` discoveries among
  ``M`` claims: a claim is a discovery exactly when that interval excludes the null.
- Bonferroni over the checks of a gate (each check at ``alpha / k``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fairaudit.functional import benjamini_hochberg
from fairaudit.functional._normal import normal_cdf, normal_ppf

__all__ = [
    "MIN_POWER",
    "Z_MAX",
    "critical_z",
    "detectable_difference",
    "fdr_select",
    "inversion_p_value",
    "p_of_z",
    "power_z",
    "rows_to_settle",
]

#: Largest critical value searched when inverting an interval (p about 1e-315).
Z_MAX = 38.0
#: Power at which the smallest detectable effect is stated.
MIN_POWER = 0.8
_GRID = 23
_ROUNDS = 4
#: The search starts below or above this critical value (p about 1e-15).
_Z_SPLIT = 8.0
#: P-values above this are found to a few percent (two rounds), the others to 1e-4.
_PRECISE_BELOW = 0.2


def critical_z(
    alpha: float | np.ndarray, *, m: float | np.ndarray = 1, sides: int = 2
) -> np.ndarray:
    """Normal critical value of ``alpha`` split over ``m`` parts and ``sides`` tails.

    ``-ndtri(alpha / (sides * m))``: the ``z`` whose two-sided (``sides=2``) or
    one-sided tail probability is ``alpha / m``. Computed from the tail for
    accuracy at tiny levels.

    Examples
    --------
    >>> round(float(critical_z(0.05)), 4), round(float(critical_z(0.05, sides=1)), 4)
    (1.96, 1.6449)
    """
    tail = np.asarray(alpha, dtype=np.float64) / (sides * np.maximum(np.asarray(m), 1))
    return -normal_ppf(np.clip(tail, 1e-300, 0.5))


def p_of_z(z: np.ndarray, *, m: float | np.ndarray = 1, sides: int = 2) -> np.ndarray:
    """The level ``alpha`` whose :func:`critical_z` is ``z`` (capped at 1): the inverse."""
    return np.minimum(1.0, sides * np.maximum(np.asarray(m), 1) * normal_cdf(-np.asarray(z)))


def power_z(power: float = MIN_POWER) -> float:
    """``z`` quantile of ``power`` (0.8416 for 80%): the shift a test needs beyond its level."""
    return float(normal_ppf(power))


def inversion_p_value(
    excludes: Callable[[np.ndarray], np.ndarray],
    shape: tuple[int, ...],
    *,
    m: float | np.ndarray = 1,
    sides: int = 2,
    each_alone: bool = False,
) -> np.ndarray:
    """P-values of intervals by inversion: the level at which each just includes its null.

    Parameters
    ----------
    excludes : callable
        ``excludes(z)`` -> boolean array: whether each interval, built with
        critical value ``z``, excludes its null value. ``z`` has shape ``(K,) +
        shape`` (``K`` trial values per claim) or ``shape``, and the result the same
        shape. It must be monotone: true for every ``z`` below some ``z*``, false
        above.
    shape : tuple of int
        Shape of the claims.
    m : float or array-like, default=1
        Bonferroni parts of each claim (see :func:`critical_z`).
    sides : {1, 2}, default=2
        Tails of the interval's level.
    each_alone : bool, default=False
        Stop refining each claim once its own p-value is surely above 0.2, so that
        every p-value is the one its claim inverted alone would get (claims batched
        only to share the calls); default: once every claim's is.

    Returns
    -------
    numpy.ndarray
        ``p_of_z(z*)``: 1 where even the point estimate does not exclude the null
        (``excludes(0)`` false), about ``1e-315`` where ``z* >= Z_MAX``.

    Notes
    -----
    ``z*`` is found by a grid search (``_GRID`` trial values a round, evaluated
    together) in ``[0, 8]`` or ``[8, Z_MAX]``, refined ``_ROUNDS`` times: to about
    ``2e-5`` in ``z`` (a relative error of about ``1e-4`` in p), or, once every
    p-value is surely above 0.2 (never a discovery), after two rounds. A few
    vectorised calls instead of a bisection's many small ones.
    """
    at_zero = np.asarray(excludes(np.zeros(shape)), dtype=bool)
    far = np.asarray(excludes(np.full(shape, _Z_SPLIT)), dtype=bool)
    low = np.where(far, _Z_SPLIT, 0.0)
    high = np.where(far, Z_MAX, _Z_SPLIT)
    steps = np.linspace(0.0, 1.0, _GRID + 2)[1:-1].reshape((_GRID,) + (1,) * len(shape))
    active = np.ones(shape, dtype=bool)  # claims still refined
    for round_ in range(_ROUNDS):
        trial = low + (high - low) * steps  # (GRID,) + shape
        ok = np.asarray(excludes(trial), dtype=bool).reshape(trial.shape)
        count = ok.sum(axis=0)  # trial values below z* (monotone)
        below = np.take_along_axis(trial, np.maximum(count - 1, 0)[None], axis=0)[0]
        above = np.take_along_axis(trial, np.minimum(count, _GRID - 1)[None], axis=0)[0]
        low = np.where(active & (count > 0), below, low)
        high = np.where(active & (count < _GRID), above, high)
        if round_ >= 1:
            # a large p-value needs two digits only: it can never be a discovery
            settled = p_of_z(high, m=m, sides=sides) > _PRECISE_BELOW
            active = active & ~settled if each_alone else active & ~settled.all()
            if not active.any():
                break
    return np.where(at_zero, p_of_z(low, m=m, sides=sides), 1.0)


def fdr_select(p_values: np.ndarray, fdr: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Benjamini-Hochberg discoveries and the level of every claim's interval.

    Parameters
    ----------
    p_values : numpy.ndarray
        P-values of the family; NaN ones (claims that cannot be tested) take no part.
    fdr : float
        False discovery rate.

    Returns
    -------
    (q_values, discovered, alpha)
        BH-adjusted p-values (NaN where the p-value is), the discoveries
        (``q <= fdr``) and ``alpha = fdr * max(R, 1) / M``: each claim's interval at
        level ``1 - alpha`` excludes its null exactly when it is a discovery.

    Examples
    --------
    >>> q, found, alpha = fdr_select(np.array([0.001, 0.02, 0.5]), 0.05)
    >>> found.tolist(), round(alpha, 4)
    ([True, True, False], 0.0333)
    """
    p = np.asarray(p_values, dtype=np.float64)
    tested = ~np.isnan(p)
    m = int(tested.sum())
    q = np.full(p.shape, np.nan)
    if m == 0:
        return q, np.zeros(p.shape, dtype=bool), float(fdr)
    q_tested = benjamini_hochberg(p[tested])
    q[tested] = q_tested
    discovered = np.where(tested, np.nan_to_num(q, nan=np.inf) <= fdr, False)
    return q, discovered, float(fdr) * max(int(discovered.sum()), 1) / m


def detectable_difference(
    hits: np.ndarray | float,
    total: np.ndarray | float,
    n_first: np.ndarray | float,
    n_second: np.ndarray | float,
    z: np.ndarray | float,
) -> np.ndarray:
    """Smallest difference of two rates a test at critical value ``z`` detects, 80% power.

    ``(z + z_0.8) * sqrt(p (1 - p) (1/n_1 + 1/n_2))``: the difference at which an
    interval built with ``z`` around groups of ``n_1`` and ``n_2`` rows excludes no
    difference four times in five. ``p = hits / total`` is the pooled rate of the
    groups judged together, kept half a row from 0 and 1 so that a rate of 0 or 1
    still states a size. :func:`rows_to_settle` is its inverse in the rows.

    Examples
    --------
    >>> round(float(detectable_difference(90, 200, 100, 100, 1.96)), 4)
    0.1971
    """
    hits, total = np.asarray(hits, dtype=np.float64), np.asarray(total, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.clip(hits / total, 0.5 / total, 1 - 0.5 / total)
        spread = pooled * (1 - pooled) * (1 / np.asarray(n_first) + 1 / np.asarray(n_second))
        return (np.asarray(z) + power_z()) * np.sqrt(spread)


def rows_to_settle(variance: float, distance: float, alpha: float, *, m: int = 1) -> float:
    """Rows at which an interval would clear a bound ``distance`` away, with 80% power.

    ``(z + z_0.8)^2 variance / distance^2`` with ``z`` the critical value of ``alpha``
    over ``m`` parts: the rows per group (``variance`` the sum of the two compared
    groups' ``r (1 - r)``, or one rate's) at which an estimate that stays where it is
    would be judged on the right side of the bound four times in five. NaN when the
    estimate sits on the bound or is undefined.
    """
    if not np.isfinite(variance) or not np.isfinite(distance) or distance == 0:
        return float("nan")
    z = float(critical_z(alpha, m=m)) + power_z()
    return float(np.ceil(z**2 * max(variance, 1e-4) / distance**2))
