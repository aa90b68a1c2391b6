"""McNemar's exact test and Newcombe's paired interval vs scipy, statsmodels, the literature."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fairaudit.functional import wilson_interval
from fairaudit.functional._intervals import mcnemar_exact, paired_difference_interval


def test_mcnemar_exact_equals_scipy_binomtest():
    rng = np.random.default_rng(0)
    pairs = [(0, 0), (0, 1), (3, 0), (5, 5), (6, 16), (40, 25), *rng.integers(0, 60, (40, 2))]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    got = mcnemar_exact(a, b)
    for x, y, p in zip(a, b, got, strict=True):
        expected = 1.0 if x + y == 0 else stats.binomtest(int(x), int(x + y), 0.5).pvalue
        assert p == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_mcnemar_exact_equals_statsmodels():
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    for both, a_only, b_only, neither in [(59, 6, 16, 80), (10, 0, 7, 3), (5, 12, 12, 1)]:
        table = np.array([[both, a_only], [b_only, neither]])
        expected = contingency.mcnemar(table, exact=True).pvalue
        assert mcnemar_exact(a_only, b_only) == pytest.approx(expected, rel=1e-12)


def test_newcombe_interval_matches_the_published_example():
    # Fagerland, Lydersen & Laake (2017), section 8: Cavo et al. (2012), table
    # [[59, 6], [16, 80]]: estimate -0.0621, Newcombe square-and-add 95% CI
    # (-0.1186, -0.0046). Rows are the first test; here B is the row test.
    low, high = paired_difference_interval(59, 16, 6, 80)
    assert (6 - 16) / 161 == pytest.approx(-0.0621, abs=5e-5)
    assert float(low) == pytest.approx(-0.1186, abs=5e-5)
    assert float(high) == pytest.approx(-0.0046, abs=5e-5)


def _newcombe_reference(both, a_only, b_only, neither, confidence=0.95):
    """Method 10 written from the paper, with scipy's Wilson intervals."""
    n = both + a_only + b_only + neither
    p1, p2 = (both + b_only) / n, (both + a_only) / n
    ci1 = stats.binomtest(both + b_only, n).proportion_ci(confidence, method="wilson")
    ci2 = stats.binomtest(both + a_only, n).proportion_ci(confidence, method="wilson")
    margins = (both + b_only) * (a_only + neither) * (both + a_only) * (b_only + neither)
    big_a = both * neither - b_only * a_only
    if margins == 0:
        phi = 0.0
    elif big_a > n / 2:
        phi = (big_a - n / 2) / np.sqrt(margins)
    elif big_a >= 0:
        phi = 0.0
    else:
        phi = big_a / np.sqrt(margins)
    d1, u2 = p1 - ci1.low, ci2.high - p2
    u1, d2 = ci1.high - p1, p2 - ci2.low
    low = (p1 - p2) - np.sqrt(d1**2 - 2 * phi * d1 * u2 + u2**2)
    high = (p1 - p2) + np.sqrt(u1**2 - 2 * phi * u1 * d2 + d2**2)
    return low, high


@pytest.mark.parametrize(
    "table",
    [(59, 6, 16, 80), (1, 1, 7, 12), (0, 0, 5, 0), (30, 0, 0, 10), (12, 3, 1, 0), (5, 9, 2, 40)],
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_newcombe_interval_equals_an_independent_implementation(table, confidence):
    low, high = paired_difference_interval(*table, confidence=confidence)
    ref_low, ref_high = _newcombe_reference(*table, confidence=confidence)
    assert float(low) == pytest.approx(ref_low, abs=1e-12)
    assert float(high) == pytest.approx(ref_high, abs=1e-12)
    assert -1 <= float(low) <= float(high) <= 1


def test_wilson_interval_equals_scipy():
    for x, n in [(0, 10), (3, 10), (10, 10), (57, 200)]:
        ci = stats.binomtest(x, n).proportion_ci(0.95, method="wilson")
        low, high = wilson_interval(x, n)
        assert float(low) == pytest.approx(ci.low, abs=1e-12)
        assert float(high) == pytest.approx(ci.high, abs=1e-12)
    low, high = wilson_interval(0, 0)
    assert np.isnan(low) and np.isnan(high)


def test_paired_interval_covers_the_true_difference_about_95_percent():
    # simulated paired tables from known cell probabilities: coverage near nominal
    rng = np.random.default_rng(3)
    probs = np.array([0.55, 0.08, 0.14, 0.23])  # both, a_only, b_only, neither
    truth = probs[2] - probs[1]
    tables = rng.multinomial(150, probs, size=4000)
    low, high = paired_difference_interval(*tables.T)
    coverage = np.mean((low <= truth) & (truth <= high))
    assert 0.93 <= coverage <= 0.975
    # the exact test keeps its level under no change
    null = rng.multinomial(150, [0.55, 0.11, 0.11, 0.23], size=4000)
    assert np.mean(mcnemar_exact(null[:, 1], null[:, 2]) < 0.05) <= 0.05


def test_empty_slices_are_nan():
    low, high = paired_difference_interval(0, 0, 0, 0)
    assert np.isnan(low) and np.isnan(high)
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_exact_is_the_exact_binomial_sum_and_scipy_s_beyond():
    from fractions import Fraction
    from math import comb

    for a, b in [(3, 8), (1, 2), (6, 16), (250, 230), (0, 40), (2499, 2501)]:
        n, k = a + b, min(a, b)
        exact = Fraction(2 * sum(comb(n, i) for i in range(k + 1)), 2**n)
        assert mcnemar_exact(a, b) == float(min(exact, 1))  # correctly rounded
    big_a, big_b = np.array([2600, 3000, 4000]), np.array([2700, 3300, 3100])  # > 5,000 trials
    want = 2 * stats.binom.cdf(np.minimum(big_a, big_b), big_a + big_b, 0.5)
    np.testing.assert_allclose(mcnemar_exact(big_a, big_b), want, rtol=5e-12)
