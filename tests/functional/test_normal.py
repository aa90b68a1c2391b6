"""The standard normal cdf, sf and quantile without scipy agree with scipy.stats.norm."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fairaudit.functional import normal_cdf, normal_ppf, normal_sf, wilson_interval

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
