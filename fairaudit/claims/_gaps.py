"""A gap across the groups of an attribute: simultaneous interval, p-value, detectable size.

A gap is a largest minus a smallest rate over the judged groups (difference metrics),
or a smallest over a largest (ratio metrics), of one rate (accuracy; per class the
selection rate, TPR, FPR; equalized odds takes the worse of TPR and FPR), and for a
multiclass task's summary the worst class. The procedure, chosen by the simulations
of ``benchmarks/bench_validity.py`` (``docs/statistics.md``):

- **differences**: Newcombe's hybrid score interval for every pair of judged groups
  and for every judged group against the rest of the judged rows (every class and
  rate the gap can come from), each at level ``1 - alpha / m`` with ``m`` the number
  of such contrasts (Bonferroni). As ``max - min`` is the largest absolute pairwise
  difference, and at least the distance of any group from the rest (the rest's rate
  lies between the others' lowest and highest), the gap lies in ``[max(0,
  max_contrasts lower |d|), max_pairs upper |d|]`` whenever every interval holds:
  simultaneous coverage at least ``1 - alpha`` whatever the true rates, a true gap of
  0 included, and the estimate is always inside. The contrasts against the rest make
  one group that is off (the usual disparity) far easier to see than a pair would.
- **ratios**: every judged group's Wilson interval at level ``1 - alpha / m`` (``m``
  group rates), combined into ``[min L / max U, min(1, min U / max L)]``.

The p-value of "the gap is not zero" (ratio: not one) is the inversion of the same
interval (:func:`fairaudit.claims.inversion_p_value`), Bonferroni-adjusted, so "the
interval excludes 0" and "p < alpha" are one statement. The smallest detectable gap
is the difference the best-measured pair of groups (the two largest) would detect
with 80% power at the claim's level, with the component's pooled rate.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from fairaudit.claims._levels import (
    critical_z,
    detectable_difference,
    inversion_p_value,
    rows_to_settle,
)
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import fairness_arrays, newcombe_bounds
from fairaudit.functional._fairness import rate_counts
from fairaudit.functional._intervals import exact_bounds, exact_difference_bounds, wilson_bounds
from fairaudit.functional._registry import GAP_METRICS

__all__ = ["GAP_LIMITS", "GAP_METHODS", "LIMITS", "TAIL_LIMITS", "GapInference", "gap_p_values"]

#: Limits of one proportion, and the square-and-add difference built from them.
LIMITS = {
    "exact": (exact_bounds, exact_difference_bounds),
    "wilson": (wilson_bounds, newcombe_bounds),
}
#: The limits of the gap procedure, chosen by simulation (``docs/statistics.md``): with
#: Bonferroni over the pairs, Newcombe's (Wilson) intervals cover at least 0.95 on
#: FairFace-shaped groups at rates 0.8 to 0.97 and detect smaller gaps than exact ones.
GAP_LIMITS = "wilson"
#: The limits of claims tested far in the tail (a slice against the rest at
#: ``fdr / M``, a rate, a change of a rate): Wilson's lose their size there (a null audit
#: yields a "worst slice" 20% of the time at accuracy 0.97), exact ones keep it.
TAIL_LIMITS = "exact"

#: The ``method`` of each kind of gap claim, by limits.
GAP_METHODS: dict[tuple[str, str], str] = {
    ("difference", "exact"): "exact square-and-add per pair, Bonferroni over pairs",
    ("difference", "wilson"): "Newcombe per pair, Bonferroni over pairs",
    ("ratio", "exact"): "exact per group, Bonferroni over groups",
    ("ratio", "wilson"): "Wilson per group, Bonferroni over groups",
}


class GapInference:
    """Inference on one gap metric of one grouping, from its confusion counts.

    Parameters
    ----------
    cm : numpy.ndarray, shape (G, C, C)
        Confusion counts of each group.
    metric : str
        A gap metric (:data:`fairaudit.functional.GAP_METRICS`).
    cls : int, optional
        One class of the task (its per-class gap); default the summary (the worst
        class of a multiclass task, the positive class of a binary one).
    pos_index : int, optional
        Positive class of a binary task (default 1).
    min_support : int, default=0
        Rows a group's rate needs to take part.

    Attributes
    ----------
    estimate, low, high : float
        The gap (NaN when fewer than two groups judge it) and the lowest and
        highest group rate behind it.
    low_group, high_group : int
        Their group indices.
    class_index : int
        The class the gap comes from (-1 for accuracy).
    n_groups : int
        Groups judged.
    m : int
        Bonferroni parts: pairs of judged groups and groups against the rest
        (differences), judged group rates (ratios).
    p_value : float
        Two-sided p-value of "no gap" by inversion of the interval.
    """

    def __init__(
        self,
        cm: np.ndarray,
        metric: str,
        *,
        cls: int | None = None,
        pos_index: int | None = None,
        min_support: int = 0,
        limits: str = GAP_LIMITS,
    ) -> None:
        if metric not in GAP_METRICS:
            raise DataValidationError(f"unknown gap metric {metric!r}; one of {list(GAP_METRICS)}")
        cm = np.asarray(cm)
        spec = GAP_METRICS[metric]
        self.metric = metric
        self.kind = str(spec.gap_kind)
        self.method = GAP_METHODS[(self.kind, limits)]
        self._rate_bounds, self._difference_bounds = LIMITS[limits]
        floor = max(int(min_support), 1)
        values = _fairness(cm, pos_index, int(min_support))[metric]
        stats = values["summary"] if cls is None else values["per_class"]
        pick = (lambda a: a) if cls is None or stats is None else (lambda a: a[cls])
        if cls is not None and stats is None:
            raise DataValidationError(f"{metric} has no per-class value")
        self.estimate = float(pick(stats["value"]))
        self.low = float(pick(stats["low"]))
        self.high = float(pick(stats["high"]))
        self.low_group = int(pick(stats["low_group"]))
        self.high_group = int(pick(stats["high_group"]))
        self.n_groups = int(pick(stats["n_groups"]))
        self.class_index = int(values["class_index"]) if cls is None else int(cls)
        rates = ["tpr", "fpr"] if spec.rate == "tpr+fpr" else [spec.rate]
        counts = rate_counts(cm)
        if spec.rate == "accuracy":
            classes = [0]
        elif cls is not None:
            classes = [cls]
        elif cm.shape[-1] == 2:
            classes = [1 if pos_index is None else pos_index]
        else:  # the worst class: every class whose gap is defined
            per_class = values["per_class"]["value"]
            classes = [k for k in range(cm.shape[-1]) if not np.isnan(per_class[k])]
        #: (hits, totals, judged) of each rate component, shape (G,)
        self._components = []
        for k in classes:
            for rate in rates:
                hits, totals = counts[rate]
                h, t = np.asarray(hits)[:, k], np.asarray(totals)[:, k]
                self._components.append((h, t, t >= floor))
        self.defined = not np.isnan(self.estimate)
        # the judged group rates of every component side by side ("units"), each
        # component a contiguous block, and every pair of units of one component,
        # oriented so that the first rate is the higher
        hits_all, totals_all, starts, pairs = [], [], [], []
        offset = 0
        for h, t, judged in self._components:
            index = np.flatnonzero(judged)
            starts.append(offset)
            hits_all.append(h[index])
            totals_all.append(t[index])
            i, j = np.triu_indices(index.size, 1)
            pairs.append(np.stack([i + offset, j + offset]))
            offset += index.size
        self._hits = np.concatenate(hits_all).astype(np.float64) if hits_all else np.zeros(0)
        self._totals = np.concatenate(totals_all).astype(np.float64) if totals_all else np.zeros(0)
        self._starts = np.asarray(starts, dtype=np.int64)
        self._sizes = np.diff(np.append(self._starts, offset))
        pair_index = np.concatenate(pairs, axis=1) if pairs else np.zeros((2, 0), dtype=np.int64)
        n_pairs = pair_index.shape[1]
        if self.kind == "difference":
            # each judged group against the rest of its component's judged rows: the rest's
            # rate lies between the others' lowest and highest, so |rest - group| <= gap
            # too; far tighter than a pair when one group is off (the rest is large)
            rest_hits, rest_totals, rest_pairs = [], [], []
            extra = offset
            for start, size in zip(starts, np.diff(np.append(starts, offset)), strict=True):
                if size < 3:  # with two groups the rest is the other group: a pair already
                    continue
                block = slice(start, start + size)
                h_block = self._hits[block]
                t_block = self._totals[block]
                rest_hits.append(h_block.sum() - h_block)
                rest_totals.append(t_block.sum() - t_block)
                rest_pairs.append(
                    np.stack([np.arange(start, start + size), extra + np.arange(size)])
                )
                extra += size
            if rest_pairs:
                self._hits = np.concatenate([self._hits, *rest_hits])
                self._totals = np.concatenate([self._totals, *rest_totals])
                pair_index = np.concatenate([pair_index, *rest_pairs], axis=1)
        #: whether each contrast bounds the gap from above too (pairs do, rests do not)
        self._bounds_above = np.arange(pair_index.shape[1]) < n_pairs
        rate = self._hits / np.where(self._totals > 0, self._totals, 1)
        first_higher = rate[pair_index[0]] >= rate[pair_index[1]]
        self._hi = np.where(first_higher, pair_index[0], pair_index[1])
        self._lo = np.where(first_higher, pair_index[1], pair_index[0])
        self._rate = rate
        if self.kind == "difference":
            self.m = max(int(self._hi.size), 1)
        else:
            self.m = max(int(offset), 1)

    # -- the interval as a function of the critical value ------------------------------
    def bounds_at_z(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds for critical values ``z`` (any shape): ``(lower, upper)`` of that shape."""
        z = np.asarray(z, dtype=np.float64)
        nan = np.full(z.shape, np.nan)
        if not self.defined or not self._hi.size:
            return nan, nan
        low, high = self._rate_bounds(self._hits, self._totals, z[..., None])
        if self.kind == "difference":
            p_hi, p_lo = self._rate[self._hi], self._rate[self._lo]
            l_hi, u_hi = low[..., self._hi], high[..., self._hi]
            l_lo, u_lo = low[..., self._lo], high[..., self._lo]
            d = p_hi - p_lo
            lower = d - np.sqrt((p_hi - l_hi) ** 2 + (u_lo - p_lo) ** 2)
            upper = d + np.sqrt((u_hi - p_hi) ** 2 + (p_lo - l_lo) ** 2)
            # gap >= |d| >= max(lower, 0) (d >= 0 by orientation) for every contrast;
            # gap = the largest pairwise |d| <= max(upper, -lower) over the pairs
            above = np.where(self._bounds_above, np.maximum(upper, -lower), -np.inf)
            return np.maximum(lower, 0.0).max(axis=-1), above.max(axis=-1)
        keep = self._sizes >= 2
        max_low = np.maximum.reduceat(low, self._starts, axis=-1)[..., keep]
        min_low = np.minimum.reduceat(low, self._starts, axis=-1)[..., keep]
        max_high = np.maximum.reduceat(high, self._starts, axis=-1)[..., keep]
        min_high = np.minimum.reduceat(high, self._starts, axis=-1)[..., keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            lower = np.where(max_high > 0, min_low / np.where(max_high > 0, max_high, 1), 1.0)
            upper = np.where(
                max_low > 0, np.minimum(1.0, min_high / np.where(max_low > 0, max_low, 1)), 1.0
            )
        return lower.min(axis=-1), upper.min(axis=-1)

    def _excludes(self, z: np.ndarray) -> np.ndarray:
        """Whether the interval at critical value ``z`` (per part) excludes "no gap"."""
        lower, upper = self.bounds_at_z(z)
        if self.kind == "difference":
            return np.nan_to_num(lower, nan=0.0) > 0
        return np.nan_to_num(upper, nan=1.0) < 1

    @functools.cached_property
    def p_value(self) -> float:
        """Bonferroni p of the gap: the level at which its interval just includes no gap."""
        if not self.defined:
            return float("nan")
        if not self._hi.size:
            return 1.0
        return float(inversion_p_value(self._excludes, (), m=self.m))

    # -- what consumers read -----------------------------------------------------------
    def interval(self, alpha: float) -> tuple[float, float]:
        """Simultaneous ``1 - alpha`` interval of the gap (NaN when undefined)."""
        lower, upper = self.bounds_at_z(critical_z(alpha, m=self.m))
        return float(lower), float(upper)

    def supported(self, alpha: float) -> bool:
        """Whether the data show a gap at level ``alpha`` (the interval excludes no gap)."""
        return bool(self.defined and self.p_value < alpha)

    def detectable(self, alpha: float) -> float:
        """Smallest difference the two largest judged groups detect with 80% power at ``alpha``.

        ``(z_{alpha/m} + z_{0.8}) * sqrt(p (1 - p) (1/n_1 + 1/n_2))`` with ``p`` the
        pooled rate of the component and ``n_1, n_2`` its two largest judged groups,
        the smallest over the components; NaN for ratios or undefined gaps.
        """
        if self.kind != "difference" or not self.defined:
            return float("nan")
        z = float(critical_z(alpha, m=self.m))
        best = np.inf
        for hits, totals, judged in self._components:
            if judged.sum() < 2:
                continue
            n = np.sort(totals[judged])[::-1][:2].astype(np.float64)
            size = detectable_difference(hits[judged].sum(), totals[judged].sum(), n[0], n[1], z)
            best = min(best, float(size))
        return float(best) if np.isfinite(best) else float("nan")

    def rows_to_settle(self, threshold: float, alpha: float) -> float:
        """Rows per group at which the interval would clear ``threshold``, if rates held.

        See :func:`fairaudit.claims.rows_to_settle`; the variance is that of the
        extreme pair's difference. NaN for ratios or undefined gaps.
        """
        if self.kind != "difference" or not self.defined:
            return float("nan")
        variance = self.low * (1 - self.low) + self.high * (1 - self.high)
        return rows_to_settle(variance, abs(self.estimate - threshold), alpha, m=self.m)


def gap_p_values(claims: Sequence[GapInference]) -> np.ndarray:
    """The :attr:`GapInference.p_value` of each claim, by one inversion per kind of claim.

    Each claim's p-value is the one it gets alone (the same trial levels, each
    claim's search stopping on its own), and is cached on the claim; the intervals of
    the claims of one kind and limits are computed together, a few vectorised calls
    instead of a few per claim.
    """
    batches: dict[tuple, list[GapInference]] = {}
    for claim in claims:
        if "p_value" not in claim.__dict__ and claim.defined and claim._hi.size:
            batches.setdefault((claim.kind, claim._rate_bounds), []).append(claim)
    for todo in batches.values():
        if len(todo) < 2:
            continue
        m = np.array([claim.m for claim in todo], dtype=np.float64)
        p = inversion_p_value(_Batch(todo).excludes, (len(todo),), m=m, each_alone=True)
        for claim, value in zip(todo, p.tolist(), strict=True):
            claim.__dict__["p_value"] = float(value)
    return np.array([claim.p_value for claim in claims], dtype=np.float64)


class _Batch:
    """The :meth:`GapInference._excludes` of claims of one kind and limits, at once.

    Their judged rates ("units") are put side by side, each claim's critical value
    repeated over its units, and each claim's maximum (differences) or minimum
    (ratios) taken over its own block: element by element the arithmetic of each
    claim alone.
    """

    def __init__(self, claims: Sequence[GapInference]) -> None:
        self.rate_bounds = claims[0]._rate_bounds
        self.difference = claims[0].kind == "difference"
        sizes = [claim._hits.size for claim in claims]
        offsets = np.cumsum([0, *sizes[:-1]])
        self.hits = np.concatenate([claim._hits for claim in claims])
        self.totals = np.concatenate([claim._totals for claim in claims])
        self.unit_claim = np.repeat(np.arange(len(claims)), sizes)
        if self.difference:  # every contrast, a block per claim
            rate = np.concatenate([claim._rate for claim in claims])
            self.hi = np.concatenate([c._hi + o for c, o in zip(claims, offsets, strict=True)])
            self.lo = np.concatenate([c._lo + o for c, o in zip(claims, offsets, strict=True)])
            self.p_hi, self.p_lo = rate[self.hi], rate[self.lo]
            self.blocks = np.cumsum([0, *(claim._hi.size for claim in claims[:-1])])
            return
        # ratios: the components (empty ones left out), of two judged groups or more kept
        nonempty = [claim._sizes > 0 for claim in claims]
        self.starts = np.concatenate(
            [c._starts[k] + o for c, k, o in zip(claims, nonempty, offsets, strict=True)]
        )
        kept = [c._sizes[k] >= 2 for c, k in zip(claims, nonempty, strict=True)]
        self.kept = np.concatenate(kept)
        self.blocks = np.cumsum([0, *(int(k.sum()) for k in kept[:-1])])

    def excludes(self, z: np.ndarray) -> np.ndarray:
        """Whether each claim's interval at its critical value ``z[..., i]`` excludes no gap."""
        z = np.asarray(z, dtype=np.float64)
        low, high = self.rate_bounds(self.hits, self.totals, z[..., self.unit_claim])
        if self.difference:
            p_hi, p_lo = self.p_hi, self.p_lo
            l_hi, u_lo = low[..., self.hi], high[..., self.lo]
            lower = p_hi - p_lo - np.sqrt((p_hi - l_hi) ** 2 + (u_lo - p_lo) ** 2)
            best = np.maximum.reduceat(np.maximum(lower, 0.0), self.blocks, axis=-1)
            return np.nan_to_num(best, nan=0.0) > 0
        max_low = np.maximum.reduceat(low, self.starts, axis=-1)[..., self.kept]
        min_high = np.minimum.reduceat(high, self.starts, axis=-1)[..., self.kept]
        with np.errstate(invalid="ignore", divide="ignore"):
            upper = np.where(
                max_low > 0, np.minimum(1.0, min_high / np.where(max_low > 0, max_low, 1)), 1.0
            )
        worst = np.minimum.reduceat(upper, self.blocks, axis=-1)
        return np.nan_to_num(worst, nan=1.0) < 1


def _fairness(cm: np.ndarray, pos_index: int | None, min_support: int) -> dict:
    """:func:`fairness_arrays` of ``cm``, computed once per grouping (every gap metric of
    a grouping asks for the same arrays)."""
    cm = np.ascontiguousarray(cm, dtype=np.int64)
    return _fairness_cached(cm.tobytes(), cm.shape, pos_index, min_support)


@functools.lru_cache(maxsize=64)
def _fairness_cached(
    data: bytes, shape: tuple[int, ...], pos_index: int | None, min_support: int
) -> dict:
    cm = np.frombuffer(data, dtype=np.int64).reshape(shape)
    return fairness_arrays(cm, pos_index=pos_index, min_support=min_support)
