"""The detector audit: how often a face detector finds the face, per group.

A face that is never detected is never classified, so a pipeline's bias starts at
its detector. On a labelled set of face images, every readable image counts once
in its attribute cell: ``detection[cell] = [n_images, n_detected]``, where an image
is *detected* when the detector finds at least one face in it. These counts live
in :class:`~fairaudit.model_audit.AuditResult` beside the classifier's count tensors,
over the same cells, and add up like them.

* :func:`detection_gap` - the gap between the groups with the lowest and the
  highest detection rate, and a chi-square test of homogeneity.
* :func:`detection_counts` - the per-cell counts from per-image results.
* :func:`audit_detection` - a detection table (from
  :func:`fairaudit.detect.detect_dataset`) joined to labels, as an ``AuditResult``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import cell_index
from fairaudit.functional._detection import detection_counts
from fairaudit.inputs._prepare import coding_record, prepare_labels
from fairaudit.inputs._read import read_table
from fairaudit.inputs._spec import InputSpec
from fairaudit.inputs._vocabularies import resolve_tasks
from fairaudit.model_audit._encoding import encode_labels
from fairaudit.model_audit._result import AuditResult
from fairaudit.schema import STATUS_OK as _STATUS_OK
from fairaudit.schema import STATUS_UNREADABLE as _STATUS_UNREADABLE
from fairaudit.vocab import Vocabulary

__all__ = [
    "DETECTION_ATTRIBUTES",
    "audit_detection",
]

#: Default sensitive attributes of a detector audit (FairFace's labels).
DETECTION_ATTRIBUTES: tuple[str, ...] = ("gender", "age", "race")
_SHOWN = 10


def _abbreviate(values: Sequence[str]) -> list[str]:
    return [str(v) for v in values[:_SHOWN]]


def _detection_table(detections: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The per-image detection table, and what its run knew (missing images, detector)."""

    info: dict[str, Any] = {}
    table = getattr(detections, "table", None)
    summary = getattr(detections, "summary", None)
    if isinstance(table, pd.DataFrame) and summary is not None:
        info = {
            "detector": str(getattr(summary, "detector", "")),
            "source": str(getattr(summary, "source", "")),
            "missing": tuple(getattr(summary, "missing", ())),
            "seconds": float(getattr(summary, "seconds", 0.0)),
        }
        return table, info
    if isinstance(detections, str | os.PathLike):
        info["source"] = os.fspath(detections)
    elif not isinstance(detections, pd.DataFrame):
        raise DataValidationError(
            "detections must be a DetectionRun, its table (DataFrame) or a CSV/Parquet file, "
            f"got {type(detections).__name__}"
        )
    return read_table(detections, what="detections"), info


def _labels_table(labels: Any) -> tuple[pd.DataFrame, str]:

    table = getattr(labels, "table", None)
    if isinstance(table, pd.DataFrame):
        root = getattr(getattr(labels, "report", None), "root", "") or "label table"
        return table, str(root)
    if isinstance(labels, str | os.PathLike):
        return read_table(labels, what="labels"), os.fspath(labels)
    if not isinstance(labels, pd.DataFrame):
        raise DataValidationError(
            "labels must be a LoadedDataset, a DataFrame or a CSV/Parquet file, "
            f"got {type(labels).__name__}"
        )
    return labels, "label table"


def audit_detection(
    detections: Any,
    labels: Any = None,
    *,
    attributes: Mapping[str, Vocabulary] | Sequence[str] = DETECTION_ATTRIBUTES,
    on: str = "file",
    unmatched: str = "error",
    description: str | None = None,
    detector: str | None = None,
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
) -> AuditResult:
    """Audit a face detector on labelled images: detection counts per attribute cell.

    Parameters
    ----------
    detections : DetectionRun, pandas.DataFrame or path
        What :func:`fairaudit.detect.detect_dataset` returned, its table, or that
        table saved as CSV/Parquet: one row per image with ``on``, ``n_faces`` and
        ``status`` (``"ok"`` or ``"unreadable"``), and the labels when it ran on a
        label table.
    labels : LoadedDataset, pandas.DataFrame or path, optional
        The labels (``on`` and the attribute columns), joined on ``on``. Default:
        the attribute columns of ``detections`` itself.
    attributes : sequence of str or mapping of str to Vocabulary, default=("gender", "age", "race")
        Sensitive attributes defining the cells, in this order. Vocabularies:
        given, else a label column's categorical dtype, else FairFace's.
    on : str, default="file"
        Join key.
    unmatched : {"error", "report"}, default="error"
        Detection rows without a label row: an error naming them, or left out
        and counted in the metadata.
    description : str, optional
        Stored in the metadata.
    detector : str, optional
        The detector's name, stored as ``metadata["detection"]["detector"]`` and
        shown by the report. Default: the run's (its repr, settings included)
        when ``detections`` is a :class:`~fairaudit.detect.DetectionRun`; a table
        or a file does not say which detector made it, so name it here.
    coding : {"fairface", "utkface"} or mapping, optional
        How integer-coded label columns are read, as for
        :func:`~fairaudit.model_audit.audit_table`.
    label_repairs : mapping, optional
        Explicit repairs ``{column: {raw value: class}}`` of the labels, as for
        :func:`~fairaudit.model_audit.audit_table` (recorded in
        ``metadata["repairs"]``).

    Returns
    -------
    AuditResult
        No task (``tasks == {}``); ``detection[cell] = [n_images, n_detected]``
        over the readable, labelled images (an image is detected when
        ``n_faces >= 1``). ``metadata["detection"]`` counts what is not in the
        cells: ``unreadable`` images, ``labels_without_detection`` (label rows
        without a detection row, such as labelled images missing from disk),
        ``unmatched_detection_rows``, with examples, and the ``detector``.

    Raises
    ------
    DataValidationError
        Missing columns, duplicate keys, unknown or missing labels (naming
        rows and values), unmatched detection rows with ``unmatched="error"``,
        or no usable image.
    """

    if unmatched not in ("error", "report"):
        raise DataValidationError(f"unmatched must be 'error' or 'report', got {unmatched!r}")
    if detector is not None and not isinstance(detector, str):
        raise DataValidationError(f"detector must be a name (str), got {type(detector).__name__}")
    table, info = _detection_table(detections)
    if detector is not None:
        info["detector"] = detector
    for column in (on, "n_faces", "status"):
        if column not in table.columns:
            raise DataValidationError(
                f"detections: missing column {column!r} (a table of "
                f"fairaudit.detect.detect_dataset has {on!r}, 'n_faces', 'status'); "
                f"columns: {list(table.columns)}"
            )
    keys = table[on].astype(str)
    if keys.duplicated().any():
        raise DataValidationError(
            f"detections: {on!r} values listed twice: "
            f"{_abbreviate(keys[keys.duplicated()].tolist())}"
        )
    status = table["status"].astype(str)
    bad = ~status.isin([_STATUS_OK, _STATUS_UNREADABLE])
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:_SHOWN]
        raise DataValidationError(
            f"detections: status must be 'ok' or 'unreadable', got "
            f"{status.iloc[rows].tolist()} at row(s) {rows.tolist()}"
        )
    names = list(attributes)
    if not names:
        raise DataValidationError("a detector audit needs at least one attribute")
    unmatched_rows: list[str] = []
    labels_without = list(info.get("missing", ()))
    label_source = info.get("source", "detections")
    if labels is None:
        joined = table
        absent = [a for a in names if a not in table.columns]
        if absent:
            raise DataValidationError(
                f"detections have no label column(s) {absent}: pass labels= (a label table "
                f"or file joined on {on!r}), or run detect_dataset on a label table"
            )
    else:
        label_table, label_source = _labels_table(labels)
        missing_cols = [c for c in (on, *names) if c not in label_table.columns]
        if missing_cols:
            raise DataValidationError(
                f"labels ({label_source}): missing column(s) {missing_cols}; "
                f"columns: {list(label_table.columns)}"
            )
        label_keys = label_table[on].astype(str)
        if label_keys.duplicated().any():
            raise DataValidationError(
                f"labels ({label_source}): {on!r} values listed twice: "
                f"{_abbreviate(label_keys[label_keys.duplicated()].tolist())}"
            )
        in_labels = keys.isin(set(label_keys)).to_numpy()
        unmatched_rows = keys[~in_labels].tolist()
        if unmatched_rows and unmatched == "error":
            raise DataValidationError(
                f"{len(unmatched_rows)} detection row(s) have no label row in {label_source} "
                f"(joined on {on!r}), e.g. {_abbreviate(unmatched_rows)}; pass "
                "unmatched='report' to leave them out (counted in the metadata)"
            )
        labels_without = label_keys[~label_keys.isin(set(keys))].tolist()
        right = label_table[[on, *names]].copy()
        right[on] = label_keys.to_numpy()
        left = table.drop(columns=[c for c in names if c in table.columns]).copy()
        left[on] = keys.to_numpy()
        joined = left.loc[in_labels].merge(right, on=on, how="left", validate="one_to_one")
    if isinstance(attributes, Mapping):
        resolve_tasks(attributes, names)  # refuses anything but Vocabulary objects
    readable = joined["status"].astype(str).to_numpy() == _STATUS_OK
    unreadable_files = joined.loc[~readable, on].astype(str).tolist()
    usable = joined.loc[readable].reset_index(drop=True)
    if usable.empty:
        raise DataValidationError(
            f"no readable, labelled image to audit ({len(unreadable_files)} unreadable, "
            f"{len(unmatched_rows)} without labels)"
        )
    # the labels through the input stage: repairs, integer codings, vocabularies, checks
    spec = InputSpec(
        on=on, tasks=[], attributes=attributes, coding=coding, label_repairs=label_repairs
    )
    usable, vocabs, repairs = prepare_labels(usable, spec, source=label_source)
    n_faces = pd.to_numeric(usable["n_faces"], errors="coerce")
    if n_faces.isna().any() or (n_faces < 0).any():
        rows = np.flatnonzero((n_faces.isna() | (n_faces < 0)).to_numpy())[:_SHOWN]
        raise DataValidationError(
            f"detections: n_faces must be a count >= 0 for readable images, got "
            f"{usable['n_faces'].iloc[rows].tolist()} for {usable[on].iloc[rows].tolist()}"
        )
    codes = [
        encode_labels(usable[a], vocabs[a], what=f"labels[{a!r}] (rows of readable images)")
        for a in names
    ]
    shape = tuple(len(vocabs[a]) for a in names)
    cell = cell_index(codes, shape, n_rows=len(usable))
    counts = detection_counts(cell, n_faces.to_numpy() >= 1, n_cells=int(np.prod(shape)))
    meta_detection = {
        "detector": info.get("detector", ""),
        "source": label_source,
        "n_images": int(counts[:, 0].sum()),
        "n_detected": int(counts[:, 1].sum()),
        "unreadable": len(unreadable_files),
        "unreadable_examples": _abbreviate(unreadable_files),
        "labels_without_detection": len(labels_without),
        "labels_without_detection_examples": _abbreviate(labels_without),
        "unmatched_detection_rows": len(unmatched_rows),
        "unmatched_examples": _abbreviate(unmatched_rows),
    }
    if "seconds" in info:
        meta_detection["seconds"] = round(info["seconds"], 3)
    metadata: dict[str, Any] = {
        "description": description or f"detector audit of {label_source}",
        "detection": meta_detection,
    }
    if coding is not None:
        metadata["coding"] = coding_record(spec)
    if repairs:
        metadata["repairs"] = repairs
    return AuditResult(tasks={}, attributes=vocabs, counts={}, detection=counts, metadata=metadata)
