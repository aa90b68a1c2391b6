"""Quantiles of the beta distribution from either tail, for the exact (Clopper-Pearson) bounds.

``beta_quantile(a, b, p)`` is ``scipy.special.betaincinv(a, b, p)`` and
``beta_quantile(a, b, q, upper=True)`` is ``scipy.special.betainccinv(a, b, q)``: the
``x`` at which the regularized incomplete beta function ``I_x(a, b)`` (or its complement)
equals the given tail probability. Small arrays, such as the slices of a gate's check,
are solved in pure Python (the continued fraction of ``I_x`` and a safeguarded Newton
search on the log of the tail), so that judging a saved audit need not import SciPy;
larger ones, such as the grids of a report's p-value inversions, go to SciPy's
compiled routines (imported then), and so does every array once SciPy is loaded (a
report loads it first: nothing is left to save, and one routine gives every bound of
the page). Both agree to within a relative 1e-12
(``tests/functional/test_distributions.py``).
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["PURE_PYTHON_UP_TO", "beta_cdf", "beta_quantile"]

#: Arrays with at most this many elements are solved in pure Python, larger ones by SciPy.
PURE_PYTHON_UP_TO = 256
_EPS = 1e-16
_TINY = 1e-300
_MAX_TERMS = 100_000
_MAX_STEPS = 200
#: Relative Newton step (or bracket) at which the search stops.
_STEP = 4e-15
#: Relative error of the tail below which a Newton step that fails ends the search.
_NOISE = 1e-10


def _stirling_correction(x: float) -> float:
    """``lgamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2)`` for ``x >= 10`` (to about 1e-16)."""
    inv = 1.0 / x
    inv2 = inv * inv
    series = 1 / 1188 - inv2 * 691 / 360360
    for coefficient in (1 / 1680, 1 / 1260, 1 / 360):
        series = coefficient - inv2 * series
    return inv * (1 / 12 - inv2 * series)


def _log_beta(a: float, b: float) -> float:
    """``log B(a, b)``, without the cancellation of large ``lgamma`` values."""
    a, b = min(a, b), max(a, b)
    if b < 10.0:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    s = a + b
    tail = _stirling_correction(b) - _stirling_correction(s)
    if a < 10.0:  # lgamma(b) - lgamma(s) from Stirling's series: no large terms left
        return math.lgamma(a) - a * math.log(s) - (b - 0.5) * math.log1p(a / b) + a + tail
    return (
        0.5 * math.log(2 * math.pi / a * s / b)
        - a * math.log1p(b / a)
        - b * math.log1p(a / b)
        + _stirling_correction(a)
        + tail
    )


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of ``I_x(a, b)`` (modified Lentz), for ``x < (a+1)/(a+b+2)``."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def _log_tails(a: float, b: float, x: float, log_beta: float) -> tuple[float, float, float]:
    """``log I_x(a, b)``, ``log(1 - I_x(a, b))`` and the log density at ``x``, in (0, 1).

    The tail on the side of ``x`` comes from the continued fraction, in logs (no
    underflow however far out), the other as its complement.
    """
    log_front = a * math.log(x) + b * math.log1p(-x) - log_beta
    log_density = log_front - math.log(x) - math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        log_lower = log_front + math.log(_continued_fraction(a, b, x) / a)
        return log_lower, math.log1p(-math.exp(log_lower)), log_density
    log_upper = log_front + math.log(_continued_fraction(b, a, 1.0 - x) / b)
    return math.log1p(-math.exp(log_upper)), log_upper, log_density


def _solve(a: float, b: float, tail: float, upper: bool) -> float:
    """The ``x`` whose lower (``upper``: upper) tail under Beta(a, b) is ``tail``.

    Newton's method on the log of the tail, which is concave in ``x``: from one side
    of the root it converges monotonically, from the other it overshoots once. The
    root stays bracketed; a step leaving the bracket restarts from the bracket's end
    it passed, or bisects (geometrically across orders of magnitude).
    """
    a, b, tail = float(a), float(b), float(tail)
    if math.isnan(a) or math.isnan(b) or math.isnan(tail) or a <= 0 or b <= 0:
        return math.nan
    if not 0.0 <= tail <= 1.0:
        return math.nan
    if tail > 0.5:  # solve on the smaller tail, which carries the precision (1 - tail is exact)
        tail, upper = 1.0 - tail, not upper
    if tail == 0.0:
        return 1.0 if upper else 0.0
    log_beta = _log_beta(a, b)
    log_tail = math.log(tail)
    # a start: the normal approximation, or the power law of the tail near 0 (near 1)
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    z = math.sqrt(-2.0 * log_tail)  # a rough normal quantile of the tail, from above
    x = mean + sd * z if upper else mean - sd * z
    if not 0.0 < x < 1.0:
        if upper:
            x = -math.expm1((log_tail + math.log(b) + log_beta) / b)
        else:
            x = math.exp((log_tail + math.log(a) + log_beta) / a)
        x = min(max(x, _TINY), 1.0 - _EPS)
    low, high = 0.0, 1.0
    best_x, best_gap, newton = x, math.inf, False
    for _ in range(_MAX_STEPS):
        log_lower, log_upper, log_density = _log_tails(a, b, x, log_beta)
        log_value = log_upper if upper else log_lower
        gap = log_value - log_tail
        if abs(gap) < abs(best_gap):
            best_x, best_gap = x, gap
        elif newton and abs(best_gap) < _NOISE:
            return best_x  # Newton stopped improving: the rounding of the tail is reached
        if gap == 0.0:
            return x
        # the tail grows towards 1 (lower) or 0 (upper): keep the root bracketed
        if (gap > 0) != upper:
            high = x
        else:
            low = x
        # Newton on the log of the tail: d log F / dx = +-density / F
        new = math.nan
        if log_value - log_density < 700.0:
            step = gap * math.exp(log_value - log_density)
            new = x + step if upper else x - step
            if abs(new - x) <= _STEP * x:
                return new  # a step this small leaves an error of its square: below rounding
        newton = low < new < high
        if not newton and abs(best_gap) < _NOISE:
            return best_x  # so close, Newton leaves the bracket only by rounding
        if not newton:
            end = high if not new < high else low
            if 0.0 < end < 1.0 and end != x:
                new = end
            elif low > 0.0 and high > 4.0 * low:
                new = math.sqrt(low * high)
            else:
                new = 0.5 * (low + high)
        if high - low <= _STEP * high:
            return new
        x = new
    return best_x


def _cdf(a: float, b: float, x: float) -> float:
    a, b, x = float(a), float(b), float(x)
    if math.isnan(a) or math.isnan(b) or math.isnan(x) or a <= 0 or b <= 0:
        return math.nan
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    return math.exp(_log_tails(a, b, x, _log_beta(a, b))[0])


_cdf_ufunc = np.frompyfunc(_cdf, 3, 1)


def beta_cdf(a: np.ndarray | float, b: np.ndarray | float, x: np.ndarray | float) -> np.ndarray:
    """``I_x(a, b)``, the regularized incomplete beta function, element-wise.

    ``scipy.special.betainc(a, b, x)`` (to within a relative 5e-12) in pure Python:
    the continued fraction of the quantiles above. NaN where ``a`` or ``b`` is not
    positive.

    Examples
    --------
    >>> round(float(beta_cdf(2, 3, 0.5)), 6)  # 11/16
    0.6875
    """
    a, b, x = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x)))
    return np.asarray(_cdf_ufunc(a, b, x), dtype=np.float64)[()]


_solve_lower = np.frompyfunc(lambda a, b, p: _solve(a, b, p, False), 3, 1)
_solve_upper = np.frompyfunc(lambda a, b, q: _solve(a, b, q, True), 3, 1)


def beta_quantile(
    a: np.ndarray | float, b: np.ndarray | float, tail: np.ndarray | float, *, upper: bool = False
) -> np.ndarray:
    """The ``x`` at which Beta(a, b) has ``tail`` below it (``upper``: above it), element-wise.

    Parameters
    ----------
    a, b : array-like of float
        Positive shape parameters (NaN otherwise).
    tail : array-like of float
        Probability in [0, 1] (NaN outside).
    upper : bool, default=False
        ``False``: ``scipy.special.betaincinv(a, b, tail)``; ``True``:
        ``scipy.special.betainccinv(a, b, tail)``.

    Returns
    -------
    numpy.ndarray of float64
        The broadcast shape of the inputs.

    Examples
    --------
    >>> low = beta_quantile(8, 3, 0.025)  # the exact bounds of 8 successes in 10
    >>> high = beta_quantile(9, 2, 0.025, upper=True)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4439, 0.9748)
    """
    a, b, tail = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, tail)))
    if a.size > PURE_PYTHON_UP_TO or "scipy.special" in sys.modules:
        from scipy import special  # lazily: compiled, for the large grids

        return (special.betainccinv if upper else special.betaincinv)(a, b, tail)
    solve = _solve_upper if upper else _solve_lower
    return np.asarray(solve(a, b, tail), dtype=np.float64)[()]
