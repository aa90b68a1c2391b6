"""Honest uncertainty from counts: multinomial bootstrap and significance of gaps.

Bootstrap. Resampling ``N`` rows with replacement and counting them is the same
as drawing the flattened count tensor from ``Multinomial(N, counts / N)``, so a
replicate costs one multinomial draw over the (non-zero) cells of the tensor,
whatever the number of rows. Replicates are drawn in batches and every metric is
computed with array operations over the leading replicate axis, by the very
functions that give the point estimates. Each task is resampled on its own
(every metric involves one task), which gives each task's metrics exactly the
distribution of a row bootstrap. Intervals are percentile intervals.

Significance. For each rate behind a gap (accuracy; per class selection rate, TPR,
FPR) an omnibus chi-square test of homogeneity across the groups
(``scipy.stats.chi2_contingency`` on groups x [hits, misses]) and a pooled
two-proportion z-test between the lowest and highest group (or between every
pair), with Holm's step-down correction over all tests of the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit.exceptions import DataValidationError
from fairaudit.functional import (
    FAIRNESS_METRICS,
    GAP_METRICS,
    SLICE_METRICS,
    chi2_homogeneity,
    fairness_arrays,
    gap_intervals,
    group_sum,
    group_sums,
    holm,
    multinomial_replicates,
    normalize_by,
    percentile_interval,
    slice_metric_values,
    two_proportion_z_test,
)

if TYPE_CHECKING:
    from fairaudit.metrics._result import AuditResult

__all__ = ["bootstrap_audit", "gap_significance"]

#: Slice metrics bootstrapped (the error rate's interval is one minus accuracy's).
_BOOTSTRAPPED = tuple(m for m in SLICE_METRICS if m != "error_rate")


def _groupings(
    by: str | Sequence[str] | Sequence[Sequence[str]] | None, names: Sequence[str]
) -> list[tuple[str, ...]]:
    if by is None:
        groupings = [(name,) for name in names]
        if len(names) > 1:
            groupings.append(tuple(names))
        return groupings
    if isinstance(by, str):
        return [normalize_by(by, names)]
    items = list(by)
    if items and all(isinstance(b, str) for b in items):
        return [normalize_by(items, names)]
    return [normalize_by(b, names) for b in items]


def _fairness_values(cm: np.ndarray, pos_index: int | None) -> dict[tuple[str, str], np.ndarray]:
    """(metric, class) -> values of shape (...) from counts (..., G, C, C)."""
    arrays = fairness_arrays(cm, pos_index=pos_index)
    out: dict[tuple[str, str], np.ndarray] = {}
    for metric, _, _ in FAIRNESS_METRICS:
        entry = arrays[metric]
        out[(metric, "all")] = entry["summary"]["value"]
        if entry["per_class"] is not None:
            for k in range(cm.shape[-1]):
                out[(metric, str(k))] = entry["per_class"]["value"][..., k]
    return out


def _gap_bounds(
    cm: np.ndarray, pos_index: int | None, confidence: float
) -> dict[tuple[str, str], tuple[float, float]]:
    """(metric, class) -> simultaneous interval, keyed as :func:`_fairness_values`."""
    intervals = gap_intervals(cm, confidence=confidence, pos_index=pos_index)
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for metric, _, _ in FAIRNESS_METRICS:
        entry = intervals[metric]
        out[(metric, "all")] = (float(entry["summary"][0]), float(entry["summary"][1]))
        if entry["per_class"] is not None:
            for k in range(cm.shape[-1]):
                low, high = entry["per_class"]
                out[(metric, str(k))] = (float(low[k]), float(high[k]))
    return out


#: The ``interval`` column: how each kind of row's bounds are computed.
SLICE_INTERVAL = "percentile bootstrap"
GAP_INTERVAL = "simultaneous Wilson (Bonferroni)"


def bootstrap_audit(
    result: AuditResult,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    tasks: Sequence[str] | None = None,
    by: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
    pos_label: Mapping[str, str] | None = None,
    batch_size: int = 250,
    progress: bool = True,
) -> pd.DataFrame:
    """Intervals of per-slice metrics (percentile bootstrap) and fairness gaps (simultaneous).

    Parameters
    ----------
    result : AuditResult
        The audit to resample.
    n_resamples : int, default=1000
        Number of bootstrap replicates.
    confidence : float, default=0.95
        Coverage of the percentile intervals.
    random_state : int or numpy.random.Generator, optional
        Seed; the same seed gives the same intervals.
    tasks : sequence of str, optional
        Tasks to resample (default: all).
    by : str, sequence of str, or sequence of sequences of str, optional
        Grouping(s): one attribute, one tuple of attributes, or a list of them.
        Default: each attribute alone, plus all attributes together (the
        intersectional cells).
    pos_label : mapping of str to str, optional
        Positive class of binary tasks (default: their second class).
    batch_size : int, default=250
        Replicates drawn at once (memory: ``batch_size * cells * C * C * 8`` bytes).
    progress : bool, default=True
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``by``, ``group`` (a slice name, or ``"all"`` for a gap
        between groups), ``metric``, ``class`` (for fairness metrics: a class name
        or ``"all"``; ``""`` for slice metrics), ``estimate`` (the point estimate
        from the audit's counts), ``lower``, ``upper``, ``interval`` (how the
        bounds were computed), ``std_error`` and ``bias`` (standard deviation and
        mean minus the estimate of the bootstrap replicates), ``n_valid``
        (replicates where the value is defined; an undefined value, e.g. an empty
        slice, has NaN bounds).

    Notes
    -----
    A gap is a max minus a min over groups, so its bootstrap distribution is biased
    upwards (noise widens the spread): a percentile interval misses a true gap of 0
    and can even exclude its own estimate. Gaps therefore get the simultaneous
    intervals of :func:`fairaudit.functional.gap_intervals` (every group's Wilson
    interval at a Bonferroni level, combined), which cover at least at
    ``confidence`` whatever the true gap and always contain the estimate; their
    ``bias`` column still shows the bootstrap's bias. Per-slice metrics keep the
    percentile bootstrap.
    """
    if not 0 < confidence < 1:
        raise DataValidationError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise DataValidationError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(random_state)
    names = list(result.attributes)
    groupings = _groupings(by, names)
    task_names = list(result.tasks) if tasks is None else list(tasks)
    for task in task_names:
        result.task_vocabulary(task)
    pos_label = dict(pos_label or {})
    alpha = (1 - confidence) / 2
    columns: dict[str, list] = {
        key: [] for key in ("task", "by", "group", "metric", "class", "estimate")
    }
    gap_lower: list[float] = []
    gap_upper: list[float] = []
    replicate_blocks: list[np.ndarray] = []
    total_batches = len(task_names) * -(-n_resamples // batch_size)
    bar = tqdm(total=total_batches, desc="bootstrap", disable=not progress, leave=False)
    for task in task_names:
        vocab = result.tasks[task]
        n_classes = len(vocab)
        pos_index = result.pos_index(task, pos_label.get(task))
        counts = result.counts[task]

        def statistics(cm: np.ndarray, pos_index: int | None = pos_index) -> list[np.ndarray]:
            """Every statistic of one grouping, as a list of (..., k) blocks."""
            blocks = [np.atleast_1d(v) for v in slice_metric_values(cm, _BOOTSTRAPPED).values()]
            blocks += [v[..., None] for v in _fairness_values(cm, pos_index).values()]
            return blocks

        for by_t in groupings:
            cm = group_sum(counts, result.shape, names, by_t, n_trailing=2).reshape(
                -1, n_classes, n_classes
            )
            group_names = result.group_names(by_t)
            for metric, value in slice_metric_values(cm, _BOOTSTRAPPED).items():
                _extend(columns, task, by_t, group_names, metric, "", value)
                gap_lower += [np.nan] * len(group_names)
                gap_upper += [np.nan] * len(group_names)
            bounds = _gap_bounds(cm, pos_index, confidence) if by_t else {}
            for (metric, k), value in _fairness_values(cm, pos_index).items():
                cls = "all" if k == "all" else vocab.classes[int(k)]
                _extend(columns, task, by_t, ["all"], metric, cls, np.atleast_1d(value))
                low, high = bounds.get((metric, k), (np.nan, np.nan))
                gap_lower.append(low)
                gap_upper.append(high)
        task_blocks: list[np.ndarray] = []
        done = 0
        while done < n_resamples:
            size = min(batch_size, n_resamples - done)
            replicates = multinomial_replicates(counts, size, rng)
            blocks = []
            sums = group_sums(replicates, result.shape, names, groupings, n_trailing=2)
            for by_t in groupings:
                blocks += statistics(sums[by_t].reshape(size, -1, n_classes, n_classes))
            task_blocks.append(np.concatenate(blocks, axis=-1))
            done += size
            bar.update(1)
        replicate_blocks.append(np.concatenate(task_blocks, axis=0))
    bar.close()
    reps = np.concatenate(replicate_blocks, axis=1)  # (R, n_statistics)
    lower, upper, std, n_valid = percentile_interval(reps, alpha)
    frame = pd.DataFrame(columns)
    is_gap = frame["metric"].isin(GAP_METRICS).to_numpy()
    frame["lower"] = np.where(is_gap, gap_lower, lower)
    frame["upper"] = np.where(is_gap, gap_upper, upper)
    frame["interval"] = np.where(is_gap, GAP_INTERVAL, SLICE_INTERVAL)
    frame["std_error"] = std
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are undefined values
        frame["bias"] = np.nanmean(reps, axis=0) - frame["estimate"].to_numpy()
    frame["n_valid"] = n_valid
    return frame


def _extend(
    columns: dict[str, list],
    task: str,
    by_t: tuple[str, ...],
    groups: Sequence[str],
    metric: str,
    cls: str,
    values: np.ndarray,
) -> None:
    columns["task"] += [task] * len(groups)
    columns["by"] += [" x ".join(by_t)] * len(groups)
    columns["group"] += list(groups)
    columns["metric"] += [metric] * len(groups)
    columns["class"] += [cls] * len(groups)
    columns["estimate"] += [float(v) for v in values]


def gap_significance(
    result: AuditResult,
    task: str,
    *,
    by: str | Sequence[str],
    alpha: float = 0.05,
    pairs: str = "extreme",
    min_support: int = 30,
) -> pd.DataFrame:
    """Significance tests of the gaps between groups, Holm-corrected.

    Parameters
    ----------
    result : AuditResult
    task : str
    by : str or sequence of str
        Attribute(s) whose classes (or intersections) are the groups.
    alpha : float, default=0.05
        Family-wise error level for the ``significant`` column.
    pairs : {"extreme", "all"}, default="extreme"
        Two-proportion tests between the lowest and highest group of each rate
        (the pair behind the gap of :meth:`AuditResult.fairness`; as it is chosen
        after looking, rely on the omnibus test for "is there any difference"),
        or between every pair of groups.
    min_support : int, default=30
        ``small`` marks tests involving a group with fewer rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``by``, ``rate`` (accuracy, selection_rate, tpr, fpr),
        ``class``, ``test`` (``"chi2"`` omnibus over all groups or ``"z"``
        pairwise), ``group_a``, ``group_b`` (``"all groups"`` for chi2),
        ``rate_a``, ``rate_b``, ``n_a``, ``n_b``, ``difference``, ``statistic``,
        ``dof``, ``p_value``, ``p_adjusted`` (Holm over every row), ``significant``
        (``p_adjusted < alpha``), ``small``. Groups where a rate is undefined (no
        row of the conditioning event) take no part in its tests; a test with fewer
        than two such groups is not reported.
    """
    vocab = result.task_vocabulary(task)
    if pairs not in ("extreme", "all"):
        raise DataValidationError(f"pairs must be 'extreme' or 'all', got {pairs!r}")
    by_t = normalize_by(by, list(result.attributes))
    if not by_t:
        raise DataValidationError("significance needs at least one attribute in by")
    cm = result.grouped_counts(task, by=by_t).reshape(-1, len(vocab), len(vocab))
    names = result.group_names(by_t)
    n = cm.sum(axis=(-2, -1))
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_count = cm.sum(axis=-1)
    pred_count = cm.sum(axis=-2)
    families: list[tuple[str, str, np.ndarray, np.ndarray]] = [
        ("accuracy", "all", tp.sum(axis=-1), n)
    ]
    for k, cls in enumerate(vocab.classes):
        families.append(("selection_rate", cls, pred_count[:, k], n))
        families.append(("tpr", cls, tp[:, k], true_count[:, k]))
        families.append(("fpr", cls, pred_count[:, k] - tp[:, k], n - true_count[:, k]))
    rows = []
    for rate_name, cls, hits, totals in families:
        defined = np.flatnonzero(totals > 0)
        if defined.size < 2:
            continue
        rates = hits[defined] / totals[defined]
        chi2, p_chi, dof = chi2_homogeneity(hits[defined], totals[defined])
        low, high = int(np.argmin(rates)), int(np.argmax(rates))
        rows.append(
            {
                "rate": rate_name,
                "class": cls,
                "test": "chi2",
                "group_a": names[defined[low]],
                "group_b": "all groups",
                "rate_a": float(rates[low]),
                "rate_b": float(hits[defined].sum() / totals[defined].sum()),
                "n_a": int(totals[defined[low]]),
                "n_b": int(totals[defined].sum()),
                "difference": float(rates[high] - rates[low]),
                "statistic": chi2,
                "dof": dof,
                "p_value": p_chi,
                "small": bool((n[defined] < min_support).any()),
            }
        )
        pair_list = (
            [(low, high)] if pairs == "extreme" else list(combinations(range(defined.size), 2))
        )
        for a, b in pair_list:
            ga, gb = defined[a], defined[b]
            z, p = two_proportion_z_test(hits[ga], totals[ga], hits[gb], totals[gb])
            rows.append(
                {
                    "rate": rate_name,
                    "class": cls,
                    "test": "z",
                    "group_a": names[ga],
                    "group_b": names[gb],
                    "rate_a": float(rates[a]),
                    "rate_b": float(rates[b]),
                    "n_a": int(totals[ga]),
                    "n_b": int(totals[gb]),
                    "difference": float(rates[b] - rates[a]),
                    "statistic": z,
                    "dof": 1,
                    "p_value": p,
                    "small": bool(n[ga] < min_support or n[gb] < min_support),
                }
            )
    frame = pd.DataFrame.from_records(rows)
    if frame.empty:
        raise DataValidationError(
            f"no gap of {task!r} by {list(by_t)} can be tested: fewer than two non-empty groups"
        )
    frame["p_adjusted"] = holm(frame["p_value"].to_numpy())
    frame["significant"] = frame["p_adjusted"] < alpha
    frame.insert(0, "by", " x ".join(by_t))
    frame.insert(0, "task", task)
    return frame
