"""Comparing model versions audited on the same data: every metric and gap, changed how much.

:func:`compare_audits` takes two or more :class:`~fairaudit.metrics.AuditResult`
objects (or saved audit files) of versions of a model on the same labelled rows,
and measures, for every task, metric and slice, the change of each candidate from
the first audit (the baseline), with an interval and a test:

- **unpaired** (the default): each audit is bootstrapped on its own (multinomial
  resampling of its count tensor, as :func:`fairaudit.metrics.bootstrap_audit`
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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit.compare._comparison import Comparison
from fairaudit.compare._constants import CHANGE_COLUMNS, DEFAULT_METRICS
from fairaudit.compare._inputs import (
    check_compatible,
    check_metrics,
    load_audits,
    match_paired,
    resolve_groupings,
)
from fairaudit.compare._statistics import Block, TaskStatistics, bootstrap_statistics, paired_values
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import (
    METRICS,
    holm,
    normal_sf,
    percentile_interval,
)
from fairaudit.metrics import DEFAULT_MIN_SUPPORT, AuditResult, PairedCounts

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
        Version names (default: the file names without suffix, the audit's
        ``metadata["model"]``, or ``v1``, ``v2``, ...).
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
    alpha = 1 - confidence
    seeds = np.random.SeedSequence(random_state).spawn(len(loaded))
    rngs = [np.random.default_rng(s) for s in seeds]
    frames = []
    total = n_resamples * len(loaded) * len(task_names)
    with tqdm(total=total, desc="compare", unit="replicate", disable=not progress) as bar:
        for task in task_names:
            stats = TaskStatistics(loaded[0], task, groupings, metric_names)
            description = stats.describe()
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
                low, high, std, _ = percentile_interval(replicates[j] - replicates[0], alpha / 2)
                frame["ci_low"], frame["ci_high"] = low, high
                with np.errstate(invalid="ignore", divide="ignore"):
                    z = np.abs(frame["change"].to_numpy()) / std
                frame["p_value"] = np.where(np.isfinite(z) & (std > 0), 2 * normal_sf(z), np.nan)
                frame["test"] = "bootstrap"
                frame["paired"] = False
                if j in pairs and task in pairs[j].tasks:
                    _apply_pairs(frame, paired_values(pairs[j], stats, confidence), stats)
                frames.append(frame)
    changes = pd.concat(frames, ignore_index=True)
    changes = changes[~(changes["value_a"].isna() & changes["value_b"].isna())]
    changes = changes.reset_index(drop=True)
    _finish(changes, alpha=alpha, min_support=min_support)
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


def _apply_pairs(
    frame: pd.DataFrame, tables: Mapping[Block, pd.DataFrame], stats: TaskStatistics
) -> None:
    """Replace the bootstrap interval and test of paired blocks by the paired ones."""
    start = 0
    for block in stats.blocks:
        size = _block_size(block, stats)
        if block in tables:
            table = tables[block]
            index = frame.index[start : start + size]
            values_a = table["accuracy_a"].to_numpy()
            values_b = table["accuracy_b"].to_numpy()
            # the pairs were checked against both audits: the values agree exactly
            if not (
                np.allclose(values_a, frame.loc[index, "value_a"], equal_nan=True, atol=1e-12)
                and np.allclose(values_b, frame.loc[index, "value_b"], equal_nan=True, atol=1e-12)
            ):
                raise AssertionError(f"paired values disagree with the audits for {block}")
            frame.loc[index, "ci_low"] = table["ci_low"].to_numpy()
            frame.loc[index, "ci_high"] = table["ci_high"].to_numpy()
            frame.loc[index, "p_value"] = table["p_value"].to_numpy()
            frame.loc[index, "test"] = "mcnemar"
            frame.loc[index, "paired"] = True
        start += size


def _block_size(block: Block, stats: TaskStatistics) -> int:
    if block.kind == "gap":
        return 1
    groups = int(np.prod([len(stats.attributes[b]) for b in block.by])) if block.by else 1
    return groups * (len(stats.vocab) if block.kind == "class" else 1)


def _finish(changes: pd.DataFrame, *, alpha: float, min_support: int) -> None:
    """Status, Holm-adjusted p-values per family, significance and direction (in place)."""
    n = changes["n"].to_numpy()
    changes["status"] = np.where(n == 0, "empty", np.where(n < min_support, "small", "ok"))
    p_holm = np.full(len(changes), np.nan)
    p = changes["p_value"].to_numpy(dtype=np.float64)
    families = changes.groupby(["candidate", "task", "metric", "by"], sort=False).indices
    for index in families.values():
        sub = p[index]
        defined = ~np.isnan(sub)
        adjusted = np.full(sub.shape, np.nan)
        adjusted[defined] = holm(sub[defined])
        p_holm[index] = adjusted
    changes["p_holm"] = p_holm
    low = changes["ci_low"].to_numpy(dtype=np.float64)
    high = changes["ci_high"].to_numpy(dtype=np.float64)
    excludes_zero = (low > 0) | (high < 0)
    changes["significant"] = (
        (np.nan_to_num(p_holm, nan=1.0) < alpha) & excludes_zero & (changes["status"] == "ok")
    )
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
