"""The distributions computed without scipy (normal cdf, sf, quantile; chi-square sf; beta
quantiles) agree with scipy's to within a relative 1e-12."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from fairaudit.functional import wilson_interval
from fairaudit.functional._beta import PURE_PYTHON_UP_TO, _log_beta, beta_cdf, beta_quantile
from fairaudit.functional._intervals import exact_bounds
from fairaudit.functional._normal import normal_cdf, normal_ppf, normal_sf
from fairaudit.functional._significance import chi2_homogeneity, chi2_sf

TINY = np.finfo(np.float64).tiny


def _points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [
            np.linspace(-40, 40, 40_001),
            rng.normal(scale=4.0, size=20_000),
            [0.0, -0.0, 1.0, -1.0, np.nextafter(1.0, 0), np.nextafter(1.0, 2), 8.3, -8.3],
        ]
    )


@pytest.mark.parametrize(
    ("ours", "scipy_version"), [(normal_cdf, stats.norm.cdf), (normal_sf, stats.norm.sf)]
)
def test_cdf_and_sf_agree_with_scipy_within_1e_12(ours, scipy_version):
    x = _points()
    got, want = ours(x), scipy_version(x)
    normal = want > TINY
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-12, atol=0)
    # where scipy underflows (|x| > 37.5) both are below the smallest normal double
    assert (got[~normal] < TINY).all()


def test_ppf_agrees_with_scipy_within_1e_12():
    p = np.concatenate(
        [
            np.logspace(-300, -0.3, 30_001),
            1 - np.logspace(-16, -0.3, 10_001),
            np.linspace(0, 1, 10_001),
            [0.975, 0.995, 0.5],
        ]
    )
    np.testing.assert_allclose(normal_ppf(p), stats.norm.ppf(p), rtol=1e-12, atol=1e-15)


def test_edges_are_scipy_s():
    edges = np.array([0.0, 1.0, -0.5, 1.5, np.nan])
    np.testing.assert_array_equal(normal_ppf(edges), stats.norm.ppf(edges))
    x = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(normal_cdf(x), stats.norm.cdf(x))
    np.testing.assert_array_equal(normal_sf(x), stats.norm.sf(x))


def test_scalars_in_scalars_out_and_shape_kept():
    assert isinstance(normal_ppf(0.975), np.floating)
    assert normal_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-15)
    assert normal_cdf(np.zeros((2, 3))).shape == (2, 3)


def test_wilson_interval_is_unchanged_against_scipy_s_quantile():
    """The Wilson bounds with the scipy-free quantile equal statsmodels' formula."""
    k = np.array([0, 1, 5, 37, 99, 100])
    n = np.array([100] * 6)
    for confidence in (0.8, 0.95, 0.999):
        low, high = wilson_interval(k, n, confidence=confidence)
        z = stats.norm.ppf(0.5 + confidence / 2)
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        np.testing.assert_allclose(low[1:], (centre - half)[1:], rtol=1e-12)
        np.testing.assert_allclose(high[:-1], (centre + half)[:-1], rtol=1e-12)


@pytest.mark.parametrize("dof", [*range(1, 31), 61, 62, 125, 126, 301])
def test_chi2_sf_agrees_with_scipy_within_1e_12(dof):
    x = np.concatenate(
        [
            np.linspace(1e-3, 200, 800),
            np.linspace(200, 3500, 300),
            [1e-9, float(dof), 1399.99, 1400.0, 1400.01],
        ]
    )
    got = np.array([chi2_sf(float(v), dof) for v in x])
    want = special.chdtrc(dof, x)
    assert np.array_equal(want, stats.chi2.sf(x, dof))  # what chi2_contingency calls
    normal = want > 1e-290
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-12, atol=0)
    assert (got[~normal] < 1e-280).all()


def test_chi2_sf_edges():
    assert chi2_sf(0.0, 3) == 1.0 and chi2_sf(-1.0, 2) == 1.0
    assert np.isnan(chi2_sf(np.nan, 2))
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    with pytest.raises(ValueError, match="positive integer"):
        chi2_sf(1.0, 0)


def test_chi2_homogeneity_is_scipy_s_chi2_contingency():
    """Same statistic (bit for bit), same dof, p-value within a relative 1e-12."""
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(500):
        groups = int(rng.integers(2, 40))
        totals = rng.integers(1, 2000, groups)
        rates = rng.uniform(0.01, 0.99, groups) if rng.random() < 0.5 else np.full(groups, 0.3)
        hits = rng.binomial(totals, rates)
        table = np.stack([hits, totals - hits], axis=1)
        if (table.sum(axis=0) == 0).any():
            continue
        want = stats.chi2_contingency(table, correction=False)
        statistic, p_value, dof = chi2_homogeneity(hits, totals)
        assert statistic == want.statistic and dof == want.dof
        assert p_value == pytest.approx(want.pvalue, rel=1e-12, abs=1e-300)
        checked += 1
    assert checked > 450
    # the degenerate cases keep their documented answers
    assert chi2_homogeneity(np.array([0, 0]), np.array([5, 7])) == (0.0, 1.0, 1)
    assert chi2_homogeneity(np.array([4]), np.array([9])) == (0.0, 1.0, 0)


def _clopper_pearson_shapes() -> tuple[np.ndarray, np.ndarray]:
    """``(k, n)`` of every kind of slice: tiny, FairFace-sized, all or none right."""
    rng = np.random.default_rng(2)
    k, n = [], []
    for total in (1, 2, 5, 10, 30, 100, 300, 500, 2000, 5000, 11_000, 20_000):
        hits = np.r_[0, 1, 2, total // 2, total - 1, total, rng.integers(0, total + 1, 40)]
        hits = np.unique(hits)
        hits = hits[(hits >= 0) & (hits <= total)]
        k.append(hits)
        n.append(np.full(hits.size, total))
    return np.concatenate(k), np.concatenate(n)


@pytest.mark.parametrize("tail", [0.5, 0.2, 0.025, 1e-3, 1e-6, 1e-10, 1e-15, 1e-30, 1e-100])
def test_beta_quantiles_agree_with_scipy_within_1e_12(tail):
    """The Clopper-Pearson quantiles (``a = k, b = n - k + 1`` and ``k + 1, n - k``)."""
    k, n = _clopper_pearson_shapes()
    for a, b, upper, want in (
        (np.maximum(k, 1), n - k + 1, False, special.betaincinv),
        (k + 1, np.maximum(n - k, 1), True, special.betainccinv),
    ):
        a, b = a.astype(np.float64), b.astype(np.float64)
        got = np.concatenate(
            [
                beta_quantile(a[i : i + 50], b[i : i + 50], tail, upper=upper)
                for i in range(0, a.size, 50)  # pure Python: at most PURE_PYTHON_UP_TO each
            ]
        )
        np.testing.assert_allclose(got, want(a, b, tail), rtol=1e-12, atol=0)
        # the large arrays go to scipy, which agrees with the pure-Python values
        assert a.size > PURE_PYTHON_UP_TO
        np.testing.assert_allclose(beta_quantile(a, b, tail, upper=upper), got, rtol=1e-12)


def test_beta_quantile_edges_and_shapes():
    assert beta_quantile(3.0, 4.0, 0.0) == 0.0 and beta_quantile(3.0, 4.0, 1.0) == 1.0
    assert beta_quantile(3.0, 4.0, 0.0, upper=True) == 1.0
    assert np.isnan(beta_quantile(3.0, 4.0, np.nan)) and np.isnan(beta_quantile(0.0, 4.0, 0.5))
    assert np.isnan(beta_quantile(3.0, 4.0, 1.5))
    # Beta(1, b) has the closed form 1 - (1 - p)^(1 / b)
    assert beta_quantile(1.0, 9.0, 0.3) == pytest.approx(1 - 0.7 ** (1 / 9), rel=1e-14)
    assert isinstance(beta_quantile(2.0, 3.0, 0.5), np.floating)
    assert beta_quantile(np.ones((2, 3)), 5.0, 0.1).shape == (2, 3)


def test_log_beta_is_exact_on_integers():
    """``log B(a, b) = -log(a + b - 1) - log C(a + b - 2, a - 1)``, from exact integers.

    (SciPy's ``betaln`` loses up to 1e-9 where one argument is small and the other
    large, by the cancellation of large ``lgamma`` values.)
    """
    rng = np.random.default_rng(3)
    pairs = [(1, 1), (1, 100_000), (3, 100_000), (9, 11), (10, 10), (50, 70_000), (5000, 5001)]
    pairs += [tuple(int(v) for v in rng.integers(1, 4000, 2)) for _ in range(200)]
    for a, b in pairs:
        want = -math.log(a + b - 1) - math.log(math.comb(a + b - 2, a - 1))
        assert _log_beta(float(a), float(b)) == pytest.approx(want, rel=1e-13, abs=1e-14)


def test_exact_bounds_small_and_large_agree():
    """A gate's few slices (pure Python) and a report's grid (scipy): the same bounds."""
    rng = np.random.default_rng(4)
    n = rng.integers(1, 5000, 600)
    k = rng.binomial(n, rng.uniform(0, 1, n.size))
    large = exact_bounds(k, n, 3.1)
    small = [exact_bounds(k[i : i + 20], n[i : i + 20], 3.1) for i in range(0, n.size, 20)]
    for side in (0, 1):
        np.testing.assert_allclose(
            np.concatenate([s[side] for s in small]), large[side], rtol=1e-12, atol=1e-300
        )


def test_beta_cdf_agrees_with_scipy_betainc():
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(0.1, 20, 3000), rng.uniform(1, 5000, 3000)])
    b = np.concatenate([rng.uniform(0.1, 20, 3000), rng.uniform(1, 5000, 3000)])
    x = rng.random(6000)
    got, want = beta_cdf(a, b, x), special.betainc(a, b, x)
    normal = want > 1e-290  # scipy's subnormal results keep fewer digits
    np.testing.assert_allclose(got[normal], want[normal], rtol=5e-12, atol=0)
    assert np.all(np.abs(got - want) < 1e-290 + 5e-12 * want)
    assert float(beta_cdf(2, 3, 0.5)) == pytest.approx(11 / 16, rel=1e-15)
    assert np.isnan(beta_cdf(0, 1, 0.5)) and beta_cdf(1, 1, 0.0) == 0 and beta_cdf(1, 1, 1.0) == 1
