"""Intervals over an audit: the claims of :mod:`fairaudit.claims`, and the bootstrap.

Intervals. A per-slice rate (accuracy, error rate) gets the exact interval of
:func:`fairaudit.claims.rate_interval` and a gap between groups the simultaneous
interval of :class:`fairaudit.claims.GapInference`, whatever the slice's size. Only
the metrics that are not proportions (balanced accuracy, macro and weighted F1,
precision, recall) keep a bootstrap: resampling ``N`` rows with replacement and
counting them is the same as drawing the flattened count tensor from
``Multinomial(N, counts / N)``, so a replicate costs one multinomial draw over the
(non-zero) cells, whatever the number of rows; their intervals are percentile
intervals, marked as such.

Significance. For each rate behind a gap (accuracy; per class selection rate, TPR,
FPR), the gap's claim: its simultaneous interval and the p-value that is that
interval's inversion, Benjamini-Hochberg over the table with every interval at the
matching false-coverage level, so that ``significant`` and the interval agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from fairaudit.claims import GapInference, fdr_select, rate_change, rate_interval
from fairaudit.claims._changes import CHANGE_METHODS
from fairaudit.claims._gaps import gap_p_values
from fairaudit.claims._rates import RATE_METHOD
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import fairness_arrays, slice_metric_values
from fairaudit.functional._counts import group_sum, group_sums, normalize_by
from fairaudit.functional._fairness import FAIRNESS_METRICS, rate_counts
from fairaudit.functional._registry import GAP_METRICS, SLICE_METRICS
from fairaudit.functional._resampling import multinomial_replicates, percentile_interval
from fairaudit.model_audit._counts import AuditCounts

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
) -> dict[tuple[str, str], tuple[float, float, str]]:
    """(metric, class) -> the gap claim's interval and method, keyed as :func:`_fairness_values`."""
    alpha = 1 - confidence
    out: dict[tuple[str, str], tuple[float, float, str]] = {}
    for metric, rate, _ in FAIRNESS_METRICS:
        claim = GapInference(cm, metric, pos_index=pos_index)
        out[(metric, "all")] = (*claim.interval(alpha), claim.method)
        if rate != "accuracy":
            for k in range(cm.shape[-1]):
                one = GapInference(cm, metric, cls=k, pos_index=pos_index)
                out[(metric, str(k))] = (*one.interval(alpha), one.method)
    return out


#: Per-slice metrics that are proportions: the exact interval of their counts.
_RATE_METRICS = {"accuracy": "correct", "recall_weighted": "correct", "error_rate": "wrong"}
#: The ``interval`` column of the other per-slice metrics.
SLICE_INTERVAL = "percentile bootstrap"


def bootstrap_audit(
    result: AuditCounts,
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
    A rate (accuracy, error rate) gets the exact interval of its counts and a gap
    the simultaneous interval of :class:`fairaudit.claims.GapInference`: a
    percentile bootstrap of a small cell's rate covers far less than its level,
    and that of a gap (a max minus a min, biased upwards) misses a true gap of 0
    and can exclude its own estimate. Only the other per-slice metrics keep the
    percentile bootstrap; the ``std_error`` and ``bias`` columns are the
    bootstrap's for every row.
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
    gap_method: list[str] = []
    rate_lower: list[float] = []
    rate_upper: list[float] = []
    replicate_blocks: list[np.ndarray] = []
    total_batches = len(task_names) * -(-n_resamples // batch_size)
    bar = None
    if progress:  # tqdm (and the asyncio it loads) only for a bar: a report shows none
        from tqdm.auto import tqdm

        bar = tqdm(total=total_batches, desc="bootstrap", leave=False)
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
            n_rows = cm.sum(axis=(-2, -1))
            correct = np.trace(cm, axis1=-2, axis2=-1)
            for metric, value in slice_metric_values(cm, _BOOTSTRAPPED).items():
                _extend(columns, task, by_t, group_names, metric, "", value)
                gap_lower += [np.nan] * len(group_names)
                gap_upper += [np.nan] * len(group_names)
                gap_method += [""] * len(group_names)
                if metric in _RATE_METRICS:
                    hits = correct if _RATE_METRICS[metric] == "correct" else n_rows - correct
                    low, high = rate_interval(hits, n_rows, confidence=confidence)
                    rate_lower += list(low)
                    rate_upper += list(high)
                else:
                    rate_lower += [np.nan] * len(group_names)
                    rate_upper += [np.nan] * len(group_names)
            bounds = _gap_bounds(cm, pos_index, confidence) if by_t else {}
            for (metric, k), value in _fairness_values(cm, pos_index).items():
                cls = "all" if k == "all" else vocab.classes[int(k)]
                _extend(columns, task, by_t, ["all"], metric, cls, np.atleast_1d(value))
                low, high, method = bounds.get((metric, k), (np.nan, np.nan, ""))
                gap_lower.append(low)
                gap_upper.append(high)
                gap_method.append(method)
                rate_lower.append(np.nan)
                rate_upper.append(np.nan)
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
            if bar is not None:
                bar.update(1)
        replicate_blocks.append(np.concatenate(task_blocks, axis=0))
    if bar is not None:
        bar.close()
    reps = np.concatenate(replicate_blocks, axis=1)  # (R, n_statistics)
    lower, upper, std, n_valid = percentile_interval(reps, alpha)
    frame = pd.DataFrame(columns)
    is_gap = frame["metric"].isin(GAP_METRICS).to_numpy()
    is_rate = frame["metric"].isin(_RATE_METRICS).to_numpy()
    rate_low = np.asarray(rate_lower, dtype=np.float64)
    rate_high = np.asarray(rate_upper, dtype=np.float64)
    frame["lower"] = np.where(is_gap, gap_lower, np.where(is_rate, rate_low, lower))
    frame["upper"] = np.where(is_gap, gap_upper, np.where(is_rate, rate_high, upper))
    frame["interval"] = np.where(
        is_gap, gap_method, np.where(is_rate, RATE_METHOD, SLICE_INTERVAL)
    ).astype(object)
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
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str],
    alpha: float = 0.05,
    pairs: str = "extreme",
    min_support: int = 30,
) -> pd.DataFrame:
    """Claims on the gaps between groups: interval, p-value and verdict that agree.

    Parameters
    ----------
    result : AuditResult
    task : str
    by : str or sequence of str
        Attribute(s) whose classes (or intersections) are the groups.
    alpha : float, default=0.05
        False discovery rate of the table (Benjamini-Hochberg); every interval is at
        the matching false-coverage level.
    pairs : {"extreme", "all"}, default="extreme"
        ``"extreme"``: one row per rate, the gap between the lowest and highest
        judged group with its simultaneous interval
        (:class:`fairaudit.claims.GapInference`, which accounts for the pair being
        chosen after looking); ``"all"``: every pair of judged groups, each the
        exact square-and-add interval of its difference.
    min_support : int, default=30
        Rows a group's rate needs to be judged; ``small`` marks rows whose group
        under the floor was left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``by``, ``rate`` (accuracy, selection_rate, tpr, fpr),
        ``class``, ``test`` (``"gap"`` or ``"pair"``), ``group_a`` / ``group_b``
        (low and high group), ``rate_a``, ``rate_b``, ``n_a``, ``n_b``,
        ``difference`` (``rate_b - rate_a``), ``lower``, ``upper``, ``level``,
        ``method``, ``p_value`` (the interval's inversion), ``p_adjusted``
        (Benjamini-Hochberg over the table), ``significant`` (``p_adjusted <=
        alpha``, equivalently ``lower > 0``), ``small``.
    """
    vocab = result.task_vocabulary(task)
    if pairs not in ("extreme", "all"):
        raise DataValidationError(f"pairs must be 'extreme' or 'all', got {pairs!r}")
    by_t = normalize_by(by, list(result.attributes))
    if not by_t:
        raise DataValidationError("significance needs at least one attribute in by")
    cm = result.grouped_counts(task, by=by_t).reshape(-1, len(vocab), len(vocab))
    names = result.group_names(by_t)
    floor = max(int(min_support), 1)
    families: list[tuple[str, str, str, int | None]] = [
        ("accuracy", "all", "accuracy_difference", None)
    ]
    for k, cls in enumerate(vocab.classes):
        families.append(("selection_rate", cls, "demographic_parity_difference", k))
        families.append(("tpr", cls, "equal_opportunity_difference", k))
        families.append(("fpr", cls, "fpr_difference", k))
    counts = rate_counts(cm)
    claims = {  # the gaps of the rates with two judged groups or more
        (metric, k): GapInference(cm, metric, cls=k, min_support=min_support)
        for rate_name, _, metric, k in families
        if pairs == "extreme"
        and (counts[rate_name][1][:, 0 if k is None else k] >= floor).sum() >= 2
    }
    gap_p_values(list(claims.values()))  # all at once, each cached on its claim
    rows: list[dict] = []
    bounds: list = []
    for rate_name, cls, metric, k in families:
        hits, totals = (v[:, 0 if k is None else k] for v in counts[rate_name])
        judged = totals >= floor
        small = bool(((totals > 0) & ~judged).any())
        if judged.sum() < 2:
            continue
        if pairs == "extreme":
            claim = claims[(metric, k)]
            if not claim.defined:
                continue
            low, high = claim.low_group, claim.high_group
            rows.append(
                _significance_row(
                    rate_name,
                    cls,
                    "gap",
                    names,
                    low,
                    high,
                    hits,
                    totals,
                    claim.p_value,
                    claim.method,
                    small,
                )
            )
            bounds.append(claim.interval)
            continue
        index = np.flatnonzero(judged)
        for i, j in combinations(index, 2):
            low, high = (i, j) if hits[i] * totals[j] <= hits[j] * totals[i] else (j, i)
            p, interval = rate_change(hits[low], totals[low], hits[high], totals[high])
            rows.append(
                _significance_row(
                    rate_name,
                    cls,
                    "pair",
                    names,
                    low,
                    high,
                    hits,
                    totals,
                    float(p),
                    CHANGE_METHODS["rate"],
                    small,
                )
            )
            bounds.append(lambda a, f=interval: tuple(float(b) for b in f(a)))
    if not rows:
        raise DataValidationError(
            f"no gap of {task!r} by {list(by_t)} can be tested: fewer than two groups with "
            f"at least {floor} rows"
        )
    frame = pd.DataFrame.from_records(rows)
    q, discovered, level_alpha = fdr_select(frame["p_value"].to_numpy(dtype=np.float64), alpha)
    intervals = [interval(level_alpha) for interval in bounds]
    frame["lower"] = [b[0] for b in intervals]
    frame["upper"] = [b[1] for b in intervals]
    frame["level"] = 1 - level_alpha
    frame["p_adjusted"] = q
    frame["significant"] = discovered & (frame["lower"].to_numpy() > 0)
    frame.insert(0, "by", " x ".join(by_t))
    frame.insert(0, "task", task)
    return frame[SIGNIFICANCE_COLUMNS]


#: Columns of :func:`gap_significance`.
SIGNIFICANCE_COLUMNS = [
    "task",
    "by",
    "rate",
    "class",
    "test",
    "group_a",
    "group_b",
    "rate_a",
    "rate_b",
    "n_a",
    "n_b",
    "difference",
    "lower",
    "upper",
    "level",
    "method",
    "p_value",
    "p_adjusted",
    "significant",
    "small",
]


def _significance_row(
    rate: str,
    cls: str,
    test: str,
    names: Sequence[str],
    low: int,
    high: int,
    hits: np.ndarray,
    totals: np.ndarray,
    p_value: float,
    method: str,
    small: bool,
) -> dict:
    rate_a, rate_b = hits[low] / totals[low], hits[high] / totals[high]
    return {
        "rate": rate,
        "class": cls,
        "test": test,
        "group_a": names[low],
        "group_b": names[high],
        "rate_a": float(rate_a),
        "rate_b": float(rate_b),
        "n_a": int(totals[low]),
        "n_b": int(totals[high]),
        "difference": float(rate_b - rate_a),
        "method": method,
        "p_value": float(p_value),
        "small": small,
    }
