"""The audit of a predictions file read in chunks: memory bounded by a chunk and the labels.

:func:`audit_table` reads a predictions file in chunks of ``chunk_rows`` rows
(``fairaudit audit --chunk-rows``; files over :data:`STREAM_FILE_BYTES` by default)
through :func:`audit_file_in_chunks`. Each chunk goes through the one input stage
(:mod:`fairaudit.inputs`) and is added to the counts of one
:class:`~fairaudit.model_audit._accumulator.AuditAccumulator`; what stage 1 decides on
the whole table (rows left out, repeated keys, unmatched rows, inferred classes) comes
from a first pass over a few columns (:func:`~fairaudit.inputs._chunks.scan_keys`), and
the decisions of stage 2 from the first chunk and the labels, as a Dask audit's come
from its schema. The result equals the audit of the whole table read at once: the same
counts, metadata, rows left out and warnings (calibration and regression sums up to
float rounding, as they are added in another order).

Errors are those of reading at once, and name the rows of the file, with two limits: a
check of stage 3 (class values, integer codes, ages in years, probability values) is
made chunk by chunk, so when its bad rows lie in several chunks the error lists those
of the first such chunk (and counts them), and when two checks fail in different chunks
the first chunk's failure is raised, where reading at once raises the first check's.
A CSV's column types are inferred per chunk (as pandas does within a large file), so a
class column holding integer codes in some chunks and words in others is read per chunk.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._chunks import LabelKeys, numbered_chunks, scan_keys, summed_join_report
from fairaudit.inputs._join import JoinWarning, warn_left_out
from fairaudit.inputs._prepare import (
    Decisions,
    JoinedInputs,
    decide,
    finish,
    input_metadata,
    read_and_join,
    read_labels,
)
from fairaudit.inputs._probabilities import Disagreements, refuse_disagreements
from fairaudit.inputs._repairs import summed_repairs
from fairaudit.inputs._spec import InputSpec
from fairaudit.model_audit._accumulator import AuditAccumulator
from fairaudit.model_audit._result import AuditResult

__all__ = ["DEFAULT_CHUNK_ROWS", "STREAM_FILE_BYTES", "audit_file_in_chunks"]

#: Rows read at a time when a file is audited in chunks without a ``chunk_rows``.
DEFAULT_CHUNK_ROWS = 500_000

#: Rows of the first chunk read for the decisions of stage 2 (columns and dtypes).
_HEAD_ROWS = 10_000

#: A predictions file larger than this (bytes) is audited in chunks by default.
STREAM_FILE_BYTES = 256 * 2**20


def audit_file_in_chunks(
    predictions: str | os.PathLike[str],
    labels: Any,
    spec: InputSpec,
    *,
    chunk_rows: int,
    n_bins: int,
    description: str,
    model: str | None,
) -> AuditResult:
    """Audit a predictions file (.csv, .parquet) read ``chunk_rows`` rows at a time.

    Parameters are those of :func:`~fairaudit.model_audit.audit_table` (``spec``
    holds its input options). Returns what ``audit_table`` returns on the whole
    table, and raises what it raises.
    """
    on = spec.on
    pred_source = str(predictions)
    label_table = read_labels(labels, spec) if labels is not None else None
    label_keys = LabelKeys(label_table, on=on) if label_table is not None else None

    def joined_chunk(chunk: Any, first_row: int) -> JoinedInputs:
        chunk_labels = None
        if label_keys is not None:
            chunk_labels = (
                label_keys.rows_for(chunk[on]) if on in chunk.columns else label_keys.labels
            )
        with warnings.catch_warnings():
            # the whole table's rows left out are reported once, at the end
            warnings.simplefilter("ignore", JoinWarning)
            return read_and_join(
                chunk,
                chunk_labels,
                spec,
                pred_source=pred_source,
                unmatched="report",
                first_row=first_row,
            )

    # stage 2, up front: from the first chunk's columns and the labels; its errors are
    # raised after those of stage 1 on the whole file (the scan), as in memory
    decisions: Decisions | None = None
    undecided: Exception | None = None
    try:
        # the decisions read columns and dtypes only: a few rows will do
        head_rows = min(chunk_rows, _HEAD_ROWS)
        first_row, first = next(numbered_chunks(predictions, chunk_rows=head_rows))
        head = joined_chunk(first, first_row)
        decisions = decide(head.table, head.readable, spec)
        del first, head
    except DataValidationError as exc:
        undecided = exc
    scan = scan_keys(
        predictions,
        label_keys,
        spec,
        pred_source=pred_source,
        inferred=decisions.inferred if decisions is not None else (),
        chunk_rows=chunk_rows,
    )
    if undecided is not None:
        raise undecided
    assert decisions is not None
    accumulator: AuditAccumulator | None = None
    reports: list[dict[str, Any]] = []
    repair_logs: list[dict[str, Any]] = []
    last: Any = None
    joined: JoinedInputs | None = None
    disagreements: dict[str, Disagreements] = {}
    position = 1  # of the chunk's first joined row in the whole joined table
    for index, (first_row, chunk) in enumerate(numbered_chunks(predictions, chunk_rows=chunk_rows)):
        joined = joined_chunk(chunk, first_row)
        del chunk
        prepared = finish(
            joined,
            decisions,
            spec,
            inferred=scan.inferred,
            warn_unused=index == 0,
            disagreements=disagreements,
            first_position=position,
        )
        position += len(prepared.table)
        if joined.join is not None:
            reports.append(joined.join)
        repair_logs.append({"repairs": joined.repairs})
        if accumulator is None:
            accumulator = AuditAccumulator(
                tasks=prepared.tasks,
                attributes=prepared.attributes,
                missing=spec.missing,
                n_bins=n_bins,
                proba_atol=spec.proba_atol,
                description=description,
            )
        if len(prepared.table):
            accumulator.update(**prepared.arrays)
        else:
            last = prepared.arrays
        del prepared
    assert accumulator is not None and joined is not None
    for column, found in disagreements.items():
        refuse_disagreements(column, found, source=pred_source)
    if accumulator.n_batches == 0:
        accumulator.update(**last)  # no row to count: as the whole (empty) table does
    whole = JoinedInputs(
        table=joined.table.iloc[:0],
        readable=joined.readable.iloc[:0],
        pred_source=pred_source,
        label_source=joined.label_source,
        label_columns=joined.label_columns,
        left_out={"status": scan.status},
        repairs=summed_repairs(
            repair_logs,
            label_source=label_table.source if label_table is not None else None,
            source=pred_source,
        ),
    )
    if label_keys is not None:
        whole.join = summed_join_report(
            reports,
            label_rows=len(label_keys.labels.frame),
            n_distinct_labels=label_keys.n_distinct,
        )
        whole.left_out["labels_without_prediction"] = max(
            0, whole.join["labels_without_prediction"] - scan.status_rows_with_label
        )
        whole.left_out["predictions_without_label"] = whole.join["unmatched_prediction_rows"]
    metadata = input_metadata(whole, spec, model=model)
    warn_left_out(whole.left_out, pred_source, stacklevel=3)
    result = accumulator.compute(metadata=metadata)
    # one table was audited: its metadata are those of the audit that reads it at once
    result.metadata["n_batches"] = 1
    return result
