"""Significance tests of differences between groups, and multiple-testing corrections.

- :func:`two_proportion_z_test`: pooled two-proportion z-test (two-sided).
- :func:`chi2_homogeneity`: Pearson's chi-square test of homogeneity of a rate
  across groups (groups x [hits, misses]), without continuity correction.
- :func:`holm`: Holm's step-down adjusted p-values (family-wise error control).
- :func:`benjamini_hochberg`: Benjamini-Hochberg adjusted p-values (false discovery
  rate control).
"""

from __future__ import annotations

import math

import numpy as np

from fairaudit.functional._normal import normal_cdf, normal_sf

__all__ = [
    "benjamini_hochberg",
    "chi2_homogeneity",
    "chi2_sf",
    "holm",
    "two_proportion_z_test",
    "two_proportion_z_tests",
]


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): reject where ``q <= fdr``.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the sorted p-values, as
    ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``. Rejecting every
    ``q <= fdr`` controls the false discovery rate at ``fdr`` for independent or
    positively dependent tests.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out


def two_proportion_z_tests(
    x1: np.ndarray,
    n1: np.ndarray,
    x2: np.ndarray,
    n2: np.ndarray,
    *,
    alternative: str = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`two_proportion_z_test`, element-wise over arrays (``n1, n2 > 0``).

    ``alternative="less"`` gives the one-sided p-value of ``x1 / n1 < x2 / n2``
    (``statsmodels``' ``test_proportions_2indep(..., alternative="smaller")``).
    """
    if alternative not in ("two-sided", "less"):
        raise ValueError(f"alternative must be 'two-sided' or 'less', got {alternative!r}")
    x1, n1, x2, n2 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2))
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, (x1 / n1 - x2 / n2) / np.where(se > 0, se, 1.0), 0.0)
    if alternative == "less":
        return z, np.where(se > 0, normal_cdf(z), 1.0)
    return z, np.where(se > 0, 2 * normal_sf(np.abs(z)), 1.0)


def two_proportion_z_test(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float]:
    """Pooled two-proportion z-test of ``x1 / n1`` against ``x2 / n2``.

    Returns
    -------
    (float, float)
        The z statistic and its two-sided p-value; ``(0, 1)`` when the pooled
        proportion is 0 or 1 (no variation to test).
    """
    z, p = two_proportion_z_tests(x1, n1, x2, n2)
    return float(z), float(p)


def chi2_homogeneity(hits: np.ndarray, totals: np.ndarray) -> tuple[float, float, int]:
    """Chi-square test that every group has the same rate ``hits / totals``.

    Parameters
    ----------
    hits, totals : numpy.ndarray of int, shape (G,)
        Successes and trials of each group (``totals > 0``).

    Returns
    -------
    (float, float, int)
        Statistic, p-value and degrees of freedom of
        ``scipy.stats.chi2_contingency`` on the groups x [hits, misses] table
        without continuity correction; ``(0, 1, G - 1)`` when every rate is 0 or
        every rate is 1.
    """
    hits = np.asarray(hits)
    totals = np.asarray(totals)
    table = np.stack([hits, totals - hits], axis=1)
    dof = int(hits.size - 1)
    if (table.sum(axis=0) == 0).any():
        return 0.0, 1.0, dof
    # scipy.stats.chi2_contingency's arithmetic, step for step (without importing
    # scipy.stats, about a second of CPU): expected counts from the margins, Pearson's
    # statistic, its chi-square survival function
    observed = table.astype(np.float64)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
    expected = expected / observed.sum()
    if (expected == 0).any():
        raise ValueError("a group has no trials (totals must be > 0)")
    if dof == 0:
        return 0.0, 1.0, 0
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return statistic, chi2_sf(statistic, dof), dof


def chi2_sf(x: float, dof: int) -> float:
    """``P(X > x)`` for ``X`` chi-square with an integer ``dof >= 1`` degrees of freedom.

    The closed forms of the integer-``dof`` case: for even ``dof = 2m``, a Poisson
    tail, ``exp(-x/2) sum_{k<m} (x/2)^k / k!``; for odd ``dof``, ``erfc(sqrt(x/2))``
    plus ``exp(-x/2) sum_{j=1}^{(dof-1)/2} (x/2)^(j-1/2) / Gamma(j+1/2)``. Sums of
    positive terms (no cancellation), each a recursion from its neighbour; beyond
    ``x/2 = 700``, where ``exp(-x/2)`` underflows, from the last term (in logs)
    downwards. Agrees with ``scipy.special.chdtrc`` (``scipy.stats.chi2.sf``) to within
    a relative 1e-12 (``tests/functional/test_distributions.py``).

    Examples
    --------
    >>> round(chi2_sf(3.841458820694124, 1), 12)
    0.05
    """
    if dof < 1 or int(dof) != dof:
        raise ValueError(f"dof must be a positive integer, got {dof!r}")
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    dof = int(dof)
    half = x / 2.0
    # terms exp(-x/2) (x/2)^e / Gamma(e + 1): e = 0, 1, ..., m - 1 (even dof = 2m) or
    # e = 1/2, 3/2, ..., dof/2 - 1 (odd dof, beside erfc); each is its neighbour times
    # (x/2) / e
    if dof % 2 == 0:
        exponents = [float(k) for k in range(dof // 2)]
        base = 0.0
    else:
        exponents = [k + 0.5 for k in range((dof - 1) // 2)]
        base = math.erfc(math.sqrt(half))
    if not exponents:
        return base
    terms = [0.0] * len(exponents)
    if half < 700.0:
        term = math.exp(-half) * half ** exponents[0] / math.gamma(exponents[0] + 1.0)
        terms[0] = term
        for i in range(1, len(exponents)):
            term *= half / exponents[i]
            terms[i] = term
    else:
        last = exponents[-1]
        term = math.exp(-half + last * math.log(half) - math.lgamma(last + 1.0))
        terms[-1] = term
        for i in range(len(exponents) - 1, 0, -1):
            term *= exponents[i] / half
            terms[i - 1] = term
    return min(1.0, base + math.fsum(terms))
