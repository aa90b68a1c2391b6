"""Views of an audit: the tables derived from its counts, as functions.

Each view takes an :class:`~fairaudit.model_audit._counts.AuditCounts` (an
:class:`~fairaudit.model_audit.AuditResult`, whose methods of the same purpose call
these) and returns a :class:`pandas.DataFrame`: per-slice metrics, per-class scores,
confusion matrices, a metric across two attributes, fairness gaps, disparate impact,
calibration, reliability, regression errors and per-group rates with their intervals.
Every number is a :mod:`fairaudit.functional` function of the grouped counts; the
audit holds the counts and their grouping, the views what is read from them (the
split of fairlearn's ``MetricFrame`` and its disaggregated result).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.claims import rate_interval
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import (
    class_metric_values,
    fairness_arrays,
    slice_metric_values,
    wilson_interval,
)
from fairaudit.functional._calibration import calibration_error
from fairaudit.functional._classification import support
from fairaudit.functional._counts import group_sum, normalize_by
from fairaudit.functional._fairness import FAIRNESS_METRICS, group_rates, rate_counts
from fairaudit.model_audit._counts import AuditCounts, group_columns, group_frame
from fairaudit.model_audit._saved_form import REGRESSION_STATS
from fairaudit.model_audit._support import (
    DEFAULT_MIN_SUPPORT,
    SmallSliceWarning,
    slice_status,
    warn_small_slices,
)

__all__ = [
    "DEFAULT_MIN_SUPPORT",
    "RATE_INTERVALS",
    "SmallSliceWarning",
    "calibration_table",
    "confusion_table",
    "disparate_impact_table",
    "fairness_table",
    "group_rate_table",
    "metric_columns",
    "metric_grid",
    "metrics_table",
    "per_class_table",
    "regression_table",
    "reliability_table",
    "slice_status",
    "warn_small_slices",
]

#: The intervals :func:`group_rate_table` gives a rate: ``"exact"`` (Clopper-Pearson,
#: :func:`fairaudit.claims.rate_interval`, what reports and findings show) and
#: ``"wilson"`` (Wilson's score interval, :func:`fairaudit.functional.wilson_interval`).
RATE_INTERVALS = {"exact": rate_interval, "wilson": wilson_interval}


def metric_columns(cm: np.ndarray, *, zero_division: float = 0.0) -> pd.DataFrame:
    """The columns of :func:`metrics_table` from counts ``(G, C, C)``."""
    columns: dict[str, np.ndarray] = {"support": support(cm).astype(np.int64)}
    columns.update(slice_metric_values(cm, zero_division=zero_division))
    return pd.DataFrame(columns)


def _flat_counts(result: AuditCounts, task: str, by: tuple[str, ...]) -> np.ndarray:
    """The counts of ``task`` per group of ``by``, flat: ``(G, C, C)``."""
    cm = result.grouped_counts(task, by=by)
    n_classes = len(result.tasks[task])
    return cm.reshape(-1, n_classes, n_classes)


def metrics_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    zero_division: float = 0.0,
) -> pd.DataFrame:
    """Per-slice classification metrics of a task.

    Parameters
    ----------
    result : AuditResult
        The audit.
    task : str
        Audited task, e.g. ``"age"``.
    by : str or sequence of str, optional
        Sensitive attribute(s) defining the slices; ``None`` gives one overall row.
    min_support : int, default=30
        Slices with fewer rows get ``status="small"`` (``"empty"`` without rows).
    zero_division : float, default=0.0
        Value of ill-defined precision/recall/F1 (as scikit-learn).

    Returns
    -------
    pandas.DataFrame
        One row per slice (every combination of the ``by`` classes, empty ones
        included): the ``by`` columns, ``support``, ``accuracy``,
        ``balanced_accuracy``, ``precision_macro``, ``recall_macro``,
        ``f1_macro``, ``precision_weighted``, ``recall_weighted``,
        ``f1_weighted``, ``error_rate`` and ``status``. Metrics of empty slices
        are NaN.
    """
    result.task_vocabulary(task)
    by_t = normalize_by(by, list(result.attributes))
    cm = _flat_counts(result, task, by_t)
    n = support(cm).astype(np.int64)
    # one construction of the whole table: pandas' fixed cost per frame dominates here
    columns: dict[str, object] = {**group_columns(result.attributes, by_t), "support": n}
    columns.update(slice_metric_values(cm, zero_division=zero_division))
    columns["status"] = slice_status(n, min_support)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(n)))
    warn_small_slices(n, min_support, f"{task} by {list(by_t) or 'overall'}")
    return frame


def per_class_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    zero_division: float = 0.0,
) -> pd.DataFrame:
    """Per-slice, per-class scores of a task.

    Returns
    -------
    pandas.DataFrame
        One row per slice and class: the ``by`` columns, ``class``, ``support``
        (true rows of the class), ``predicted`` (rows predicted as the class),
        ``precision``, ``recall`` (= true positive rate), ``f1``,
        ``selection_rate`` (predicted / slice rows), ``fpr`` and ``status`` (of
        the slice). Ill-defined precision/recall/F1 take ``zero_division``;
        ``selection_rate`` and ``fpr`` are NaN when undefined (no rows, no
        negative rows).
    """
    vocab = result.task_vocabulary(task)
    by_t = normalize_by(by, list(result.attributes))
    cm = _flat_counts(result, task, by_t)
    n_groups, n_classes = cm.shape[0], cm.shape[1]
    scores = class_metric_values(cm, zero_division=zero_division)
    groups = group_frame(result.attributes, by_t)
    frame = groups.loc[groups.index.repeat(n_classes)].reset_index(drop=True)
    frame["class"] = pd.Categorical.from_codes(
        np.tile(np.arange(n_classes), n_groups), dtype=vocab.dtype
    )
    frame["support"] = cm.sum(axis=-1).ravel()
    frame["predicted"] = cm.sum(axis=-2).ravel()
    for name in ("precision", "recall", "f1", "selection_rate", "fpr"):
        frame[name] = scores[name].ravel()
    frame["status"] = np.repeat(slice_status(support(cm), min_support), n_classes)
    return frame


def confusion_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str] | None = None,
    normalize: str | None = None,
) -> pd.DataFrame:
    """Confusion matrix of each slice.

    Parameters
    ----------
    result : AuditResult
        The audit.
    normalize : {None, "true"}, default=None
        ``None``: counts (int64). ``"true"``: each row divided by the number of
        true rows of its class (rows of absent classes are NaN).

    Returns
    -------
    pandas.DataFrame
        Index: the ``by`` attributes and ``true`` class; columns: predicted
        classes.
    """
    vocab = result.task_vocabulary(task)
    if normalize not in (None, "true"):
        raise DataValidationError(f"normalize must be None or 'true', got {normalize!r}")
    by_t = normalize_by(by, list(result.attributes))
    cm = _flat_counts(result, task, by_t)
    values: np.ndarray = cm
    if normalize == "true":
        rows = cm.sum(axis=-1, keepdims=True)
        values = np.full(cm.shape, np.nan)
        np.divide(cm, rows, out=values, where=rows > 0)
    n_classes = len(vocab)
    groups = group_frame(result.attributes, by_t)
    frame = groups.loc[groups.index.repeat(n_classes)].reset_index(drop=True)
    frame["true"] = pd.Categorical.from_codes(
        np.tile(np.arange(n_classes), cm.shape[0]), dtype=vocab.dtype
    )
    data = pd.DataFrame(values.reshape(-1, n_classes), columns=pd.Index(vocab.classes, name="pred"))
    index = pd.MultiIndex.from_frame(frame) if by_t else pd.CategoricalIndex(frame["true"])
    data.index = index
    return data


def metric_grid(
    result: AuditCounts,
    task: str,
    *,
    rows: str,
    columns: str,
    metric: str = "accuracy",
    zero_division: float = 0.0,
) -> pd.DataFrame:
    """A metric of ``task`` across two attributes, e.g. gender accuracy across age x race.

    Parameters
    ----------
    result : AuditResult
        The audit.
    rows, columns : str
        Sensitive attributes for the table's rows and columns.
    metric : str, default="accuracy"
        Any column of :func:`metrics_table` (``"support"``, ``"f1_macro"``, ...).

    Returns
    -------
    pandas.DataFrame
        ``rows`` classes x ``columns`` classes; empty cells are NaN (their
        support is 0, see ``metric="support"``).
    """
    frame = metrics_table(
        result, task, by=(rows, columns), zero_division=zero_division, min_support=0
    )
    if metric not in frame.columns or metric in (rows, columns, "status"):
        raise DataValidationError(
            f"unknown metric {metric!r}; choose from {list(frame.columns[2:-1])}"
        )
    shape = (len(result.attributes[rows]), len(result.attributes[columns]))
    return pd.DataFrame(
        frame[metric].to_numpy().reshape(shape),
        index=pd.CategoricalIndex(result.attributes[rows].classes, name=rows),
        columns=pd.CategoricalIndex(result.attributes[columns].classes, name=columns),
    )


def fairness_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str],
    pos_label: str | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> pd.DataFrame:
    """Fairness metrics of a task between the groups of ``by``.

    See :mod:`fairaudit.functional` and ``docs/metrics.md`` for the
    definitions (one-vs-rest per class, worst case over classes, fairlearn's
    positive class for binary tasks).

    Parameters
    ----------
    result : AuditResult
        The audit.
    by : str or sequence of str
        Attribute(s) whose classes (or intersections) are the groups.
    pos_label : str, optional
        Positive class of a binary task (default: its second class, e.g.
        ``"Female"``), used for the ``class="all"`` summary.
    min_support : int, default=30
        ``small_groups`` counts compared groups with fewer rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``by``, ``metric``, ``class`` (a class name, or ``"all"``
        for the summary), ``from_class`` (the class the summary comes from: the
        worst class, or the positive class of a binary task), ``value``,
        ``low_group``, ``low_value``, ``high_group``, ``high_value`` (the groups
        with the lowest and highest rate behind the value), ``n_groups``
        (groups where the rate is defined), ``small_groups``. A value is NaN
        only when fewer than two groups define the rate (``n_groups < 2``).
    """
    vocab = result.task_vocabulary(task)
    by_t = normalize_by(by, list(result.attributes))
    if not by_t:
        raise DataValidationError("fairness needs at least one attribute in by")
    cm = _flat_counts(result, task, by_t)
    names = np.array(result.group_names(by_t), dtype=object)
    n = support(cm)
    small_groups = int(((n > 0) & (n < min_support)).sum())
    arrays = fairness_arrays(cm, pos_index=result.pos_index(task, pos_label))
    records = []
    for metric, _, _ in FAIRNESS_METRICS:
        entry = arrays[metric]
        summary_k = int(entry["class_index"])
        source = vocab.classes[summary_k] if summary_k >= 0 else ""
        rows = [("all", entry["summary"], None)]
        if entry["per_class"] is not None:
            rows += [(cls, entry["per_class"], k) for k, cls in enumerate(vocab.classes)]
        for cls, stats, k in rows:
            pick = (lambda a, k=k: a[k]) if k is not None else (lambda a: a)
            n_def = int(pick(stats["n_groups"]))
            records.append(
                {
                    "metric": metric,
                    "class": cls,
                    "from_class": source if k is None else cls,
                    "value": float(pick(stats["value"])),
                    "low_group": names[int(pick(stats["low_group"]))] if n_def >= 2 else "",
                    "low_value": float(pick(stats["low"])),
                    "high_group": names[int(pick(stats["high_group"]))] if n_def >= 2 else "",
                    "high_value": float(pick(stats["high"])),
                    "n_groups": n_def,
                    "small_groups": small_groups,
                }
            )
    warn_small_slices(n[n > 0], min_support, f"fairness of {task} by {list(by_t)}")
    frame = pd.DataFrame.from_records(records)
    frame.insert(0, "by", " x ".join(by_t))
    frame.insert(0, "task", task)
    return frame


def disparate_impact_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str],
    reference: str | None = None,
    threshold: float = 0.8,
) -> pd.DataFrame:
    """Selection rate of each group and class relative to a reference group.

    Parameters
    ----------
    result : AuditResult
        The audit.
    reference : str, optional
        Reference group name (as :meth:`AuditCounts.group_names` writes it). Default: for
        each class, the group with the highest selection rate, so the ratio is
        the "four-fifths rule" ratio.
    threshold : float, default=0.8
        The four-fifths rule: ``passes`` is ``ratio >= threshold``.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``class``, ``support``, ``selection_rate``,
        ``reference_group``, ``ratio``, ``passes``. Empty groups have NaN rate
        and ratio and ``passes=False``.
    """
    vocab = result.task_vocabulary(task)
    by_t = normalize_by(by, list(result.attributes))
    cm = _flat_counts(result, task, by_t)
    names = result.group_names(by_t)
    rate = group_rates(cm)["selection_rate"]  # (G, C)
    if reference is None:
        ref_index = np.nanargmax(np.nan_to_num(rate, nan=-1.0), axis=0)
    else:
        if reference not in names:
            raise DataValidationError(f"unknown reference group {reference!r}; groups: {names}")
        ref_index = np.full(len(vocab), names.index(reference))
    ref_rate = rate[ref_index, np.arange(len(vocab))]
    ratio = np.full(rate.shape, np.nan)
    np.divide(rate, ref_rate[None, :], out=ratio, where=ref_rate[None, :] > 0)
    g, k = np.meshgrid(np.arange(len(names)), np.arange(len(vocab)), indexing="ij")
    return pd.DataFrame(
        {
            "group": np.array(names, dtype=object)[g.ravel()],
            "class": pd.Categorical.from_codes(k.ravel(), dtype=vocab.dtype),
            "support": np.repeat(support(cm), len(vocab)),
            "selection_rate": rate.ravel(),
            "reference_group": np.array(names, dtype=object)[ref_index[k.ravel()]],
            "ratio": ratio.ravel(),
            "passes": np.nan_to_num(ratio.ravel(), nan=-1.0) >= threshold,
        }
    )


def calibration_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> pd.DataFrame:
    """Expected and maximum calibration error of each group.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``support``, ``ece``, ``mce``, ``mean_confidence``,
        ``accuracy`` and ``status``; NaN only for empty groups.
    """
    by_t = normalize_by(by, list(result.attributes))
    stats = result.calibration_stats(task, by=by_t).reshape(-1, result.n_bins, 3)
    values = calibration_error(stats)
    frame = group_frame(result.attributes, by_t)
    for key in ("support", "ece", "mce", "mean_confidence", "accuracy"):
        frame[key] = values[key]
    frame["support"] = frame["support"].astype(np.int64)
    frame["status"] = slice_status(frame["support"].to_numpy(), min_support)
    warn_small_slices(frame["support"], min_support, f"calibration of {task}")
    return frame


def reliability_table(
    result: AuditCounts, task: str, *, by: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Reliability-curve data: per group and confidence bin.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``bin``, ``bin_lower``, ``bin_upper``, ``n``,
        ``mean_confidence``, ``accuracy``. Empty bins are kept with ``n=0`` and
        NaN confidence and accuracy.
    """
    by_t = normalize_by(by, list(result.attributes))
    stats = result.calibration_stats(task, by=by_t).reshape(-1, result.n_bins, 3)
    groups = group_frame(result.attributes, by_t)
    frame = groups.loc[groups.index.repeat(result.n_bins)].reset_index(drop=True)
    n = stats[..., 0].ravel()
    bins = np.tile(np.arange(result.n_bins), stats.shape[0])
    frame["bin"] = bins
    frame["bin_lower"] = bins / result.n_bins
    frame["bin_upper"] = (bins + 1) / result.n_bins
    frame["n"] = n.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["mean_confidence"] = np.where(n > 0, stats[..., 2].ravel() / n, np.nan)
        frame["accuracy"] = np.where(n > 0, stats[..., 1].ravel() / n, np.nan)
    return frame


def regression_table(
    result: AuditCounts,
    target: str = "age_years",
    *,
    by: str | Sequence[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> pd.DataFrame:
    """MAE, bias (mean of predicted - true) and RMSE of a regression target per slice."""
    if target not in result.regression:
        raise DataValidationError(
            f"no regression target {target!r} in this audit; it has {list(result.regression)}"
        )
    by_t = normalize_by(by, list(result.attributes))
    sums = group_sum(
        result.regression[target], result.shape, list(result.attributes), by_t, n_trailing=1
    ).reshape(-1, len(REGRESSION_STATS))
    n = sums[:, 0]
    frame = group_frame(result.attributes, by_t)
    frame["support"] = n.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["mae"] = np.where(n > 0, sums[:, 2] / n, np.nan)
        frame["bias"] = np.where(n > 0, sums[:, 1] / n, np.nan)
        frame["rmse"] = np.where(n > 0, np.sqrt(sums[:, 3] / np.where(n > 0, n, 1)), np.nan)
    frame["status"] = slice_status(n, min_support)
    warn_small_slices(n, min_support, f"regression of {target}")
    return frame


def group_rate_table(
    result: AuditCounts,
    task: str,
    *,
    by: str | Sequence[str] | None = None,
    rate: str = "accuracy",
    of_class: str | None = None,
    method: str = "exact",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """A rate of ``task`` in each group of ``by``, with its interval: hits out of rows.

    The one view of per-group rates with intervals (accuracy per group with an exact or
    a Wilson interval, a class's true positive rate per group, ...).

    Parameters
    ----------
    result : AuditResult
        The audit.
    task : str
        Audited task.
    by : str or sequence of str, optional
        Attribute(s) whose classes (or intersections, C order) are the groups;
        ``None`` gives one row of all rows.
    rate : {"accuracy", "selection_rate", "tpr", "fpr"}, default="accuracy"
        The rate (:func:`fairaudit.functional.rate_counts`): accuracy (correct rows of
        the group's rows), or a per-class rate: selection rate (rows predicted as the
        class), TPR (the class's true rows predicted as it), FPR (the other rows
        predicted as the class).
    of_class : str, optional
        The class of a per-class rate (default: every class, one row each).
    method : {"exact", "wilson"}, default="exact"
        The interval (:data:`RATE_INTERVALS`).
    confidence : float, default=0.95
        Coverage of each (unadjusted) interval.

    Returns
    -------
    pandas.DataFrame
        One row per group (and class of a per-class rate), empty groups included, in
        C order: the ``by`` columns (categorical), ``group`` (the name
        :meth:`~fairaudit.model_audit.AuditResult.group_names` writes), ``class``
        (per-class rates only), ``n`` (rows of the rate's denominator), ``hits``,
        ``rate`` (``hits / n``), ``lower``, ``upper`` and ``method``. Rate and
        interval are NaN where ``n == 0``.

    Raises
    ------
    DataValidationError
        An unknown task, attribute, rate, class or method, or a class given for the
        accuracy.
    """
    vocab = result.task_vocabulary(task)
    if rate not in ("accuracy", "selection_rate", "tpr", "fpr"):
        raise DataValidationError(
            f"unknown rate {rate!r}; choose from accuracy, selection_rate, tpr, fpr"
        )
    if method not in RATE_INTERVALS:
        raise DataValidationError(
            f"unknown interval method {method!r}; choose from {list(RATE_INTERVALS)}"
        )
    by_t = normalize_by(by, list(result.attributes))
    cm = _flat_counts(result, task, by_t)
    hits, n = rate_counts(cm)[rate]  # (G, C), accuracy (G, 1)
    values = group_rates(cm)[rate]
    if rate == "accuracy":
        if of_class is not None:
            raise DataValidationError(
                f"the accuracy is a rate of all rows, not of a class: of_class={of_class!r}"
            )
        values = values[:, None]
        classes = None
    else:
        if of_class is None:
            classes = np.arange(len(vocab))
        elif of_class in vocab:
            classes = np.array([vocab.classes.index(of_class)])
        else:
            raise DataValidationError(
                f"of_class {of_class!r} is not a class of {task!r}: {list(vocab.classes)}"
            )
        hits, n, values = hits[:, classes], n[:, classes], values[:, classes]
    hits, n = hits.astype(np.int64), n.astype(np.int64)
    lower, upper = RATE_INTERVALS[method](hits, n, confidence=confidence)
    per_group = hits.shape[1]
    groups = group_frame(result.attributes, by_t)
    frame = groups.loc[groups.index.repeat(per_group)].reset_index(drop=True)
    frame["group"] = np.repeat(np.array(result.group_names(by_t), dtype=object), per_group)
    if classes is not None:
        frame["class"] = pd.Categorical.from_codes(np.tile(classes, len(groups)), dtype=vocab.dtype)
    frame["n"] = n.ravel()
    frame["hits"] = hits.ravel()
    frame["rate"] = values.ravel()
    frame["lower"] = np.asarray(lower, dtype=np.float64).ravel()
    frame["upper"] = np.asarray(upper, dtype=np.float64).ravel()
    frame["method"] = method
    return frame
