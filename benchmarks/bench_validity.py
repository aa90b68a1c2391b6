"""Validity harness: coverage, size, power and width of every inference procedure, simulated.

Each question a reviewer asks (``docs/statistics.md``) has candidate procedures; this
script simulates them on audits of known truth and prints, with Monte Carlo standard
errors, how often each interval covers the truth, how often a test rejects a true
null (size) or a planted effect (power), and how wide the intervals are. The
procedures of :mod:`fairaudit.claims` were chosen from this table.

Shapes (rows per group):

- ``race (FF val)`` and ``age (FF val)``: the cell sizes of the shipped FairFace-val
  audit (5,000 rows; age has groups of 52 and 89 rows);
- ``7 x 300``: seven groups of 300 rows;
- ``FF val cells``: the 126 gender x age x race cells of that audit, for the slices;
- ``FF val 400``: 400 rows drawn from those cells, as a small audit.

Usage::

    python benchmarks/bench_validity.py                  # 1,000 draws per scenario
    python benchmarks/bench_validity.py --draws 200      # quicker
    python benchmarks/bench_validity.py --markdown FILE  # also write the table

The tests (``tests/claims/test_validity.py``) run a small seeded version of the same
functions.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as _stats

from fairaudit.claims import GapInference, fdr_select, slice_claims
from fairaudit.claims._calibration import calibration_claims
from fairaudit.claims._levels import critical_z
from fairaudit.functional import newcombe_bounds, wilson_interval
from fairaudit.functional._calibration import calibration_counts, confidence_bins
from fairaudit.functional._intervals import exact_difference_bounds, exact_interval
from fairaudit.model_audit import AuditResult

DEMO_AUDIT = (
    Path(__file__).resolve().parents[1] / "fairaudit/data/demo/audit-fairface-mobilenet_v2-112.json"
)
ALPHA = 0.05


def fairface_cells() -> tuple[np.ndarray, list[str]]:
    """Rows per gender x age x race cell of the shipped FairFace-val audit, and the axes."""
    audit = AuditResult.load(DEMO_AUDIT)
    n = audit.counts["gender"].sum(axis=(1, 2)).reshape(audit.shape)
    return n, list(audit.attributes)


def group_sizes(shape: str) -> np.ndarray:
    """Rows per group of a named shape."""
    cells, names = fairface_cells()
    if shape == "race (FF val)":
        return cells.sum(axis=tuple(i for i, a in enumerate(names) if a != "race"))
    if shape == "age (FF val)":
        return cells.sum(axis=tuple(i for i, a in enumerate(names) if a != "age"))
    if shape == "7 x 300":
        return np.full(7, 300)
    raise ValueError(shape)


@dataclass
class Tally:
    """Monte Carlo proportion with its standard error."""

    hits: int = 0
    total: int = 0

    def add(self, flags: np.ndarray | bool) -> None:
        flags = np.atleast_1d(flags)
        self.hits += int(np.sum(flags))
        self.total += int(flags.size)

    def text(self) -> str:
        if not self.total:
            return ""
        p = self.hits / self.total
        return f"{p:.3f} ± {np.sqrt(max(p * (1 - p), 1e-12) / self.total):.3f}"


# -- a group's rate --------------------------------------------------------------------


def rate_rows(draws: int, rng: np.random.Generator) -> list[dict]:
    """Wilson against the percentile bootstrap for one small cell at a high rate."""
    rows = []
    for n, p in ((5, 0.9), (10, 0.9), (20, 0.9), (30, 0.9), (30, 0.97), (100, 0.9), (100, 0.99)):
        hits = rng.binomial(n, p, size=draws)
        low, high = wilson_interval(hits, n, confidence=1 - ALPHA)
        wilson = Tally()
        wilson.add((low <= p) & (p <= high))
        e_low, e_high = exact_interval(hits, n, confidence=1 - ALPHA)
        exact = Tally()
        exact.add((e_low <= p) & (p <= e_high))
        boot = rng.binomial(n, (hits / n)[:, None], size=(draws, 400)) / n
        b_low, b_high = np.quantile(boot, [ALPHA / 2, 1 - ALPHA / 2], axis=1)
        percentile = Tally()
        percentile.add((b_low <= p) & (p <= b_high))
        for name, tally, width in (
            ("Wilson", wilson, np.mean(high - low)),
            ("exact (Clopper-Pearson)", exact, np.mean(e_high - e_low)),
            ("percentile bootstrap", percentile, np.mean(b_high - b_low)),
        ):
            rows.append(
                {
                    "question": "group rate",
                    "procedure": name,
                    "scenario": f"n={n}, rate {p}",
                    "coverage": tally.text(),
                    "width": f"{width:.3f}",
                }
            )
    return rows


# -- a gap across groups ---------------------------------------------------------------


def _accuracy_counts(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Confusion counts (G, 2, 2) whose accuracy per group is hits / n (one class each)."""
    cm = np.zeros((n.size, 2, 2), dtype=np.int64)
    cm[:, 1, 1] = hits
    cm[:, 1, 0] = n - hits
    return cm


def _wilson_bonferroni(hits: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """The former gap interval: each group's Wilson at alpha / G, combined."""
    g = n.size
    low, high = wilson_interval(hits, n, confidence=1 - ALPHA / g)
    return max(0.0, low.max() - high.min()), high.max() - low.min()


def _max_t(hits: np.ndarray, n: np.ndarray, rng: np.random.Generator, b: int = 500):
    """Studentized max-t bootstrap over pairwise contrasts (Cherian & Candes style).

    Each group is resampled on its own (binomial, rows per group fixed); the
    contrast ``d_ij`` is studentized by its standard error with one pseudo-row of
    each outcome (so a group at 0 or 1 keeps a positive error), and the critical
    value is the ``1 - alpha`` quantile of the largest ``|T*_ij|``.
    """
    i, j = np.triu_indices(n.size, 1)
    rate = hits / n

    def se(h: np.ndarray) -> np.ndarray:
        smooth = (h + 1) / (n + 2)
        v = smooth * (1 - smooth) / (n + 2)
        return np.sqrt(v[..., i] + v[..., j])

    boot = rng.binomial(n, rate, size=(b, n.size))
    d = rate[i] - rate[j]
    d_star = boot[:, i] / n[i] - boot[:, j] / n[j]
    t_max = np.abs((d_star - d) / se(boot)).max(axis=1)
    c = np.quantile(t_max, 1 - ALPHA)
    s = se(hits)
    low, high = d - c * s, d + c * s
    return max(0.0, np.maximum(low, -high).max()), np.maximum(high, -low).max()


def _pairwise(hits: np.ndarray, n: np.ndarray, limits: str) -> tuple[float, float]:
    claim = GapInference(_accuracy_counts(hits, n), "accuracy_difference", limits=limits)
    return claim.interval(ALPHA)


def _pairs_only(hits: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Bonferroni over the pairwise Newcombe intervals alone (no group-vs-rest contrast)."""
    i, j = np.triu_indices(n.size, 1)
    z = critical_z(ALPHA, m=i.size)
    low, high = newcombe_bounds(hits[i], n[i], hits[j], n[j], z)
    return max(0.0, np.maximum(low, -high).max()), np.maximum(high, -low).max()


GAP_PROCEDURES = {
    "Wilson per group, Bonferroni (former)": lambda h, n, rng: _wilson_bonferroni(h, n),
    "Newcombe pairs and group vs rest, Bonferroni (chosen)": lambda h, n, rng: _pairwise(
        h, n, "wilson"
    ),
    "exact square-and-add pairs and group vs rest, Bonferroni": lambda h, n, rng: _pairwise(
        h, n, "exact"
    ),
    "Newcombe pairs only, Bonferroni (the issue's reference)": lambda h, n, rng: _pairs_only(h, n),
    "max-t studentized bootstrap": _max_t,
}


def gap_rows(draws: int, rng: np.random.Generator) -> list[dict]:
    """Coverage at null and planted gaps, power, width, and the gap needed for 80% power."""
    rows = []
    for shape in ("race (FF val)", "age (FF val)", "7 x 300"):
        n = group_sizes(shape)
        lowest = int(np.argmin(n)) if shape != "race (FF val)" else 1  # Black
        for name, procedure in GAP_PROCEDURES.items():
            powers = {}
            for base, delta in ((0.97, 0.0), (0.9, 0.0), (0.9, 0.05), (0.9, 0.10), (0.9, 0.15)):
                rate = np.full(n.size, base)
                rate[lowest] -= delta
                coverage, power, widths = Tally(), Tally(), []
                for _ in range(draws):
                    hits = rng.binomial(n, rate)
                    low, high = procedure(hits, n, rng)
                    coverage.add(low - 1e-12 <= delta <= high + 1e-12)
                    power.add(low > 0)
                    widths.append(high - low)
                if base == 0.9:
                    powers[delta] = power.hits / max(power.total, 1)
                rows.append(
                    {
                        "question": "gap across groups",
                        "procedure": name,
                        "scenario": f"{shape}, rates {base}, true gap {delta:.2f}",
                        "coverage": coverage.text(),
                        "size" if delta == 0 else "power": power.text(),
                        "width": f"{np.mean(widths):.3f}",
                    }
                )
            rows[-1]["gap for 80% power"] = _interpolate(powers)
    return rows


def _interpolate(powers: dict[float, float]) -> str:
    """The effect at which the power curve crosses 0.8 (linear between grid points)."""
    deltas = sorted(powers)
    for a, b in zip(deltas, deltas[1:], strict=False):
        if powers[a] < 0.8 <= powers[b]:
            return f"{a + (b - a) * (0.8 - powers[a]) / (powers[b] - powers[a]):.3f}"
    return "> 0.15" if powers[deltas[-1]] < 0.8 else f"<= {deltas[0]:.2f}"


# -- a slice against the rest ----------------------------------------------------------


def _slices(cells: np.ndarray, max_order: int = 2) -> list[np.ndarray]:
    """Boolean masks over the cells of every slice of up to ``max_order`` attributes."""
    from itertools import combinations, product

    masks = []
    axes = range(cells.ndim)
    for order in range(1, max_order + 1):
        for by in combinations(axes, order):
            for values in product(*(range(cells.shape[a]) for a in by)):
                mask = np.ones(cells.shape, dtype=bool)
                for a, v in zip(by, values, strict=True):
                    index = [slice(None)] * cells.ndim
                    index[a] = np.arange(cells.shape[a]) != v
                    mask[tuple(index)] = False
                masks.append(mask.ravel())
    return masks


def _slice_p_values(procedure: str, hits, n, rest_hits, rest_n) -> np.ndarray:
    if procedure == "pooled z (former)":
        pooled = (hits + rest_hits) / (n + rest_n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(se > 0, (hits / n - rest_hits / rest_n) / se, 0.0)
        return np.where(se > 0, _stats.norm.cdf(z), 1.0)
    if procedure == "Fisher exact":
        total, total_hits = n + rest_n, hits + rest_hits
        return _stats.hypergeom.cdf(hits, total, total_hits, n)
    limits = "wilson" if procedure.startswith("Newcombe") else "exact"
    return slice_claims(hits, n, rest_hits, rest_n, fdr=ALPHA, limits=limits)["p_value"]


SLICE_PROCEDURES = (
    "pooled z (former)",
    "Fisher exact",
    "Newcombe (Wilson) inversion",
    "exact square-and-add inversion (chosen)",
)


def slice_rows(draws: int, rng: np.random.Generator, min_support: int = 30) -> list[dict]:
    """Any-discovery rate on null audits and power for a planted slice, BH at 5%."""
    cells, names = fairface_cells()
    flat = cells.ravel()
    masks = np.array(_slices(cells))  # (S, cells)
    race = names.index("race")
    black = np.zeros(cells.shape, dtype=bool)
    index = [slice(None)] * cells.ndim
    index[race] = 1
    black[tuple(index)] = True
    black = black.ravel()
    rows = []
    for scenario, size, rate_rest, rate_black in (
        ("FF val cells, null, accuracy 0.90", None, 0.90, 0.90),
        ("FF val cells, null, accuracy 0.97", None, 0.97, 0.97),
        ("FF val 400, null, accuracy 0.93", 400, 0.93, 0.93),
        ("FF val 400, Black 0.75, rest 0.97", 400, 0.97, 0.75),
    ):
        tallies = {p: (Tally(), Tally()) for p in SLICE_PROCEDURES}
        for _ in range(draws):
            n_cells = flat if size is None else rng.multinomial(size, flat / flat.sum())
            rate = np.where(black, rate_black, rate_rest)
            hits_cells = rng.binomial(n_cells, rate)
            n = masks @ n_cells
            hits = masks @ hits_cells
            rest_n, rest_hits = n_cells.sum() - n, hits_cells.sum() - hits
            tested = (n >= min_support) & (rest_n >= min_support)
            target = (masks == black).all(axis=1)[tested]
            for procedure in SLICE_PROCEDURES:
                p = _slice_p_values(
                    procedure, hits[tested], n[tested], rest_hits[tested], rest_n[tested]
                )
                _, found, _ = fdr_select(p, ALPHA)
                any_found, found_target = tallies[procedure]
                any_found.add(bool(found.any()))
                found_target.add(bool(found[target].any()) if target.any() else False)
        for procedure, (any_found, found_target) in tallies.items():
            row = {
                "question": "slice vs rest",
                "procedure": procedure,
                "scenario": scenario,
            }
            if rate_black == rate_rest:
                row["size"] = any_found.text() + " (any discovery)"
            else:
                row["power"] = found_target.text() + " (race=Black found)"
            rows.append(row)
    return rows


# -- a change between versions ---------------------------------------------------------


def change_rows(draws: int, rng: np.random.Generator) -> list[dict]:
    """Coverage of the change of a gap that leaves a tie, and of an unchanged gap."""
    from fairaudit.claims._changes import gap_change_interval, gap_change_p_value

    n = group_sizes("7 x 300")
    rows = []
    for scenario, rate_a, rate_b in (
        ("7 x 300, gap 0 -> 0.15", np.full(7, 0.9), np.r_[0.75, np.full(6, 0.9)]),
        ("7 x 300, gap 0.10 -> 0.10", np.r_[0.8, np.full(6, 0.9)], np.r_[0.8, np.full(6, 0.9)]),
        ("7 x 300, gap 0 -> 0.30", np.full(7, 0.9), np.r_[0.60, np.full(6, 0.9)]),
    ):
        truth = (rate_b.max() - rate_b.min()) - (rate_a.max() - rate_a.min())
        coverage, rejected, widths = Tally(), Tally(), []
        for _ in range(draws):
            a = GapInference(_accuracy_counts(rng.binomial(n, rate_a), n), "accuracy_difference")
            b = GapInference(_accuracy_counts(rng.binomial(n, rate_b), n), "accuracy_difference")
            low, high = gap_change_interval(a, b, ALPHA)
            p = gap_change_p_value(a, b)
            coverage.add(low - 1e-12 <= truth <= high + 1e-12)
            rejected.add(p < ALPHA)
            widths.append(high - low)
        rows.append(
            {
                "question": "change of a gap",
                "procedure": "projection of both gap intervals at alpha / 2 (chosen)",
                "scenario": scenario,
                "coverage": coverage.text(),
                "size" if truth == 0 else "power": rejected.text(),
                "width": f"{np.mean(widths):.3f}",
            }
        )
    # a group's rate between versions, independent rows: Newcombe
    for n_rows, pa, pb in ((30, 0.9, 0.9), (30, 0.9, 0.7), (300, 0.9, 0.85)):
        xa, xb = rng.binomial(n_rows, pa, draws), rng.binomial(n_rows, pb, draws)
        z = critical_z(ALPHA)
        low, high = exact_difference_bounds(xb, n_rows, xa, n_rows, z)
        coverage, rejected = Tally(), Tally()
        coverage.add((low <= pb - pa + 1e-12) & (pb - pa - 1e-12 <= high))
        rejected.add((low > 0) | (high < 0))
        rows.append(
            {
                "question": "change of a rate",
                "procedure": "exact square-and-add (unpaired, chosen)",
                "scenario": f"n={n_rows}, {pa} -> {pb}",
                "coverage": coverage.text(),
                "size" if pa == pb else "power": rejected.text(),
                "width": f"{np.mean(high - low):.3f}",
            }
        )
    return rows


# -- a group's calibration -------------------------------------------------------------


def calibration_draws(rng: np.random.Generator, rows: int, shift: float, draws: int):
    """Verdicts and ECE coverage over ``draws`` simulated groups (docs/statistics.md).

    Confidences ``0.5 + 0.5 Beta(4, 1)``; each row right with probability its
    confidence minus ``shift``; 15 bins. The true ECE is that of the rows' own
    probabilities of being right, bin by bin.
    """
    found = covered = 0
    for _ in range(draws):
        conf = 0.5 + 0.5 * rng.beta(4, 1, size=rows)
        p = np.clip(conf - shift, 0, 1)
        right = rng.random(rows) < p
        proba = np.stack([conf, 1 - conf], axis=1)
        stats = calibration_counts(
            np.zeros(rows, int),
            (~right).astype(int),
            np.zeros(rows, int),
            proba,
            n_cells=1,
            n_bins=15,
        )
        bins = confidence_bins(conf, 15)
        true_ece = np.abs(np.bincount(bins, p, 15) - np.bincount(bins, conf, 15)).sum() / rows
        out = calibration_claims(stats, min_support=30)
        found += out["verdict"][0] == "miscalibrated"
        covered += out["ece_lower"][0] - 1e-12 <= true_ece <= out["ece_upper"][0] + 1e-12
    return found / draws, covered / draws


def calibration_rows(draws: int, rng: np.random.Generator) -> list[dict]:
    """The calibration verdict's size, power and the coverage of its ECE interval."""
    rows = []
    for n_rows in (300, 1000, 5000):
        for shift in (0.0, 0.02, 0.05, 0.10):
            found, covered = (
                Tally(round(share * draws), draws)
                for share in calibration_draws(rng, n_rows, shift, draws)
            )
            rows.append(
                {
                    "question": "calibration of a group",
                    "procedure": "exact per bin, Bonferroni over bins (chosen)",
                    "scenario": f"n={n_rows}, {shift:.2f} over-confident",
                    "coverage": covered.text(),
                    "size" if shift == 0 else "power": found.text(),
                }
            )
    return rows


COLUMNS = [
    "question",
    "procedure",
    "scenario",
    "coverage",
    "size",
    "power",
    "width",
    "gap for 80% power",
]


def markdown(table: pd.DataFrame) -> str:
    """The table as GitHub Markdown (no extra dependency)."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.to_numpy()]
    return "\n".join(lines) + "\n"


def run(draws: int, seed: int = 0) -> pd.DataFrame:
    """Every simulation, as one table."""
    rng = np.random.default_rng(seed)
    rows = rate_rows(draws, rng) + gap_rows(draws, rng) + slice_rows(draws, rng)
    rows += change_rows(draws, rng) + calibration_rows(draws, rng)
    return pd.DataFrame(rows).reindex(columns=COLUMNS).fillna("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    args = parser.parse_args()
    start = time.perf_counter()
    table = run(args.draws, args.seed)
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    print(
        f"\n{args.draws} draws per scenario, seed {args.seed}, {time.perf_counter() - start:.0f} s"
    )
    if args.markdown:
        args.markdown.write_text(markdown(table))


if __name__ == "__main__":
    main()
