"""The counts of an audit, grouped and saved: the data behind every view of an audit.

An :class:`AuditCounts` holds, for each audited task, the count tensor
``counts[cell, true, pred]`` over the cells of the sensitive attributes, plus
optional calibration counts and regression sums, and optionally the face
detector's counts ``detection[cell] = [n_images, n_detected]`` over the same
cells (see :mod:`fairaudit.model_audit._detection`). It sums them to the groups of
any attributes (:meth:`~AuditCounts.grouped_counts`), adds the counts of disjoint
shards (``a + b``) and saves them (:mod:`fairaudit._saved`; the fields in
``docs/audit-format.md``).

The tables derived from the counts (metrics, fairness, calibration, detection rates,
bootstrap intervals, tests) are functions in :mod:`~fairaudit.model_audit._views`,
:mod:`~fairaudit.model_audit._detection_views` and
:mod:`~fairaudit.model_audit._uncertainty`; :class:`~fairaudit.model_audit.AuditResult`
(this class with those views as methods) is what the builders return.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from fairaudit._saved import SavedResult
from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import group_sum, normalize_by
from fairaudit.model_audit._saved_form import (
    AUDIT_FORMAT,
    AUDIT_FORMAT_VERSION,
    REGRESSION_STATS,
    audit_fields_from_dict,
    checked_calibration,
    checked_regression,
    checked_task_counts,
    stamped_metadata,
    vocab_to_json,
)
from fairaudit.vocab import Vocabulary

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AuditCounts", "group_columns", "group_frame"]


def group_frame(attributes: Mapping[str, Vocabulary], by: Sequence[str]) -> pd.DataFrame:
    """One row per group of ``by`` (C order of the classes), categorical columns.

    No attribute: one row and no column (all rows).
    """
    import pandas as pd  # the tables' dependency, not the counts'

    if not by:
        return pd.DataFrame(index=range(1))
    return pd.DataFrame(group_columns(attributes, by))


def group_columns(
    attributes: Mapping[str, Vocabulary], by: Sequence[str]
) -> dict[str, pd.Categorical]:
    """The columns of :func:`group_frame`, to build a table in one construction."""
    import pandas as pd  # the tables' dependency, not the counts'

    if not by:
        return {}
    vocabs = [attributes[b] for b in by]
    # the C-order product of the classes, straight from codes (the report asks often)
    codes = np.indices([len(v.classes) for v in vocabs], dtype=np.int32).reshape(len(by), -1)
    return {
        b: pd.Categorical.from_codes(codes[i], dtype=v.dtype, validate=False)
        for i, (b, v) in enumerate(zip(by, vocabs, strict=True))
    }


class AuditCounts(SavedResult):
    """Counts of an audit: the statistics, their grouping, their saved form.

    The data of an :class:`~fairaudit.model_audit.AuditResult` (which adds the views
    as methods; the builders return one). The counts of disjoint shards add up with
    ``+`` (or :meth:`merge`); the result is of the class of the left operand.

    Parameters
    ----------
    tasks, attributes, counts, calibration, regression, n_bins, metadata, detection
        As :class:`~fairaudit.model_audit.AuditResult` (its public face) describes them.
    """

    FORMAT = AUDIT_FORMAT
    FORMAT_VERSION = AUDIT_FORMAT_VERSION
    WHAT = "audit"
    LABEL = "a fairaudit audit"

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

    def _repr_items(self) -> list[tuple[str, object]]:
        tasks = ", ".join(f"{t}({len(v)})" for t, v in self.tasks.items())
        attrs = " x ".join(f"{a}({len(v)})" for a, v in self.attributes.items())
        items: list[tuple[str, object]] = [
            ("n_rows", self.n_rows),
            ("tasks", f"[{tasks}]"),
            ("cells", attrs or "overall"),
        ]
        if self.detection is not None:
            n, hits = (int(v) for v in self.detection.sum(axis=0))
            items.append(("detection", f"{hits}/{n} images"))
        return items

    # --------------------------------------------------------------- grouping
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

    def with_detection(self, other: AuditCounts) -> Self:
        """This audit's task statistics plus another audit's detection statistics.

        Joins the classifier's audit and the detector's audit (from
        :func:`~fairaudit.model_audit.audit_detection`) into one result. A detection
        already present here is replaced.

        Parameters
        ----------
        other : AuditCounts
            An audit with detection statistics, over the same attributes and
            vocabularies (in any order: its cells are reordered to match).

        Returns
        -------
        AuditCounts
            A new result of this class; ``metadata["detection"]`` is ``other``'s.

        Raises
        ------
        DataValidationError
            ``other`` has no detection, or its attributes or their classes differ.
        """
        if not isinstance(other, AuditCounts):
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
        return type(self)(
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
    def merge(self, other: AuditCounts) -> Self:
        """Sum the counts of two audits of disjoint rows (shards, batches).

        Raises
        ------
        DataValidationError
            If the tasks, attributes, vocabularies or bins differ.
        """
        if not isinstance(other, AuditCounts):
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
        return type(self)(
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

    def __add__(self, other: object) -> Self:
        if not isinstance(other, AuditCounts):
            return NotImplemented
        return self.merge(other)

    # -------------------------------------------------------------- save/load
    def to_dict(self) -> dict[str, Any]:
        """The saved form (see ``docs/audit-format.md``), JSON-serialisable."""
        saved = {
            "format": AUDIT_FORMAT,
            "format_version": AUDIT_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "metadata": self.metadata,
            "tasks": [vocab_to_json(v) | {"task": t} for t, v in self.tasks.items()],
            "attributes": [vocab_to_json(v) | {"attribute": a} for a, v in self.attributes.items()],
            "n_bins": self.n_bins,
            "counts": {t: c.tolist() for t, c in self.counts.items()},
            "calibration": {
                t: {
                    "n": c[..., 0].astype(np.int64).tolist(),
                    "correct": c[..., 1].astype(np.int64).tolist(),
                    "confidence_sum": c[..., 2].tolist(),
                }
                for t, c in self.calibration_sums.items()
            },
            "regression": {
                t: {name: r[:, i].tolist() for i, name in enumerate(REGRESSION_STATS)}
                for t, r in self.regression.items()
            },
        }
        if self.detection is not None:
            saved["detection"] = {
                "n": self.detection[:, 0].tolist(),
                "detected": self.detection[:, 1].tolist(),
            }
        return saved

    @classmethod
    def _from_fields(cls, obj: Mapping[str, Any], *, source: str) -> Self:
        return cls(**audit_fields_from_dict(obj))


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


def _merge_metadata(a: AuditCounts, b: AuditCounts) -> dict[str, Any]:
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
