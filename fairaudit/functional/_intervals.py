"""Intervals and exact tests of proportions: Wilson, McNemar exact, Newcombe paired.

:func:`wilson_interval` is the score interval of one proportion (every per-slice rate,
detection rates). The rest concern two classifiers on the same rows:

For one slice, the rows both versions predicted form a 2x2 table: ``both`` (A and B
right), ``a_only`` (A right, B wrong), ``b_only`` (B right, A wrong), ``neither``.
The accuracies are ``acc_a = (both + a_only) / n`` and ``acc_b = (both + b_only) / n``,
and their difference ``acc_b - acc_a = (b_only - a_only) / n`` depends only on the
discordant pairs.

- :func:`mcnemar_exact`: McNemar's exact test, i.e. the two-sided binomial test of
  ``a_only`` successes in ``a_only + b_only`` trials with probability 1/2
  (``scipy.stats.binomtest(a_only, a_only + b_only, 0.5).pvalue``), vectorised.
- :func:`paired_difference_interval`: Newcombe's square-and-add interval for the
  difference of paired proportions (Newcombe 1998, *Statistics in Medicine* 17:2635,
  method 10): Wilson score intervals of the two accuracies combined with the
  estimated correlation of the pairs. It stays inside [-1, 1], is defined for
  every non-empty slice, and holds its coverage far better than the Wald interval
  on small or extreme slices.
"""

from __future__ import annotations

import numpy as np

from fairaudit.exceptions import DataValidationError
from fairaudit.functional._beta import beta_cdf, beta_quantile
from fairaudit.functional._normal import normal_cdf, normal_ppf

__all__ = [
    "difference_interval",
    "exact_bounds",
    "exact_difference_bounds",
    "exact_difference_excludes",
    "exact_difference_lower",
    "exact_interval",
    "exact_lower",
    "exact_upper",
    "mcnemar_exact",
    "newcombe_bounds",
    "newcombe_lower",
    "paired_difference_interval",
    "paired_newcombe_bounds",
    "wilson_bounds",
    "wilson_interval",
]


def _z_of(confidence: float | np.ndarray) -> np.ndarray:
    """The two-sided normal critical value of a coverage, checked to lie in (0, 1)."""
    level = np.asarray(confidence, dtype=np.float64)
    if isinstance(confidence, bool) or not ((level > 0) & (level < 1)).all():
        raise DataValidationError(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}"
        )
    return normal_ppf(0.5 + level / 2)


def mcnemar_exact(a_only: np.ndarray, b_only: np.ndarray) -> np.ndarray:
    """Exact (conditional) McNemar p-values, two-sided.

    Parameters
    ----------
    a_only, b_only : array-like of int
        Discordant pairs: rows only A got right, rows only B got right.

    Returns
    -------
    numpy.ndarray of float
        ``min(1, 2 * P(X <= min(a_only, b_only)))`` with ``X ~ Binomial(a_only +
        b_only, 1/2)``, which is ``scipy.stats.binomtest(a_only, a_only + b_only,
        0.5).pvalue`` (the binomial is symmetric); 1 when there is no discordant
        pair.

    Examples
    --------
    >>> float(mcnemar_exact(6, 16).round(4))
    0.0525
    """
    a = np.asarray(a_only, dtype=np.int64)
    b = np.asarray(b_only, dtype=np.int64)
    discordant = a + b
    p = 2.0 * np.asarray(_half_binomial_cdf(np.minimum(a, b), discordant), dtype=np.float64)
    return np.where(discordant > 0, np.minimum(p, 1.0), 1.0)


#: Trials up to which :func:`_half_binomial_cdf` sums the binomial coefficients exactly.
_EXACT_TRIALS = 5000


def _half_cdf(k: int, n: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, 1/2)``, without SciPy (a second to import).

    Up to :data:`_EXACT_TRIALS` trials the sum of binomial coefficients over ``2^n`` in
    integers, correctly rounded; beyond, ``I_{1/2}(n - k, k + 1)`` (:func:`beta_cdf`).
    """
    if n <= 0:
        return 1.0
    if n > _EXACT_TRIALS:
        return float(beta_cdf(n - k, k + 1, 0.5))
    term = total = 1
    for i in range(k):
        term = term * (n - i) // (i + 1)
        total += term
    return total / (1 << n)


_half_binomial_cdf = np.frompyfunc(lambda k, n: _half_cdf(int(k), int(n)), 2, 1)


def wilson_interval(
    successes: np.ndarray | int,
    n: np.ndarray | int,
    *,
    confidence: float | np.ndarray = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, element-wise.

    With ``p = successes / n`` and ``z`` the ``(1 + confidence) / 2`` quantile of
    the standard normal distribution::

        centre = (p + z**2 / (2 n)) / (1 + z**2 / n)
        half   = z / (1 + z**2 / n) * sqrt(p (1 - p) / n + z**2 / (4 n**2))
        [centre - half, centre + half]

    (as ``statsmodels.stats.proportion.proportion_confint(method="wilson")``),
    clipped to ``[0, 1]`` against rounding; the bound is exactly 0 when
    ``successes == 0`` and exactly 1 when ``successes == n``, as in exact
    arithmetic. Unlike the normal approximation it stays inside ``[0, 1]`` and is
    not zero-width at ``p = 0`` or ``p = 1``.

    Parameters
    ----------
    successes, n : array-like of int
        Successes and trials, broadcast together; ``0 <= successes <= n``.
    confidence : float or array-like, default=0.95
        Coverage, strictly between 0 and 1 (an array, broadcast with the counts,
        gives each proportion its own level, as simultaneous intervals need).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds (float64); NaN where ``n == 0``.

    Examples
    --------
    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    """
    return wilson_bounds(successes, n, _z_of(confidence))


def wilson_bounds(
    successes: np.ndarray | int, n: np.ndarray | int, z: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for a normal critical value ``z`` (any ``z >= 0``, broadcast).

    The formula of :func:`wilson_interval` with ``z`` given directly, so that
    procedures that invert an interval (the p-value as the level at which it just
    excludes a value) can reach levels closer to 1 than a float coverage can hold.

    Parameters
    ----------
    successes, n : array-like of int
        Successes and trials; ``0 <= successes <= n``.
    z : float or array-like
        Critical value, broadcast with the counts.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds; NaN where ``n == 0``.
    """
    k = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if (k < 0).any() or (k > total).any():
        raise DataValidationError("wilson_interval needs 0 <= successes <= n")
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / total
        denominator = 1 + z**2 / total
        centre = (p + z**2 / (2 * total)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / total + z**2 / (4 * total**2))
        low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        high = np.where(k == total, 1.0, np.clip(centre + half, 0.0, 1.0))
        low = np.where(total > 0, low, np.nan)
        high = np.where(total > 0, high, np.nan)
    return low, high


def paired_difference_interval(
    both: np.ndarray,
    a_only: np.ndarray,
    b_only: np.ndarray,
    neither: np.ndarray,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's square-and-add interval of ``acc_b - acc_a`` from paired 2x2 tables.

    With ``p_b = (both + b_only) / n``, ``p_a = (both + a_only) / n``, Wilson
    intervals ``[l_b, u_b]`` and ``[l_a, u_a]``, and the correlation estimate
    ``phi = C / sqrt((both + b_only)(a_only + neither)(both + a_only)(b_only + neither))``
    where ``A = both * neither - b_only * a_only`` and ``C = A - n/2`` if ``A > n/2``,
    ``0`` if ``0 <= A <= n/2``, ``A`` if ``A < 0`` (``phi = 0`` when a margin is empty),
    the interval of ``D = p_b - p_a`` is::

        D - sqrt((p_b - l_b)^2 - 2 phi (p_b - l_b)(u_a - p_a) + (u_a - p_a)^2),
        D + sqrt((u_b - p_b)^2 - 2 phi (u_b - p_b)(p_a - l_a) + (p_a - l_a)^2)

    (Newcombe 1998, method 10; Fagerland, Lydersen and Laake 2017, section 8.5).

    Parameters
    ----------
    both, a_only, b_only, neither : array-like of int
        The paired 2x2 table of each slice (broadcast together).
    confidence : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds; NaN for empty slices.
    """
    return paired_newcombe_bounds(both, a_only, b_only, neither, _z_of(confidence))


def paired_newcombe_bounds(
    both: np.ndarray,
    a_only: np.ndarray,
    b_only: np.ndarray,
    neither: np.ndarray,
    z: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`paired_difference_interval` for a normal critical value ``z`` (broadcast)."""
    t11, t10, t01, t00 = (
        np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(both, b_only, a_only, neither)
    )
    # rows: B right (t11 + t10) / wrong; columns: A right (t11 + t01) / wrong
    n = t11 + t10 + t01 + t00
    b_right, b_wrong = t11 + t10, t01 + t00
    a_right, a_wrong = t11 + t01, t10 + t00
    with np.errstate(invalid="ignore", divide="ignore"):
        p_b, p_a = b_right / n, a_right / n
    l_b, u_b = wilson_bounds(b_right, n, z)
    l_a, u_a = wilson_bounds(a_right, n, z)
    product = b_right * b_wrong * a_right * a_wrong
    a_stat = t11 * t00 - t10 * t01
    corrected = np.where(a_stat > n / 2, a_stat - n / 2, np.where(a_stat >= 0, 0.0, a_stat))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(product > 0, corrected / np.sqrt(np.where(product > 0, product, 1.0)), 0.0)
        diff = p_b - p_a
        lower = diff - np.sqrt(
            np.maximum(
                (p_b - l_b) ** 2 - 2 * phi * (p_b - l_b) * (u_a - p_a) + (u_a - p_a) ** 2, 0.0
            )
        )
        upper = diff + np.sqrt(
            np.maximum(
                (u_b - p_b) ** 2 - 2 * phi * (u_b - p_b) * (p_a - l_a) + (p_a - l_a) ** 2, 0.0
            )
        )
    ok = n > 0
    return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def difference_interval(
    x1: np.ndarray,
    n1: np.ndarray,
    x2: np.ndarray,
    n2: np.ndarray,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval of ``x1 / n1 - x2 / n2`` for independent samples.

    With Wilson intervals ``[l1, u1]`` and ``[l2, u2]`` of the two proportions and
    ``d = p1 - p2``::

        [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)]

    (Newcombe 1998, *Statistics in Medicine* 17:873, method 10). It stays inside
    [-1, 1] and keeps its coverage near nominal on small or extreme samples.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds; NaN where ``n1 == 0`` or ``n2 == 0``.
    """
    return newcombe_bounds(x1, n1, x2, n2, _z_of(confidence))


def newcombe_bounds(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`difference_interval` for a normal critical value ``z`` (broadcast)."""
    return _square_and_add(x1, n1, x2, n2, wilson_bounds(x1, n1, z), wilson_bounds(x2, n2, z))


def newcombe_lower(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float | np.ndarray
) -> np.ndarray:
    """The lower bound of :func:`newcombe_bounds` alone (a one-sided inversion's)."""
    return _square_and_add_lower(
        x1, n1, x2, n2, wilson_bounds(x1, n1, z)[0], wilson_bounds(x2, n2, z)[1]
    )


def exact_bounds(
    successes: np.ndarray | int, n: np.ndarray | int, z: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson (exact) bounds of a proportion, each tail ``ndtr(-z)`` (broadcast).

    ``[B(ndtr(-z); k, n - k + 1), B(1 - ndtr(-z); k + 1, n - k)]`` with ``B`` the beta
    quantile, 0 when ``k = 0`` and 1 when ``k = n`` (as
    ``statsmodels.stats.proportion.proportion_confint(method="beta")``). The upper
    quantile is taken from its tail (``betainccinv``) so that levels very close to 1
    keep their precision. Its coverage is at least the nominal level for every ``n``
    and every true proportion.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds; NaN where ``n == 0``.

    Examples
    --------
    >>> low, high = exact_bounds(8, 10, 1.959963984540054)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4439, 0.9748)
    """
    return exact_lower(successes, n, z), exact_upper(successes, n, z)


def _checked(successes, n) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    if (k < 0).any() or (k > total).any():
        raise DataValidationError("exact bounds need 0 <= successes <= n")
    return k, total


def exact_lower(
    successes: np.ndarray | int, n: np.ndarray | int, z: float | np.ndarray
) -> np.ndarray:
    """The lower Clopper-Pearson bound of :func:`exact_bounds` alone (NaN where ``n == 0``)."""
    k, total = _checked(successes, n)
    tail = normal_cdf(-np.asarray(z, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, beta_quantile(np.maximum(k, 1), total - k + 1, tail), 0.0)
    return np.where(total > 0, low, np.nan)


def exact_upper(
    successes: np.ndarray | int, n: np.ndarray | int, z: float | np.ndarray
) -> np.ndarray:
    """The upper Clopper-Pearson bound of :func:`exact_bounds` alone (NaN where ``n == 0``)."""
    k, total = _checked(successes, n)
    tail = normal_cdf(-np.asarray(z, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        high = np.where(
            k < total, beta_quantile(k + 1, np.maximum(total - k, 1), tail, upper=True), 1.0
        )
    return np.where(total > 0, high, np.nan)


def exact_interval(
    successes: np.ndarray | int, n: np.ndarray | int, *, confidence: float | np.ndarray = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson interval of a proportion at ``confidence`` (see :func:`exact_bounds`)."""
    return exact_bounds(successes, n, _z_of(confidence))


def exact_difference_bounds(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``x1 / n1 - x2 / n2`` by square-and-add (MOVER) of exact limits.

    Newcombe's construction (:func:`difference_interval`) with Clopper-Pearson
    limits in place of Wilson's: ``[d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d +
    sqrt((u1 - p1)^2 + (p2 - l2)^2)]`` (Zou and Donner's method of variance
    estimates recovery). Wilson's limits lose their coverage in the far tail of a
    rate near 0 or 1, where multiple-testing levels live; exact limits keep it.
    """
    return _square_and_add(x1, n1, x2, n2, exact_bounds(x1, n1, z), exact_bounds(x2, n2, z))


def exact_difference_lower(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float | np.ndarray
) -> np.ndarray:
    """The lower bound of :func:`exact_difference_bounds` alone: half its beta quantiles."""
    return _square_and_add_lower(x1, n1, x2, n2, exact_lower(x1, n1, z), exact_upper(x2, n2, z))


def exact_difference_excludes(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, z: float | np.ndarray
) -> np.ndarray:
    """Whether the interval of :func:`exact_difference_bounds` excludes 0 (either side).

    Only the bound on the side of the estimate can (the interval holds the estimate):
    the lower one of a positive difference, the upper one of a negative difference.
    Each element computes that bound alone, half the beta quantiles of both bounds.
    False where a rate is undefined.
    """
    x1, n1, x2, n2, z = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2, z))
    )
    p1, p2 = _rates(x1, n1, x2, n2)
    up, down = p1 - p2 >= 0, p1 - p2 < 0  # NaN: neither
    out = np.zeros(z.shape, dtype=bool)
    args = [v[up] for v in (x1, n1, x2, n2)]
    out[up] = exact_difference_lower(*args, z[up]) > 0
    x1, n1, x2, n2 = (v[down] for v in (x1, n1, x2, n2))
    l2, u1 = exact_lower(x2, n2, z[down]), exact_upper(x1, n1, z[down])
    out[down] = _square_and_add_upper(x1, n1, x2, n2, u1, l2) < 0
    return out


def _rates(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.asarray(x1, dtype=np.float64) / np.asarray(n1, dtype=np.float64)
        p2 = np.asarray(x2, dtype=np.float64) / np.asarray(n2, dtype=np.float64)
    return p1, p2


def _square_and_add(x1, n1, x2, n2, bounds1, bounds2) -> tuple[np.ndarray, np.ndarray]:
    """Square-and-add combination of the limits of two independent proportions."""
    (l1, u1), (l2, u2) = bounds1, bounds2
    p1, p2 = _rates(x1, n1, x2, n2)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lower, upper


def _square_and_add_lower(x1, n1, x2, n2, l1, u2) -> np.ndarray:
    """The lower bound of :func:`_square_and_add`, from the two limits it needs."""
    p1, p2 = _rates(x1, n1, x2, n2)
    return p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)


def _square_and_add_upper(x1, n1, x2, n2, u1, l2) -> np.ndarray:
    """The upper bound of :func:`_square_and_add`, from the two limits it needs."""
    p1, p2 = _rates(x1, n1, x2, n2)
    return p1 - p2 + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
