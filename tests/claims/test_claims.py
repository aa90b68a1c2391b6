"""The inference layer against independent oracles, and its one promise: agreement.

Every claim's p-value is the inversion of its interval, so for any data and level
"p < alpha" and "the interval excludes the null" must be the same statement; every
interval must hold its estimate; the limits and the false discovery rate procedure
must equal statsmodels'.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint

from fairaudit.claims import (
    GapInference,
    fdr_select,
    paired_rate_change,
    rate_change,
    rate_interval,
    slice_claims,
    threshold_verdict,
)
from fairaudit.claims._changes import bootstrap_change, gap_change_interval, gap_change_p_value
from fairaudit.claims._gaps import gap_p_values
from fairaudit.claims._levels import (
    critical_z,
    detectable_difference,
    inversion_p_value,
    p_of_z,
    rows_to_settle,
)
from fairaudit.claims._thresholds import worst_rate_interval
from fairaudit.functional import fairness_arrays, newcombe_bounds, wilson_interval
from fairaudit.functional._fairness import gap_intervals
from fairaudit.functional._intervals import exact_difference_bounds, exact_interval


def test_exact_interval_equals_statsmodels_clopper_pearson() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(1, 400, size=300)
    k = rng.integers(0, n + 1)
    for level in (0.9, 0.95, 0.999):
        low, high = exact_interval(k, n, confidence=level)
        ref_low, ref_high = proportion_confint(k, n, alpha=1 - level, method="beta")
        np.testing.assert_allclose(low, np.nan_to_num(ref_low, nan=0.0), atol=1e-10)
        np.testing.assert_allclose(high, np.nan_to_num(ref_high, nan=1.0), atol=1e-10)
    assert np.isnan(exact_interval(0, 0)[0])


def test_rate_interval_is_the_exact_interval() -> None:
    low, high = rate_interval(np.array([3, 30]), np.array([5, 31]), confidence=0.9)
    ref = proportion_confint(np.array([3, 30]), np.array([5, 31]), alpha=0.1, method="beta")
    np.testing.assert_allclose(low, ref[0], atol=1e-12)
    np.testing.assert_allclose(high, ref[1], atol=1e-12)


def test_square_and_add_matches_a_naive_construction() -> None:
    """MOVER with exact limits, rebuilt from statsmodels' limits; Wilson's is Newcombe's."""
    rng = np.random.default_rng(1)
    n1, n2 = rng.integers(1, 200, 50), rng.integers(1, 200, 50)
    x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
    z = critical_z(0.05)
    for method, ours in (("beta", exact_difference_bounds), ("wilson", newcombe_bounds)):
        l1, u1 = proportion_confint(x1, n1, alpha=0.05, method=method)
        l2, u2 = proportion_confint(x2, n2, alpha=0.05, method=method)
        l1, u1 = np.nan_to_num(l1, nan=0.0), np.nan_to_num(u1, nan=1.0)
        l2, u2 = np.nan_to_num(l2, nan=0.0), np.nan_to_num(u2, nan=1.0)
        p1, p2 = x1 / n1, x2 / n2
        ref_low = p1 - p2 - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        ref_high = p1 - p2 + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        low, high = ours(x1, n1, x2, n2, z)
        np.testing.assert_allclose(low, ref_low, atol=1e-8)
        np.testing.assert_allclose(high, ref_high, atol=1e-8)


def test_critical_values_and_their_inverse() -> None:
    assert float(critical_z(0.05)) == pytest.approx(1.959963984540054)
    assert float(critical_z(0.05, sides=1)) == pytest.approx(1.6448536269514722)
    assert float(critical_z(0.05, m=10)) == pytest.approx(2.8070337683438)
    for alpha in (0.2, 0.05, 1e-4, 1e-12):
        assert float(p_of_z(critical_z(alpha, m=3), m=3)) == pytest.approx(alpha, rel=1e-9)


@pytest.mark.parametrize(
    ("hits", "total", "n_first", "n_second", "alpha"),
    [(90, 200, 100, 100, 0.05), (4_500, 5_000, 4_000, 1_000, 0.01), (0, 60, 30, 30, 0.05)],
)
def test_detectable_difference_has_80_percent_power(hits, total, n_first, n_second, alpha) -> None:
    z = float(critical_z(alpha))
    size = float(detectable_difference(hits, total, n_first, n_second, z))
    pooled = min(max(hits / total, 0.5 / total), 1 - 0.5 / total)
    # statsmodels: the power of the z-test of a standardised difference in the direction
    # of the difference, at the tail alpha / 2 of a two-sided level alpha
    effect = size / np.sqrt(pooled * (1 - pooled))
    power = NormalIndPower().power(
        effect, nobs1=n_first, alpha=alpha / 2, ratio=n_second / n_first, alternative="larger"
    )
    assert power == pytest.approx(0.8, abs=1e-9)
    if n_first == n_second:  # rows_to_settle is its inverse in the rows per group
        variance = 2 * pooled * (1 - pooled)
        assert rows_to_settle(variance, size, alpha) == pytest.approx(n_first, abs=1)


@pytest.mark.parametrize("z_star", [0.3, 1.96, 4.0, 7.99, 8.01, 15.0])
def test_inversion_finds_the_crossing(z_star: float) -> None:
    p = inversion_p_value(lambda z: np.asarray(z) < z_star, ())
    assert float(p) >= float(p_of_z(z_star)) * (1 - 1e-12)  # never smaller than the truth
    truth = float(p_of_z(z_star))
    # to about 1e-4 where it can matter, to a few percent above 0.2 (never a discovery)
    assert float(p) == pytest.approx(truth, rel=2e-3 if truth < 0.2 else 3e-2)
    assert float(inversion_p_value(lambda z: np.zeros(np.shape(z), bool), ())) == 1.0


def test_fdr_select_equals_statsmodels_and_the_false_coverage_level() -> None:
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 1e-3, size=8), [np.nan]])
    q, found, alpha = fdr_select(p, 0.05)
    tested = ~np.isnan(p)
    reject, ref_q, _, _ = multipletests(p[tested], alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose(q[tested], ref_q)
    np.testing.assert_array_equal(found[tested], reject)
    assert np.isnan(q[~tested]).all() and not found[~tested].any()
    assert alpha == pytest.approx(0.05 * reject.sum() / tested.sum())
    np.testing.assert_array_equal(found[tested], p[tested] <= alpha)


def _binary_counts(hits: np.ndarray, n: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Counts (G, 2, 2) with ``positives`` true positives rows, accuracy hits / n overall."""
    cm = np.zeros((n.size, 2, 2), dtype=np.int64)
    pos_right = np.minimum(hits, positives)
    cm[:, 1, 1] = pos_right
    cm[:, 1, 0] = positives - pos_right
    cm[:, 0, 0] = hits - pos_right
    cm[:, 0, 1] = n - positives - (hits - pos_right)
    return cm


counts_strategy = st.integers(2, 6).flatmap(
    lambda g: st.tuples(
        st.lists(st.integers(1, 80), min_size=g, max_size=g),
        st.lists(st.floats(0, 1), min_size=g, max_size=g),
        st.lists(st.floats(0, 1), min_size=g, max_size=g),
    )
)


@settings(max_examples=60, deadline=None)
@given(counts_strategy, st.sampled_from([0.2, 0.05, 0.01]), st.integers(0, 20))
def test_gap_claims_agree_with_themselves(data, alpha, min_support) -> None:
    """p < alpha exactly when the interval excludes no gap; the estimate is inside."""
    sizes, rates, shares = (np.asarray(v) for v in data)
    n = sizes.astype(np.int64)
    positives = np.floor(shares * n).astype(np.int64)
    hits = np.floor(rates * n).astype(np.int64)
    cm = _binary_counts(hits, n, positives)
    for metric in ("accuracy_difference", "equalized_odds_difference", "accuracy_ratio"):
        claim = GapInference(cm, metric, min_support=min_support)
        expected = fairness_arrays(cm, min_support=min_support)[metric]["summary"]["value"]
        np.testing.assert_allclose(claim.estimate, expected)
        if not claim.defined:
            assert np.isnan(claim.p_value)
            continue
        low, high = claim.interval(alpha)
        assert low - 1e-12 <= claim.estimate <= high + 1e-12
        excluded = low > 0 if claim.kind == "difference" else high < 1
        p = claim.p_value
        if abs(p - alpha) > 1e-3 * alpha:  # the inversion is exact to about 1e-4
            assert (p < alpha) == excluded, (metric, p, low, high)


@settings(max_examples=30, deadline=None)
@given(st.lists(counts_strategy, min_size=2, max_size=6), st.integers(0, 20))
def test_gap_p_values_together_are_each_claim_s_alone(tables, min_support) -> None:
    """One inversion over many claims gives every claim the p-value it gets alone."""
    metrics = ("accuracy_difference", "equalized_odds_difference", "accuracy_ratio")
    pairs = []
    for data in tables:
        sizes, rates, shares = (np.asarray(v) for v in data)
        n = sizes.astype(np.int64)
        cm = _binary_counts(
            np.floor(rates * n).astype(np.int64), n, np.floor(shares * n).astype(np.int64)
        )
        pairs += [
            (
                GapInference(cm, m, min_support=min_support),
                GapInference(cm, m, min_support=min_support),
            )
            for m in metrics
        ]
    together = gap_p_values([batched for _, batched in pairs])
    alone = np.array([claim.p_value for claim, _ in pairs])
    np.testing.assert_array_equal(together, alone)  # the same bits, NaN where undefined


def test_gap_interval_is_never_wider_than_the_former_wilson_bonferroni() -> None:
    """On FairFace-like cells the pairwise procedure is tighter where it matters."""
    rng = np.random.default_rng(3)
    n = np.array([962, 726, 725, 715, 681, 664, 527])
    widths = []
    for _ in range(20):
        hits = rng.binomial(n, 0.9)
        cm = _binary_counts(hits, n, n // 2)
        ours = GapInference(cm, "accuracy_difference").interval(0.05)
        former = gap_intervals(cm)["accuracy_difference"]["summary"]
        widths.append((ours[1] - ours[0], float(former[1] - former[0])))
    ours_w, former_w = np.array(widths).T
    assert ours_w.mean() < former_w.mean()


def test_multiclass_gap_counts_every_class_and_pair() -> None:
    rng = np.random.default_rng(4)
    cm = rng.integers(20, 60, size=(4, 3, 3))
    claim = GapInference(cm, "equal_opportunity_difference")
    # three classes; per class six pairs of four groups, and four groups against the rest
    assert claim.m == 3 * (6 + 4)
    one = GapInference(cm, "equal_opportunity_difference", cls=1)
    assert one.m == 6 + 4
    assert one.p_value >= claim.p_value / 3 - 1e-12 or one.class_index != claim.class_index


def test_slice_claims_are_consistent_and_discover_a_real_shortfall() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(30, 400, size=60)
    hits = rng.binomial(n, 0.9)
    hits[0] = int(0.6 * n[0])
    total_hits, total = hits.sum(), n.sum()
    out = slice_claims(hits, n, total_hits - hits, total - n, fdr=0.05)
    assert out["discovered"][0]
    np.testing.assert_array_equal(out["discovered"], out["lower"] > 0)
    np.testing.assert_array_equal(out["discovered"], out["q_value"] <= 0.05)
    assert (out["lower"] <= out["effect"] + 1e-12).all()
    assert (out["effect"] <= out["upper"] + 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 50)), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 50)), min_size=1, max_size=8),
    st.sampled_from([0.1, 0.05, 0.001]),
)
def test_rate_changes_agree_with_themselves(a, b, alpha) -> None:
    size = min(len(a), len(b))
    xa, na = (np.array([min(x, n) for x, n in a[:size]]), np.array([n for _, n in a[:size]]))
    xb, nb = (np.array([min(x, n) for x, n in b[:size]]), np.array([n for _, n in b[:size]]))
    p, bounds = rate_change(xa, na, xb, nb)
    low, high = bounds(alpha)
    change = xb / nb - xa / na
    assert ((low <= change + 1e-12) & (change <= high + 1e-12)).all()
    clear = np.abs(p - alpha) > 1e-3 * alpha
    np.testing.assert_array_equal(((p < alpha) == ((low > 0) | (high < 0)))[clear], True)


def test_paired_rate_change_is_newcombe_paired_and_consistent() -> None:
    both, a_only, b_only, neither = (
        np.array(v) for v in ([50, 10, 0], [3, 0, 5], [12, 2, 5], [5, 1, 0])
    )
    p, bounds = paired_rate_change(both, a_only, b_only, neither)
    low, high = bounds(0.05)
    from fairaudit.functional._intervals import paired_difference_interval

    ref_low, ref_high = paired_difference_interval(both, a_only, b_only, neither)
    np.testing.assert_allclose(low, ref_low)
    np.testing.assert_allclose(high, ref_high)
    np.testing.assert_array_equal(p < 0.05, (low > 0) | (high < 0))


def test_gap_change_covers_a_gap_that_leaves_a_tie() -> None:
    """0 -> 0.15 between versions, 7 groups of 300 rows: the projection covers."""
    rng = np.random.default_rng(6)
    n = np.full(7, 300)
    covered = 0
    draws = 60
    for _ in range(draws):
        a = GapInference(_binary_counts(rng.binomial(n, 0.9), n, n // 2), "accuracy_difference")
        rates = np.r_[0.75, np.full(6, 0.9)]
        b = GapInference(_binary_counts(rng.binomial(n, rates), n, n // 2), "accuracy_difference")
        low, high = gap_change_interval(a, b, 0.05)
        covered += low <= 0.15 <= high
        p = gap_change_p_value(a, b)
        assert (p < 0.05) == (low > 0 or high < 0) or abs(p - 0.05) < 1e-4
    assert covered / draws >= 0.93


def test_bootstrap_change_interval_holds_its_estimate() -> None:
    rng = np.random.default_rng(7)
    reps = rng.normal([0.05, 0.08, 0.0], 0.02, size=(500, 3))
    estimate = np.array([0.05, -0.01, 0.0])
    p, bounds = bootstrap_change(reps, estimate)
    low, high = bounds(0.05)
    assert ((low <= estimate) & (estimate <= high)).all()
    assert p[0] < 0.05 and low[0] > 0
    assert p[1] == 1.0  # replicates and estimate on opposite sides: no claim
    np.testing.assert_array_equal(p < 0.05, (low > 0) | (high < 0))


def test_threshold_verdicts_and_the_worst_rate() -> None:
    assert threshold_verdict(0.12, 0.2, 0.1, bound="max") == "fail"
    assert threshold_verdict(0.0, 0.1, 0.1, bound="max") == "pass"
    assert threshold_verdict(0.05, 0.15, 0.1, bound="max") == "inconclusive"
    assert threshold_verdict(0.5, 0.7, 0.8, bound="min") == "fail"
    assert threshold_verdict(0.85, 0.9, 0.8, bound="min") == "pass"
    with pytest.raises(ValueError):
        threshold_verdict(0, 1, 0.5, bound="between")
    hits, n = np.array([90, 40, 70]), np.array([100, 50, 100])
    low, high = worst_rate_interval(hits, n, 0.05, highest=False)
    ref_low, ref_high = proportion_confint(hits, n, alpha=0.05 / 3, method="beta")
    assert low == pytest.approx(ref_low.min()) and high == pytest.approx(ref_high.min())
    assert low <= 0.7 <= high


def test_wilson_interval_unchanged_by_the_refactor() -> None:
    low, high = wilson_interval(np.array([8, 0, 5]), np.array([10, 7, 5]))
    ref = proportion_confint(np.array([8, 0, 5]), np.array([10, 7, 5]), method="wilson")
    np.testing.assert_allclose(low, ref[0], atol=1e-12)
    np.testing.assert_allclose(high, ref[1], atol=1e-12)
