"""AuditResult: the counts of an audit and everything derived from them.

An :class:`AuditResult` holds, for each audited task, the count tensor
``counts[cell, true, pred]`` over the cells of the sensitive attributes, plus
optional calibration counts and regression sums, and optionally the face
detector's counts ``detection[cell] = [n_images, n_detected]`` over the same
cells (see :mod:`fairaudit.model_audit._detection`). Every table (per-slice metrics,
per-class scores, confusion matrices, fairness gaps, calibration, bootstrap
intervals, significance tests) is derived from these additive statistics, so a
result saved to a file can be reported and compared later, and results of shards
add up (``a + b``).
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text, read_json_file
from fairaudit.exceptions import DataValidationError, FairAuditError
from fairaudit.functional import (
    class_metric_values,
    fairness_arrays,
    slice_metric_values,
    wilson_interval,
)
from fairaudit.functional._calibration import calibration_error
from fairaudit.functional._classification import support
from fairaudit.functional._counts import group_sum, normalize_by
from fairaudit.functional._detection import detection_gap
from fairaudit.functional._fairness import FAIRNESS_METRICS, group_rates
from fairaudit.model_audit._saved_form import (
    AUDIT_FORMAT,
    AUDIT_FORMAT_VERSION,
    REGRESSION_STATS,
    audit_fields_from_dict,
    audit_to_dict,
    checked_calibration,
    checked_regression,
    checked_task_counts,
    stamped_metadata,
)
from fairaudit.vocab import Vocabulary

__all__ = [
    "AUDIT_FORMAT",
    "AUDIT_FORMAT_VERSION",
    "DEFAULT_MIN_SUPPORT",
    "AuditResult",
    "SmallSliceWarning",
]

#: Slices with fewer rows are marked ``"small"`` (and a warning is issued).
DEFAULT_MIN_SUPPORT = 30


class SmallSliceWarning(UserWarning):
    """Some slices have fewer rows than ``min_support``; they are marked, not hidden."""


def _status(n: np.ndarray, min_support: int) -> np.ndarray:
    n = np.asarray(n)
    return np.where(n == 0, "empty", np.where(n < min_support, "small", "ok"))


class AuditResult:
    """Counts of an audit, with every metric derived from them.

    Build one with :func:`audit_predictions`, :func:`audit_table`,
    :class:`AuditAccumulator` or :func:`audit_dask`; the type is the same whatever
    the input. Results of disjoint shards add up with ``+`` (or :meth:`merge`).

    Parameters
    ----------
    tasks : mapping of str to Vocabulary
        Audited tasks and their classes, e.g. ``{"gender": GENDER, ...}``.
    attributes : mapping of str to Vocabulary
        Sensitive attributes defining the cells (mixed radix, in this order).
    counts : mapping of str to numpy.ndarray
        Per task, int64 counts of shape ``(n_cells, C, C)``.
    calibration : mapping of str to numpy.ndarray, optional
        (stored as ``calibration_sums``)
        Per task, ``(n_cells, n_bins, 3)`` float64 statistics ``[n, correct,
        confidence_sum]`` (see :mod:`fairaudit.model_audit._calibration`).
    regression : mapping of str to numpy.ndarray, optional
        Per regression target (e.g. ``"age_years"``), ``(n_cells, 4)`` float64 sums
        ``[n, error_sum, abs_error_sum, squared_error_sum]`` with
        ``error = predicted - true``.
    n_bins : int, default=15
        Number of confidence bins of the calibration statistics.
    metadata : dict, optional
        JSON-serialisable description (library version, date, data, join report).
    detection : numpy.ndarray, optional
        The detector audit: int64 ``(n_cells, 2)`` = ``[n_images, n_detected]``
        per cell (images of the cell searched, and those where the detector found
        a face). ``tasks`` may be empty when the result holds only this.
    """

    def __init__(
        self,
        *,
        tasks: Mapping[str, Vocabulary],
        attributes: Mapping[str, Vocabulary],
        counts: Mapping[str, np.ndarray],
        calibration: Mapping[str, np.ndarray] | None = None,
        regression: Mapping[str, np.ndarray] | None = None,
        n_bins: int = 15,
        metadata: Mapping[str, Any] | None = None,
        detection: np.ndarray | None = None,
    ) -> None:
        self.tasks = dict(tasks)
        self.attributes = dict(attributes)
        self.n_bins = int(n_bins)
        shape = self.shape
        n_cells = int(np.prod(shape)) if shape else 1
        self.counts = checked_task_counts(
            self.tasks, counts, lambda vocab: (n_cells, len(vocab), len(vocab)), what="counts"
        )
        self.calibration_sums: dict[str, np.ndarray] = checked_calibration(
            calibration, self.counts, n_cells=n_cells, n_bins=self.n_bins
        )
        self.regression: dict[str, np.ndarray] = checked_regression(regression, n_cells=n_cells)
        self.detection: np.ndarray | None = (
            None if detection is None else _checked_detection(detection, n_cells)
        )
        self.metadata: dict[str, Any] = stamped_metadata(metadata)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, ...]:
        """Number of classes of each sensitive attribute (the cell radix)."""
        return tuple(len(v) for v in self.attributes.values())

    @property
    def n_rows(self) -> int:
        """Number of audited rows."""
        first = next(iter(self.counts.values()), None)
        return int(first.sum()) if first is not None else 0

    @property
    def has_detection(self) -> bool:
        """Whether the result holds a detector audit (see :meth:`detection_rates`)."""
        return self.detection is not None

    def __repr__(self) -> str:
        tasks = ", ".join(f"{t}({len(v)})" for t, v in self.tasks.items())
        attrs = " x ".join(f"{a}({len(v)})" for a, v in self.attributes.items())
        detection = ""
        if self.detection is not None:
            n, hits = (int(v) for v in self.detection.sum(axis=0))
            detection = f", detection={hits}/{n} images"
        return (
            f"AuditResult(n_rows={self.n_rows}, tasks=[{tasks}], cells={attrs or 'overall'}"
            f"{detection})"
        )

    def __eq__(self, other: object) -> bool:
        """Equal counts, vocabularies and statistics (metadata is not compared)."""
        if not isinstance(other, AuditResult):
            return NotImplemented
        return (
            self.tasks == other.tasks
            and self.attributes == other.attributes
            and self.n_bins == other.n_bins
            and self.counts.keys() == other.counts.keys()
            and all(np.array_equal(self.counts[t], other.counts[t]) for t in self.counts)
            and self.calibration_sums.keys() == other.calibration_sums.keys()
            and all(
                np.array_equal(self.calibration_sums[t], other.calibration_sums[t])
                for t in self.calibration_sums
            )
            and self.regression.keys() == other.regression.keys()
            and all(
                np.array_equal(self.regression[t], other.regression[t]) for t in self.regression
            )
            and (self.detection is None) == (other.detection is None)
            and (self.detection is None or np.array_equal(self.detection, other.detection))
        )

    __hash__ = None  # type: ignore[assignment]

    def task_vocabulary(self, task: str) -> Vocabulary:
        """The classes of an audited task.

        Raises
        ------
        DataValidationError
            ``task`` is not audited here (the message lists the audited tasks).
        """
        if task not in self.tasks:
            raise DataValidationError(f"unknown task {task!r}; this audit has {list(self.tasks)}")
        return self.tasks[task]

    def is_own_grouping(self, task: str, by: str | Sequence[str] | None) -> bool:
        """Whether the grouping ``by`` holds the task's own true label (same name and classes).

        Grouped by its own true label, a task's selection rate, TPR and FPR per group
        follow from the grouping (a better model widens the demographic parity gap),
        and per-class scores inside a group are degenerate: only the spread of
        accuracy across the groups (the per-class recall) describes the model, as
        "how hard each class is", not as a disparity between people.
        """
        by_t = normalize_by(by, list(self.attributes))
        vocab = self.task_vocabulary(task)
        return task in by_t and self.attributes[task].classes == vocab.classes

    def _groups(self, by: tuple[str, ...]) -> pd.DataFrame:
        """One row per group of ``by`` (C order), categorical columns."""
        if not by:
            return pd.DataFrame(index=range(1))
        vocabs = [self.attributes[b] for b in by]
        # the C-order product of the classes, straight from codes (the report asks often)
        codes = np.indices([len(v.classes) for v in vocabs]).reshape(len(by), -1)
        return pd.DataFrame(
            {
                b: pd.Categorical.from_codes(codes[i], dtype=v.dtype)
                for i, (b, v) in enumerate(zip(by, vocabs, strict=True))
            }
        )

    def group_names(self, by: str | Sequence[str] | None) -> list[str]:
        """Readable names of the groups of ``by`` (``"Female & 20-29"``), in C order."""
        by_t = normalize_by(by, list(self.attributes))
        if not by_t:
            return ["all"]
        classes = [self.attributes[b].classes for b in by_t]
        return [" & ".join(str(v) for v in row) for row in itertools.product(*classes)]

    def grouped_counts(self, task: str, *, by: str | Sequence[str] | None = None) -> np.ndarray:
        """Count tensor of ``task`` summed to the groups of ``by``.

        Returns
        -------
        numpy.ndarray of int64, shape (*[classes of each attribute in by], C, C)
            ``by=None`` gives the overall ``(C, C)`` confusion counts.
        """
        self.task_vocabulary(task)
        by_t = normalize_by(by, list(self.attributes))
        return group_sum(self.counts[task], self.shape, list(self.attributes), by_t, n_trailing=2)

    def _flat_counts(self, task: str, by: tuple[str, ...]) -> np.ndarray:
        cm = self.grouped_counts(task, by=by)
        n_classes = len(self.tasks[task])
        return cm.reshape(-1, n_classes, n_classes)

    def _warn_small(self, n: np.ndarray, min_support: int, what: str) -> None:
        small = int((np.asarray(n) < min_support).sum())
        if small:
            empty = int((np.asarray(n) == 0).sum())
            warnings.warn(
                f"{what}: {small} of {np.size(n)} slice(s) have fewer than {min_support} rows "
                f"({empty} empty); they are marked in column 'status'",
                SmallSliceWarning,
                stacklevel=3,
            )

    # --------------------------------------------------------- classification
    def metrics(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
        zero_division: float = 0.0,
    ) -> pd.DataFrame:
        """Per-slice classification metrics of a task.

        Parameters
        ----------
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
        self.task_vocabulary(task)
        by_t = normalize_by(by, list(self.attributes))
        cm = self._flat_counts(task, by_t)
        frame = self._groups(by_t)
        frame = pd.concat([frame, metric_columns(cm, zero_division=zero_division)], axis=1)
        frame["status"] = _status(frame["support"].to_numpy(), min_support)
        self._warn_small(frame["support"], min_support, f"{task} by {list(by_t) or 'overall'}")
        return frame

    def per_class(
        self,
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
        vocab = self.task_vocabulary(task)
        by_t = normalize_by(by, list(self.attributes))
        cm = self._flat_counts(task, by_t)
        n_groups, n_classes = cm.shape[0], cm.shape[1]
        scores = class_metric_values(cm, zero_division=zero_division)
        groups = self._groups(by_t)
        frame = groups.loc[groups.index.repeat(n_classes)].reset_index(drop=True)
        frame["class"] = pd.Categorical.from_codes(
            np.tile(np.arange(n_classes), n_groups), dtype=vocab.dtype
        )
        frame["support"] = cm.sum(axis=-1).ravel()
        frame["predicted"] = cm.sum(axis=-2).ravel()
        for name in ("precision", "recall", "f1", "selection_rate", "fpr"):
            frame[name] = scores[name].ravel()
        frame["status"] = np.repeat(_status(support(cm), min_support), n_classes)
        return frame

    def confusion_matrix(
        self,
        task: str,
        *,
        by: str | Sequence[str] | None = None,
        normalize: str | None = None,
    ) -> pd.DataFrame:
        """Confusion matrix of each slice.

        Parameters
        ----------
        normalize : {None, "true"}, default=None
            ``None``: counts (int64). ``"true"``: each row divided by the number of
            true rows of its class (rows of absent classes are NaN).

        Returns
        -------
        pandas.DataFrame
            Index: the ``by`` attributes and ``true`` class; columns: predicted
            classes.
        """
        vocab = self.task_vocabulary(task)
        if normalize not in (None, "true"):
            raise DataValidationError(f"normalize must be None or 'true', got {normalize!r}")
        by_t = normalize_by(by, list(self.attributes))
        cm = self._flat_counts(task, by_t)
        values: np.ndarray = cm
        if normalize == "true":
            rows = cm.sum(axis=-1, keepdims=True)
            values = np.full(cm.shape, np.nan)
            np.divide(cm, rows, out=values, where=rows > 0)
        n_classes = len(vocab)
        groups = self._groups(by_t)
        frame = groups.loc[groups.index.repeat(n_classes)].reset_index(drop=True)
        frame["true"] = pd.Categorical.from_codes(
            np.tile(np.arange(n_classes), cm.shape[0]), dtype=vocab.dtype
        )
        data = pd.DataFrame(
            values.reshape(-1, n_classes), columns=pd.Index(vocab.classes, name="pred")
        )
        index = pd.MultiIndex.from_frame(frame) if by_t else pd.CategoricalIndex(frame["true"])
        data.index = index
        return data

    def table(
        self,
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
        rows, columns : str
            Sensitive attributes for the table's rows and columns.
        metric : str, default="accuracy"
            Any column of :meth:`metrics` (``"support"``, ``"f1_macro"``, ...).

        Returns
        -------
        pandas.DataFrame
            ``rows`` classes x ``columns`` classes; empty cells are NaN (their
            support is 0, see ``metric="support"``).
        """
        frame = self.metrics(task, by=(rows, columns), zero_division=zero_division, min_support=0)
        if metric not in frame.columns or metric in (rows, columns, "status"):
            raise DataValidationError(
                f"unknown metric {metric!r}; choose from {list(frame.columns[2:-1])}"
            )
        shape = (len(self.attributes[rows]), len(self.attributes[columns]))
        return pd.DataFrame(
            frame[metric].to_numpy().reshape(shape),
            index=pd.CategoricalIndex(self.attributes[rows].classes, name=rows),
            columns=pd.CategoricalIndex(self.attributes[columns].classes, name=columns),
        )

    # --------------------------------------------------------------- fairness
    def pos_index(self, task: str, pos_label: str | None = None) -> int | None:
        """Index of a binary task's positive class ``pos_label`` (``None``: the default).

        Raises
        ------
        DataValidationError
            ``pos_label`` is not a class of the task.
        """
        vocab = self.task_vocabulary(task)
        if pos_label is None:
            return None
        if pos_label not in vocab:
            raise DataValidationError(
                f"pos_label {pos_label!r} is not a class of {task!r}: {list(vocab.classes)}"
            )
        return vocab.classes.index(pos_label)

    def fairness(
        self,
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
        vocab = self.task_vocabulary(task)
        by_t = normalize_by(by, list(self.attributes))
        if not by_t:
            raise DataValidationError("fairness needs at least one attribute in by")
        cm = self._flat_counts(task, by_t)
        names = np.array(self.group_names(by_t), dtype=object)
        n = support(cm)
        small_groups = int(((n > 0) & (n < min_support)).sum())
        arrays = fairness_arrays(cm, pos_index=self.pos_index(task, pos_label))
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
        self._warn_small(n[n > 0], min_support, f"fairness of {task} by {list(by_t)}")
        frame = pd.DataFrame.from_records(records)
        frame.insert(0, "by", " x ".join(by_t))
        frame.insert(0, "task", task)
        return frame

    def disparate_impact(
        self,
        task: str,
        *,
        by: str | Sequence[str],
        reference: str | None = None,
        threshold: float = 0.8,
    ) -> pd.DataFrame:
        """Selection rate of each group and class relative to a reference group.

        Parameters
        ----------
        reference : str, optional
            Reference group name (as :meth:`group_names` writes it). Default: for
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
        vocab = self.task_vocabulary(task)
        by_t = normalize_by(by, list(self.attributes))
        cm = self._flat_counts(task, by_t)
        names = self.group_names(by_t)
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

    # ------------------------------------------------------------ calibration
    def calibration_stats(self, task: str, *, by: str | Sequence[str] | None = None) -> np.ndarray:
        """Calibration statistics ``(*groups, n_bins, 3)`` = ``[n, correct, confidence_sum]``."""
        self.task_vocabulary(task)
        if task not in self.calibration_sums:
            raise DataValidationError(
                f"no probabilities were given for task {task!r}, so it has no calibration; "
                f"tasks with probabilities: {list(self.calibration_sums)}"
            )
        by_t = normalize_by(by, list(self.attributes))
        return group_sum(
            self.calibration_sums[task], self.shape, list(self.attributes), by_t, n_trailing=2
        )

    def calibration(
        self,
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
        by_t = normalize_by(by, list(self.attributes))
        stats = self.calibration_stats(task, by=by_t).reshape(-1, self.n_bins, 3)
        values = calibration_error(stats)
        frame = self._groups(by_t)
        for key in ("support", "ece", "mce", "mean_confidence", "accuracy"):
            frame[key] = values[key]
        frame["support"] = frame["support"].astype(np.int64)
        frame["status"] = _status(frame["support"].to_numpy(), min_support)
        self._warn_small(frame["support"], min_support, f"calibration of {task}")
        return frame

    def reliability(self, task: str, *, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Reliability-curve data: per group and confidence bin.

        Returns
        -------
        pandas.DataFrame
            The ``by`` columns, ``bin``, ``bin_lower``, ``bin_upper``, ``n``,
            ``mean_confidence``, ``accuracy``. Empty bins are kept with ``n=0`` and
            NaN confidence and accuracy.
        """
        by_t = normalize_by(by, list(self.attributes))
        stats = self.calibration_stats(task, by=by_t).reshape(-1, self.n_bins, 3)
        groups = self._groups(by_t)
        frame = groups.loc[groups.index.repeat(self.n_bins)].reset_index(drop=True)
        n = stats[..., 0].ravel()
        bins = np.tile(np.arange(self.n_bins), stats.shape[0])
        frame["bin"] = bins
        frame["bin_lower"] = bins / self.n_bins
        frame["bin_upper"] = (bins + 1) / self.n_bins
        frame["n"] = n.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["mean_confidence"] = np.where(n > 0, stats[..., 2].ravel() / n, np.nan)
            frame["accuracy"] = np.where(n > 0, stats[..., 1].ravel() / n, np.nan)
        return frame

    # ------------------------------------------------------------- regression
    def regression_metrics(
        self,
        target: str = "age_years",
        *,
        by: str | Sequence[str] | None = None,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """MAE, bias (mean of predicted - true) and RMSE of a regression target per slice."""
        if target not in self.regression:
            raise DataValidationError(
                f"no regression target {target!r} in this audit; it has {list(self.regression)}"
            )
        by_t = normalize_by(by, list(self.attributes))
        sums = group_sum(
            self.regression[target], self.shape, list(self.attributes), by_t, n_trailing=1
        ).reshape(-1, len(REGRESSION_STATS))
        n = sums[:, 0]
        frame = self._groups(by_t)
        frame["support"] = n.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["mae"] = np.where(n > 0, sums[:, 2] / n, np.nan)
            frame["bias"] = np.where(n > 0, sums[:, 1] / n, np.nan)
            frame["rmse"] = np.where(n > 0, np.sqrt(sums[:, 3] / np.where(n > 0, n, 1)), np.nan)
        frame["status"] = _status(n, min_support)
        self._warn_small(n, min_support, f"regression of {target}")
        return frame

    # ------------------------------------------------------------ uncertainty
    def bootstrap(
        self,
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
        """Bootstrap confidence intervals of every per-slice metric and every gap.

        See :func:`fairaudit.model_audit.bootstrap_audit` for the parameters.
        """
        from fairaudit.model_audit._uncertainty import bootstrap_audit

        return bootstrap_audit(
            self,
            n_resamples=n_resamples,
            confidence=confidence,
            random_state=random_state,
            tasks=tasks,
            by=by,
            pos_label=pos_label,
            batch_size=batch_size,
            progress=progress,
        )

    def significance(
        self,
        task: str,
        *,
        by: str | Sequence[str],
        alpha: float = 0.05,
        pairs: str = "extreme",
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Tests of the gaps between groups; see :func:`fairaudit.model_audit.gap_significance`."""
        from fairaudit.model_audit._uncertainty import gap_significance

        return gap_significance(
            self, task, by=by, alpha=alpha, pairs=pairs, min_support=min_support
        )

    # -------------------------------------------------------------- detection
    def _require_detection(self) -> np.ndarray:
        if self.detection is None:
            raise DataValidationError(
                "this audit has no detector audit: build one with "
                "fairaudit.model_audit.audit_detection and add it with with_detection"
            )
        return self.detection

    def grouped_detection(self, *, by: str | Sequence[str] | None = None) -> np.ndarray:
        """Detection counts summed to the groups of ``by``.

        Returns
        -------
        numpy.ndarray of int64, shape (*[classes of each attribute in by], 2)
            ``[..., 0]`` images, ``[..., 1]`` detected images; ``by=None`` gives
            the overall pair.
        """
        detection = self._require_detection()
        by_t = normalize_by(by, list(self.attributes))
        return group_sum(detection, self.shape, list(self.attributes), by_t, n_trailing=1)

    def detection_rates(
        self,
        *,
        by: str | Sequence[str] | None = None,
        confidence: float = 0.95,
        min_support: int = DEFAULT_MIN_SUPPORT,
    ) -> pd.DataFrame:
        """Face detection rate of each group, with its Wilson score interval.

        Parameters
        ----------
        by : str or sequence of str, optional
            Sensitive attribute(s) defining the groups; ``None`` gives one overall row.
        confidence : float, default=0.95
            Coverage of the interval.
        min_support : int, default=30
            Groups with fewer images get ``status="small"`` (``"empty"`` without any).

        Returns
        -------
        pandas.DataFrame
            One row per group (every combination of the ``by`` classes, empty ones
            included): the ``by`` columns, ``n`` (images), ``detected`` (images
            with at least one face found), ``rate = detected / n``, ``ci_low``,
            ``ci_high`` (:func:`~fairaudit.functional.wilson_interval`) and
            ``status``. Rate and interval are NaN for empty groups.

        Raises
        ------
        DataValidationError
            The result has no detector audit, or ``by`` names an unknown attribute.
        """
        by_t = normalize_by(by, list(self.attributes))
        pairs = self.grouped_detection(by=by_t).reshape(-1, 2)
        n, detected = pairs[:, 0], pairs[:, 1]
        frame = self._groups(by_t)
        frame["n"] = n.astype(np.int64)
        frame["detected"] = detected.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["rate"] = np.where(n > 0, detected / np.where(n > 0, n, 1), np.nan)
        frame["ci_low"], frame["ci_high"] = wilson_interval(detected, n, confidence=confidence)
        frame["status"] = _status(n, min_support)
        self._warn_small(n, min_support, f"detection by {list(by_t) or 'overall'}")
        return frame

    def detection_gaps(
        self, *, by: str | Sequence[str], min_support: int = DEFAULT_MIN_SUPPORT
    ) -> pd.DataFrame:
        """The gap in detection rate between groups, and a test of homogeneity.

        Only groups with at least ``min_support`` images are judged; smaller
        ones are counted in ``small_groups``.

        Parameters
        ----------
        by : str or sequence of str
            Attribute(s) whose classes (or intersections) are the groups.
        min_support : int, default=30

        Returns
        -------
        pandas.DataFrame
            One row: ``by`` (attributes joined by ``" x "``), ``low_group``,
            ``high_group`` (names as :meth:`group_names` writes them; ``""`` when
            fewer than two groups are judged), ``low_rate``, ``high_rate``,
            ``difference = high_rate - low_rate``, ``ratio = low_rate /
            high_rate``, ``p_value`` (Pearson's chi-square test of homogeneity
            over the judged groups x [detected, missed], no continuity
            correction; 1.0 when every rate is 0 or 1), ``n_groups`` (judged)
            and ``small_groups``. Values are NaN when ``n_groups < 2``.
        """
        by_t = normalize_by(by, list(self.attributes))
        if not by_t:
            raise DataValidationError("detection_gaps needs at least one attribute in by")
        pairs = self.grouped_detection(by=by_t).reshape(-1, 2)
        gap = detection_gap(pairs[:, 0], pairs[:, 1], min_support=min_support)
        names = self.group_names(by_t)
        return pd.DataFrame(
            {
                "by": [" x ".join(by_t)],
                "low_group": [names[gap.low] if gap.n_groups >= 2 else ""],
                "high_group": [names[gap.high] if gap.n_groups >= 2 else ""],
                "low_rate": [gap.low_rate],
                "high_rate": [gap.high_rate],
                "difference": [gap.difference],
                "ratio": [gap.ratio],
                "p_value": [gap.p_value],
                "n_groups": [gap.n_groups],
                "small_groups": [gap.small_groups],
            }
        )

    def with_detection(self, other: AuditResult) -> AuditResult:
        """This audit's task statistics plus another audit's detection statistics.

        Joins the classifier's audit and the detector's audit (from
        :func:`~fairaudit.model_audit.audit_detection`) into one result. A detection
        already present here is replaced.

        Parameters
        ----------
        other : AuditResult
            An audit with detection statistics, over the same attributes and
            vocabularies (in any order: its cells are reordered to match).

        Returns
        -------
        AuditResult
            A new result; ``metadata["detection"]`` is ``other``'s.

        Raises
        ------
        DataValidationError
            ``other`` has no detection, or its attributes or their classes differ.
        """
        if not isinstance(other, AuditResult):
            raise TypeError(f"with_detection needs an AuditResult, got {type(other).__name__}")
        detection = other._require_detection()
        if set(other.attributes) != set(self.attributes) or any(
            other.attributes[a] != v for a, v in self.attributes.items()
        ):
            raise DataValidationError(
                "cannot add the detector audit: its attributes differ from this audit's: "
                f"{_describe_attributes(other.attributes)} vs "
                f"{_describe_attributes(self.attributes)}"
            )
        if list(other.attributes) != list(self.attributes):
            order = [list(other.attributes).index(a) for a in self.attributes]
            cube = detection.reshape(*other.shape, 2).transpose(*order, len(order))
            detection = cube.reshape(-1, 2)
        metadata = dict(self.metadata)
        metadata.pop("detection", None)  # a replaced detection takes its metadata along
        if "detection" in other.metadata:
            metadata["detection"] = other.metadata["detection"]
        return AuditResult(
            tasks=self.tasks,
            attributes=self.attributes,
            counts=self.counts,
            calibration=self.calibration_sums,
            regression=self.regression,
            n_bins=self.n_bins,
            metadata=metadata,
            detection=detection,
        )

    # ------------------------------------------------------------------ merge
    def merge(self, other: AuditResult) -> AuditResult:
        """Sum the counts of two audits of disjoint rows (shards, batches).

        Raises
        ------
        DataValidationError
            If the tasks, attributes, vocabularies or bins differ.
        """
        if not isinstance(other, AuditResult):
            raise TypeError(f"cannot merge AuditResult with {type(other).__name__}")
        for what in ("tasks", "attributes", "n_bins"):
            if getattr(self, what) != getattr(other, what):
                raise DataValidationError(
                    f"cannot merge audits with different {what}: "
                    f"{getattr(self, what)!r} vs {getattr(other, what)!r}"
                )
        for what in ("calibration_sums", "regression"):
            if getattr(self, what).keys() != getattr(other, what).keys():
                raise DataValidationError(
                    f"cannot merge audits with different {what} statistics: "
                    f"{list(getattr(self, what))} vs {list(getattr(other, what))}"
                )
        if self.has_detection != other.has_detection:
            raise DataValidationError(
                "cannot merge an audit with detection statistics and one without "
                f"(has_detection: {self.has_detection} vs {other.has_detection}); "
                "add them to both (with_detection) or to neither"
            )
        metadata = _merge_metadata(self, other)
        return AuditResult(
            tasks=self.tasks,
            attributes=self.attributes,
            counts={t: self.counts[t] + other.counts[t] for t in self.counts},
            calibration={
                t: self.calibration_sums[t] + other.calibration_sums[t]
                for t in self.calibration_sums
            },
            regression={t: self.regression[t] + other.regression[t] for t in self.regression},
            n_bins=self.n_bins,
            metadata=metadata,
            detection=None if self.detection is None else self.detection + other.detection,
        )

    def __add__(self, other: object) -> AuditResult:
        if not isinstance(other, AuditResult):
            return NotImplemented
        return self.merge(other)

    # -------------------------------------------------------------- save/load
    def to_dict(self) -> dict[str, Any]:
        """The saved form (see ``docs/audit-format.md``), JSON-serialisable."""
        return audit_to_dict(self)

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, source: str = "audit") -> AuditResult:
        """Rebuild a result from :meth:`to_dict`'s form, refusing other formats/versions."""
        fields = audit_fields_from_dict(obj, source=source)
        try:
            return cls(**fields)
        except FairAuditError as exc:
            raise DataValidationError(f"{source}: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise DataValidationError(f"{source}: malformed audit file ({exc!r})") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as JSON, atomically (temp file + ``os.replace``).

        Returns
        -------
        pathlib.Path
            The written path.
        """
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), allow_nan=False))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AuditResult:
        """Read a result written by :meth:`save`.

        Raises
        ------
        DataValidationError
            If the file is missing, not JSON, not an audit, or of another
            ``format_version``.
        """
        obj = read_json_file(path, what="audit")
        return cls.from_dict(obj, source=str(path))


def _checked_detection(detection: object, n_cells: int) -> np.ndarray:
    """Validate detection counts: integers ``(n_cells, 2)``, ``0 <= detected <= n``."""
    arr = np.asarray(detection)
    if arr.shape != (n_cells, 2):
        raise DataValidationError(
            f"detection counts have shape {arr.shape}, expected {(n_cells, 2)} "
            "([n_images, n_detected] per cell)"
        )
    if arr.size and arr.dtype.kind not in "iu":
        raise DataValidationError(f"detection counts must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if (arr < 0).any():
        raise DataValidationError("detection counts must be non-negative")
    over = np.flatnonzero(arr[:, 1] > arr[:, 0])
    if over.size:
        raise DataValidationError(
            f"detection counts: more detected images than images in cell(s) "
            f"{over[:10].tolist()} ({arr[over[:10]].tolist()})"
        )
    return arr


def _describe_attributes(attributes: Mapping[str, Vocabulary]) -> str:
    return ", ".join(f"{a}{list(v.classes)}" for a, v in attributes.items()) or "none"


def metric_columns(cm: np.ndarray, *, zero_division: float = 0.0) -> pd.DataFrame:
    """The columns of :meth:`AuditResult.metrics` from counts ``(G, C, C)``."""
    columns: dict[str, np.ndarray] = {"support": support(cm).astype(np.int64)}
    columns.update(slice_metric_values(cm, zero_division=zero_division))
    return pd.DataFrame(columns)


def _merge_metadata(a: AuditResult, b: AuditResult) -> dict[str, Any]:
    """Flat metadata of a merged audit: descriptions joined, row and join counts summed."""
    descriptions = [
        d
        for d in dict.fromkeys((a.metadata.get("description"), b.metadata.get("description")))
        if d
    ]
    meta: dict[str, Any] = {
        "description": " + ".join(descriptions),
        "n_rows": a.n_rows + b.n_rows,
        "merged_parts": int(a.metadata.get("merged_parts", 1))
        + int(b.metadata.get("merged_parts", 1)),
    }
    for key in ("data", "mappings"):
        if a.metadata.get(key) == b.metadata.get(key) and key in a.metadata:
            meta[key] = a.metadata[key]
    for key in ("join", "detection", "left_out"):
        part_a, part_b = a.metadata.get(key), b.metadata.get(key)
        if isinstance(part_a, dict) and isinstance(part_b, dict):
            meta[key] = _summed_counts(part_a, part_b)
    return meta


def _summed_counts(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Integer entries of two reports summed, nested ones too (a key in one only is kept)."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys([*a, *b]):
        x, y = a.get(key, 0), b.get(key, 0)
        if isinstance(x, dict) or isinstance(y, dict):
            out[key] = _summed_counts(
                x if isinstance(x, dict) else {}, y if isinstance(y, dict) else {}
            )
        elif isinstance(x, int) and isinstance(y, int) and not isinstance(x, bool):
            out[key] = x + y
    return out
