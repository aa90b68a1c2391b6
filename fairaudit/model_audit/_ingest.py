"""Auditing any model from tables: predictions joined to labels, parsing, mappings.

Predictions table convention (written by ``fairaudit predict``, accepted from any
model): a key column (``file``, the path relative to the dataset root, e.g.
``"val/12.jpg"``), optional true labels ``gender``/``age``/``race``, predicted
labels ``{task}_pred`` and probabilities, either one column per class
``{task}_prob_{class}`` (e.g. ``race_prob_East Asian``) or one column ``{task}_prob``
holding a list or a numpy-printed array (``"[0.1 0.2 0.7]"``) in the model's class
order. Without ``{task}_pred`` the argmax of the probabilities is the prediction.

A model with another vocabulary is audited through an explicit mapping per task:
a :class:`fairaudit.vocab.ClassMapping` (its keys are the model's classes, in the
order of a ``{task}_prob`` list; probabilities of classes sent to the same audited
class are summed) or a callable such as :func:`fairaudit.vocab.age_years_to_group`
(predicted ages in years -> age groups; the raw years also feed the regression
audit when the labels have ``age_years``).

The table becomes audit-ready in the input stage (:mod:`fairaudit.inputs`), the one
preparation every path calls; this module counts what it prepared.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._join import warn_left_out
from fairaudit.inputs._prepare import input_metadata, prepare_inputs
from fairaudit.inputs._spec import InputSpec, Mapping_
from fairaudit.model_audit._accumulator import audit_predictions
from fairaudit.model_audit._chunked import (
    DEFAULT_CHUNK_ROWS,
    STREAM_FILE_BYTES,
    audit_file_in_chunks,
)
from fairaudit.model_audit._result import AuditResult
from fairaudit.schema import FILE_COLUMN
from fairaudit.vocab import Vocabulary

__all__ = ["audit_table"]


def audit_table(
    predictions: pd.DataFrame | str | os.PathLike[str],
    labels: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    on: str = FILE_COLUMN,
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    unmatched: str = "error",
    missing: str = "error",
    n_bins: int = 15,
    proba_atol: float = 1e-3,
    description: str = "",
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
    model: str | None = None,
    chunk_rows: int | None = None,
) -> AuditResult:
    """Audit a predictions table joined to a labels table by image name.

    Every column that names a class (the tasks' true labels and predictions, and
    the grouping attributes ``gender``/``age``/``race``) is checked against its
    vocabulary with the same error, which names the file, the rows and the values
    and says how to repair them (``label_repairs``, CLI ``--repair``).

    Parameters
    ----------
    predictions : pandas.DataFrame or path (.csv, .parquet)
        Model output (see the module docstring for its columns). Rows whose
        ``status`` is not ``"ok"`` (unreadable images, no face) are left out and
        counted in ``result.metadata["left_out"]["status"]``.
    labels : pandas.DataFrame or path, optional
        True labels and other attributes (the tidy table of
        :mod:`fairaudit.datasets`, or any CSV with ``on`` and attribute columns).
        Without it, the true labels must be in ``predictions``. Columns present in
        both come from ``labels``.
    on : str, default="file"
        Join key: the full relative image name (FairFace basenames repeat across
        splits).
    tasks : mapping, sequence of str, {"fairface", "utkface"}, optional
        Audited tasks (any subset of those with predictions); default: every task
        with predictions, with the labels column's categorical classes if it has
        them, else FairFace's. A named set (or a mapping) also declares the coding
        of integer-coded columns (code ``i`` = class ``i``).
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attribute columns; default: the tasks and every face attribute
        (``gender``, ``age``, ``race``) the labels hold.
    mappings : mapping of str to ClassMapping or callable, optional
        Explicit, validated map of a model's vocabulary to the audited classes.
    unmatched : {"error", "report"}, default="error"
        Prediction rows without a label row: an error, or counted in
        ``result.metadata["join"]``, warned about (:class:`JoinWarning`) and left
        out.
    missing : {"error", "group"}, default="error"
        Missing sensitive values: error or an explicit ``"missing"`` group.
    n_bins : int, default=15
        Calibration bins.
    proba_atol : float, default=1e-3
        Tolerance on probabilities summing to 1.
    description : str, default=""
        Stored in the metadata.
    coding : {"fairface", "utkface"} or mapping, optional
        How integer-coded class columns are read, per task or attribute (it applies
        to ``race`` and ``race_pred``) or per column: a named coding, a list of
        classes in code order, a ``{code: label}`` mapping or the path of a JSON
        file holding one. Integer codes without a coding (or declared ``tasks``)
        are an error.
    label_repairs : mapping, optional
        Explicit repairs ``{column: {raw value: class}}`` (e.g. ``{"age": {"9-Mar":
        "3-9"}}``), applied to both tables, logged and recorded in
        ``result.metadata["repairs"]``.
    model : str, optional
        The audited model, stored as ``result.metadata["model"]``.
    chunk_rows : int, optional
        Read a predictions file (.csv, .parquet) this many rows at a time and count
        each chunk as it is read, so that memory holds one chunk and the labels, not
        the whole table; the result, errors and warnings are those of reading it at
        once. ``0`` reads the file at once. Default: files larger than
        ``STREAM_FILE_BYTES`` (256 MiB) are read in chunks of ``DEFAULT_CHUNK_ROWS``
        (500,000) rows, smaller ones at once. A DataFrame is always used as given.

    Returns
    -------
    AuditResult

    Warns
    -----
    JoinWarning
        When rows are left out: label rows without a prediction, prediction rows
        without a label row (``unmatched="report"``), rows whose status is not ok.
    UnusedColumnWarning
        For columns that look like predictions but match no task.
    """
    spec = InputSpec(
        on=on,
        tasks=tasks,
        attributes=attributes,
        mappings=mappings,
        unmatched=unmatched,
        missing=missing,
        proba_atol=proba_atol,
        coding=coding,
        label_repairs=label_repairs,
    )
    chunk_rows = _chunk_rows(predictions, chunk_rows)
    if chunk_rows:
        return audit_file_in_chunks(
            predictions,  # type: ignore[arg-type]
            labels,
            spec,
            chunk_rows=chunk_rows,
            n_bins=n_bins,
            description=description,
            model=model,
        )
    prepared = prepare_inputs(predictions, labels, spec)
    metadata = input_metadata(prepared.joined, spec, model=model)
    warn_left_out(prepared.joined.left_out, prepared.joined.pred_source, stacklevel=2)
    return audit_predictions(
        tasks=prepared.tasks,
        attributes=prepared.attributes,
        missing=missing,
        n_bins=n_bins,
        proba_atol=proba_atol,
        description=description,
        metadata=metadata,
        **prepared.arrays,
    )


def _chunk_rows(predictions: object, chunk_rows: int | None) -> int:
    """Rows read at a time from ``predictions`` (0: the whole table at once)."""
    if chunk_rows is not None and (
        isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 0
    ):
        raise DataValidationError(
            f"chunk_rows must be a whole number of rows >= 0 (0: read at once), got {chunk_rows!r}"
        )
    if isinstance(predictions, pd.DataFrame) or chunk_rows == 0:
        return 0
    if chunk_rows is not None:
        return chunk_rows
    try:
        size = os.path.getsize(predictions)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return 0  # read_table names the missing file
    return DEFAULT_CHUNK_ROWS if size > STREAM_FILE_BYTES else 0
