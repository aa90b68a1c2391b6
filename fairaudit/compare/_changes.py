"""Comparing model versions audited on the same data: every metric and gap, changed how much.

:func:`compare_audits` takes two or more :class:`~fairaudit.model_audit.AuditResult`
objects (or saved audit files) of versions of a model on the same labelled rows,
and measures, for every task, metric and slice, the change of each candidate from
the first audit (the baseline), with an interval and a test:

- **unpaired** (the default): each audit is bootstrapped on its own (multinomial
  resampling of its count tensor, as :func:`fairaudit.model_audit.bootstrap_audit`
  does, from independent streams of one seed); the interval of the change is the
  percentile interval of the difference of the replicates, and the p-value a
  Wald test with the bootstrap standard error of that difference;
- **paired** (given :class:`PairedCounts` of the two versions on the same rows):
  accuracy, error rate and per-class recall changes use the paired 2x2 tables:
  Newcombe's square-and-add interval and McNemar's exact test. Other metrics and
  the gaps stay unpaired (the pairs hold correctness, not the predicted classes).

Within each family (candidate, task, metric, grouping: one table of the report)
p-values are Holm-adjusted; a change is *significant* when the adjusted p-value is
below ``1 - confidence``, its interval excludes 0 and it rests on at least
``min_support`` rows (``n``: for a gap, the rows of its smallest group).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit.claims import GapInference, fdr_select, paired_rate_change, rate_change
from fairaudit.claims._changes import (
    CHANGE_METHODS,
    bootstrap_change,
    gap_change_interval,
    gap_change_p_value,
)
from fairaudit.compare._constants import CHANGE_COLUMNS, DEFAULT_METRICS
from fairaudit.compare._inputs import (
    check_compatible,
    check_metrics,
    load_audits,
    match_paired,
    resolve_groupings,
)
from fairaudit.compare._paired import PairedCounts
from fairaudit.compare._result import Comparison
from fairaudit.compare._statistics import Block, TaskStatistics, bootstrap_statistics, paired_values
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import METRICS
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT

__all__ = ["compare_audits"]


def compare_audits(
    audits: Sequence[AuditResult | str | os.PathLike[str]],
    *,
    names: Sequence[str] | None = None,
    paired: PairedCounts | Sequence[PairedCounts] | None = None,
    tasks: Sequence[str] | None = None,
    by: str | Sequence[str | Sequence[str]] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    random_state: int | None = 0,
    min_support: int = DEFAULT_MIN_SUPPORT,
    batch_size: int = 250,
    progress: bool = True,
) -> Comparison:
    """Compare model versions audited on the same data, metric by metric and slice by slice.

    Parameters
    ----------
    audits : sequence of AuditResult or path
        Two or more audits (or saved audit files); the first is the baseline, every
        other one a candidate compared with it.
    names : sequence of str, optional
        Version names (default: each audit's ``metadata["model"]`` (or
        ``metadata["name"]``) when a non-empty string, else the file name without
        suffix, else ``v1``, ``v2``, ...; files of the same model keep their file
        names).
    paired : PairedCounts or sequence of PairedCounts, optional
        Pairs of the baseline and a candidate on the same rows
        (:func:`~fairaudit.compare.paired_counts`); each is checked against the two
        audits and matched to its candidate. Accuracy, error-rate and recall
        changes of that candidate then use paired statistics.
    tasks : sequence of str, optional
        Tasks to compare (default: all; the audits must then have the same tasks).
    by : str or sequence, optional
        Groupings: an attribute, a tuple of attributes, ``"overall"`` or ``()``.
        Default: overall, each attribute, and each pair of attributes.
    metrics : sequence of str, default=DEFAULT_METRICS
        Per-slice metrics (:data:`SLICE_METRICS`), per-class scores
        (:data:`CLASS_METRICS`) and gaps (:data:`GAP_METRICS`).
    confidence : float, default=0.95
        Coverage of the intervals; ``1 - confidence`` is the significance level.
    n_resamples : int, default=1000
        Bootstrap replicates of each audit.
    random_state : int, optional
        Seed; each audit draws from its own stream spawned from it
        (``numpy.random.SeedSequence(random_state).spawn``), so the same seed gives
        the same comparison.
    min_support : int, default=30
        Slices with fewer rows are marked ``"small"`` and never flagged significant.
    batch_size : int, default=250
        Replicates drawn at once.
    progress : bool, default=True
        Show a tqdm progress bar.

    Returns
    -------
    Comparison

    Raises
    ------
    DataValidationError
        Fewer than two audits; audits with other tasks, classes or attributes, or
        made on other data (other rows per cell and true class); paired counts that
        match no (baseline, candidate) pair; unknown metrics or attributes.
    """
    if not 0 < confidence < 1:
        raise DataValidationError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 2:
        raise DataValidationError(f"n_resamples must be at least 2, got {n_resamples}")
    loaded, names = load_audits(audits, names)
    task_names = check_compatible(loaded, names, tasks)
    metric_names = check_metrics(metrics)
    groupings = resolve_groupings(by, list(loaded[0].attributes))
    pairs = match_paired(paired, loaded, names, task_names)
    seeds = np.random.SeedSequence(random_state).spawn(len(loaded))
    rngs = [np.random.default_rng(s) for s in seeds]
    frames = []
    total = n_resamples * len(loaded) * len(task_names)
    with tqdm(total=total, desc="compare", unit="replicate", disable=not progress) as bar:
        for task in task_names:
            stats = TaskStatistics(
                loaded[0], task, groupings, metric_names, min_support=min_support
            )
            description = stats.describe()
            # only the statistics whose change is judged by the bootstrap: rates and
            # gaps have their own intervals (exact, paired, projected), from counts
            resampled = [
                b for b in stats.blocks if b.kind != "gap" and b.metric not in RATE_STATISTICS
            ]
            columns = _block_columns(stats, resampled)
            points = [stats.values(a.counts[task][None])[0] for a in loaded]
            supports = [stats.supports(a.counts[task]) for a in loaded]
            # each audit draws from its own stream: running them side by side (numpy's
            # reductions release the GIL) gives the same replicates as one after another
            with ThreadPoolExecutor(max_workers=min(len(loaded), os.cpu_count() or 1)) as pool:
                futures = [
                    pool.submit(
                        bootstrap_statistics,
                        stats,
                        audit.counts[task],
                        n_resamples,
                        rng,
                        batch_size,
                        bar,
                        resampled,
                    )
                    for audit, rng in zip(loaded, rngs, strict=True)
                ]
                replicates = [future.result() for future in futures]
            for j in range(1, len(loaded)):
                frame = description.copy()
                frame["baseline"], frame["candidate"], frame["task"] = names[0], names[j], task
                frame["n"] = np.minimum(supports[0], supports[j])
                frame["value_a"], frame["value_b"] = points[0], points[j]
                frame["change"] = points[j] - points[0]
                pairs_j = pairs[j] if j in pairs and task in pairs[j].tasks else None
                _infer(
                    frame,
                    stats=stats,
                    audits=(loaded[0], loaded[j]),
                    supports=(supports[0], supports[j]),
                    differences=_spread(replicates[j] - replicates[0], columns, len(frame)),
                    pairs=pairs_j,
                    confidence=confidence,
                    min_support=min_support,
                )
                frames.append(frame)
    changes = pd.concat(frames, ignore_index=True)
    changes = changes[~(changes["value_a"].isna() & changes["value_b"].isna())]
    changes = changes.reset_index(drop=True)
    _finish(changes)
    settings = {
        "confidence": confidence,
        "n_resamples": n_resamples,
        "random_state": random_state,
        "min_support": min_support,
        "tasks": task_names,
        "by": [" x ".join(g) if g else "overall" for g in groupings],
        "metrics": metric_names,
    }
    return Comparison(
        changes=changes[CHANGE_COLUMNS],
        names=names,
        audits=loaded,
        paired={names[j]: p for j, p in pairs.items()},
        settings=settings,
    )


#: Compared statistics that are proportions (hits over a denominator of rows).
RATE_STATISTICS = frozenset(
    {"accuracy", "error_rate", "recall_weighted", "recall", "precision", "fpr", "selection_rate"}
)


def _infer(
    frame: pd.DataFrame,
    *,
    stats: TaskStatistics,
    audits: tuple[AuditResult, AuditResult],
    supports: tuple[np.ndarray, np.ndarray],
    differences: np.ndarray,
    pairs: PairedCounts | None,
    confidence: float,
    min_support: int,
) -> None:
    """Every change's claim (in place): interval, p-value, adjusted p, verdict.

    One procedure per kind of statistic (:mod:`fairaudit.claims`): a proportion,
    the exact square-and-add interval of two independent rates or, for paired rows,
    Newcombe's paired interval; a gap, the projection of both versions' gap
    intervals; any other metric, the percentile bootstrap of the difference. The
    family is the candidate's task: Benjamini-Hochberg over the rows with at least
    ``min_support`` rows, every interval at the matching false-coverage level.
    """
    size = len(frame)
    n = frame["n"].to_numpy()
    status = np.where(n == 0, "empty", np.where(n < min_support, "small", "ok"))
    frame["status"] = status
    kind = frame["kind"].to_numpy()
    metric = frame["metric"].to_numpy()
    p = np.full(size, np.nan)
    tests = np.full(size, "", dtype=object)
    bound_fns: list[tuple[np.ndarray, Any]] = []
    paired = np.zeros(size, dtype=bool)
    # paired proportions first: the rows of the blocks the pairs cover
    if pairs is not None:
        tables = paired_values(pairs, stats, confidence)
        start = 0
        for block in stats.blocks:
            width = _block_size(block, stats)
            if block in tables:
                index = np.arange(start, start + width)
                table = tables[block]
                cells = [table[c].to_numpy(dtype=np.float64) for c in _PAIR_CELLS]
                if block.metric == "error_rate":  # the change of the error rate is minus
                    cells = [cells[0], cells[2], cells[1], cells[3]]
                p_block, bounds = paired_rate_change(*cells)
                p[index] = p_block
                tests[index] = "paired"
                paired[index] = True
                bound_fns.append((index, bounds))
            start += width
    rate_rows = np.flatnonzero(np.isin(metric, list(RATE_STATISTICS)) & (kind != "gap") & ~paired)
    if rate_rows.size:
        den_a, den_b = supports[0][rate_rows], supports[1][rate_rows]
        hits_a = np.rint(np.nan_to_num(frame["value_a"].to_numpy()[rate_rows]) * den_a)
        hits_b = np.rint(np.nan_to_num(frame["value_b"].to_numpy()[rate_rows]) * den_b)
        p_rate, bounds = rate_change(hits_a, den_a, hits_b, den_b)
        p[rate_rows] = p_rate
        tests[rate_rows] = "rate"
        bound_fns.append((rate_rows, bounds))
    for i in np.flatnonzero(kind == "gap"):
        by_t = _by_tuple(frame["by"].iloc[i])
        gaps = [
            GapInference(
                a.grouped_counts(stats.task, by=by_t).reshape(
                    -1, len(stats.vocab), len(stats.vocab)
                ),
                metric[i],
                min_support=min_support,
            )
            for a in audits
        ]
        p[i] = gap_change_p_value(*gaps)
        tests[i] = "gap"

        def gap_bounds(alpha: float, gaps: list = gaps) -> tuple[np.ndarray, np.ndarray]:
            low, high = gap_change_interval(gaps[0], gaps[1], float(alpha))
            return np.array([low]), np.array([high])

        bound_fns.append((np.array([i]), gap_bounds))
    other = np.flatnonzero(tests == "")
    if other.size:
        p_boot, bounds = bootstrap_change(differences[:, other], frame["change"].to_numpy()[other])
        p[other] = p_boot
        tests[other] = "bootstrap"
        bound_fns.append((other, bounds))
    tested = status == "ok"
    q, discovered, alpha = fdr_select(np.where(tested, p, np.nan), 1 - confidence)
    low = np.full(size, np.nan)
    high = np.full(size, np.nan)
    for index, bounds in bound_fns:
        lo, hi = bounds(alpha)
        low[index], high[index] = lo, hi
    low = np.where(tested, low, np.nan)
    high = np.where(tested, high, np.nan)
    frame["ci_low"], frame["ci_high"] = low, high
    frame["level"] = 1 - alpha
    frame["p_value"] = np.where(tested, p, np.nan)
    frame["p_adjusted"] = q
    frame["test"] = tests
    frame["method"] = [CHANGE_METHODS[t] for t in tests]
    frame["paired"] = paired
    frame["significant"] = discovered & ((low > 0) | (high < 0))


#: Columns of a paired table, in the order :func:`fairaudit.claims.paired_rate_change` takes.
_PAIR_CELLS = ("both", "a_only", "b_only", "neither")


def _by_tuple(by: str) -> tuple[str, ...]:
    return () if by == "overall" else tuple(by.split(" x "))


def _block_size(block: Block, stats: TaskStatistics) -> int:
    if block.kind == "gap":
        return 1
    groups = int(np.prod([len(stats.attributes[b]) for b in block.by])) if block.by else 1
    return groups * (len(stats.vocab) if block.kind == "class" else 1)


def _block_columns(stats: TaskStatistics, blocks: list[Block]) -> np.ndarray:
    """The columns of :meth:`TaskStatistics.values` that ``blocks`` fill, in block order."""
    starts = np.cumsum([0] + [_block_size(b, stats) for b in stats.blocks])
    wanted = set(blocks)
    return np.concatenate(
        [np.arange(starts[i], starts[i + 1]) for i, b in enumerate(stats.blocks) if b in wanted]
        or [np.zeros(0, dtype=np.int64)]
    )


def _spread(values: np.ndarray, columns: np.ndarray, width: int) -> np.ndarray:
    """``values`` of some columns in an array of ``width`` columns (NaN elsewhere)."""
    out = np.full((values.shape[0], width), np.nan)
    out[:, columns] = values
    return out


def _finish(changes: pd.DataFrame) -> None:
    """Direction of each significant change (in place)."""
    higher = changes["metric"].map({m: spec.higher_is_better for m, spec in METRICS.items()})
    changes["higher_is_better"] = higher
    change = changes["change"].to_numpy(dtype=np.float64)
    direction = np.full(len(changes), "no clear change", dtype=object)
    sig = changes["significant"].to_numpy()
    for i in np.flatnonzero(sig):
        better = higher.iloc[i]
        if better is None:
            direction[i] = "changed"
        else:
            direction[i] = "improved" if (change[i] > 0) == better else "regressed"
    changes["direction"] = direction
    changes["paired"] = changes["paired"].astype(bool)
