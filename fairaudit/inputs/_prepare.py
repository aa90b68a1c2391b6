"""Predictions and labels -> the inputs of an audit, in three stages entered once each.

1. :func:`read_and_join` - read both tables, number their rows, leave out the rows
   whose ``status`` is not ok, apply the explicit repairs, join on the key and
   count what was left out (one chunk: a whole table or one Dask partition).
2. :func:`decide` - from the joined table's columns and dtypes alone: the audited
   tasks, the attributes, every vocabulary and class order, the coding of each
   class column. Decided once, up front, so that the partitions of a Dask audit
   share one shape and add up to the in-memory audit.
3. :func:`finish` - integer codes decoded, every class column checked, ages in
   years checked, and the arrays :func:`~fairaudit.model_audit.audit_predictions`
   counts.

:func:`prepare_inputs` runs the three on whole tables (the in-memory audit);
:func:`input_metadata` is the audit's record of them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._ages import _YEARS_SUFFIX, check_age_column
from fairaudit.inputs._arrays import prepare_table
from fairaudit.inputs._codings import (
    CODINGS,
    coding_by_column,
    decode_integer_codes,
    is_integer_coded,
)
from fairaudit.inputs._join import join_tables
from fairaudit.inputs._probabilities import Disagreements
from fairaudit.inputs._read import read_table
from fairaudit.inputs._repairs import apply_label_repairs
from fairaudit.inputs._spec import InputSpec
from fairaudit.inputs._status import readable_rows
from fairaudit.inputs._tasks import UnusedColumnWarning, detect_tasks, unused_prediction_columns
from fairaudit.inputs._vocabularies import (
    as_str_labels,
    attribute_vocabulary,
    check_class_column,
    infer_vocabulary,
    vocabularies_from_labels,
)
from fairaudit.schema import PRED_SUFFIX, pred_column
from fairaudit.vocab import ATTRIBUTES, Vocabulary

__all__ = [
    "Decisions",
    "JoinedInputs",
    "LabelTable",
    "PreparedInputs",
    "decide",
    "finish",
    "input_metadata",
    "prepare_inputs",
    "prepare_labels",
    "read_and_join",
    "read_labels",
]

# hidden row numbers carried through the join, so errors name the row of the file
LABEL_ROW = "__fairaudit_label_row__"
PRED_ROW = "__fairaudit_prediction_row__"


def source_name(table: object, default: str) -> str:
    """How messages name a table: its path, or ``default`` for a DataFrame."""
    return default if isinstance(table, pd.DataFrame) else str(table)


@dataclass
class JoinedInputs:
    """Stage 1: one chunk of predictions joined to its labels, and what was left out.

    Attributes
    ----------
    table : pandas.DataFrame
        The readable prediction rows joined to their label rows (the prediction rows
        alone without labels), with hidden row numbers for the messages.
    readable : pandas.DataFrame
        The readable prediction rows before the join (their columns say which tasks
        are predicted).
    pred_source, label_source : str
        How messages name the two tables (``label_source`` is ``None`` without labels).
    label_columns : set of str
        Columns that come from the labels.
    left_out : dict
        Rows left out: ``status`` (per status value), ``labels_without_prediction``
        and ``predictions_without_label`` (with labels).
    join : dict or None
        The join report of :func:`~fairaudit.inputs._join.join_tables`.
    repairs : list of dict
        The repairs applied (see :func:`~fairaudit.inputs._repairs.apply_label_repairs`).
    status_rows_with_label : int
        Prediction rows left out for their status whose key the labels hold (counted
        under their status, not as labels without prediction).
    """

    table: pd.DataFrame
    readable: pd.DataFrame
    pred_source: str
    label_source: str | None
    label_columns: set[str] = field(default_factory=set)
    left_out: dict[str, Any] = field(default_factory=dict)
    join: dict[str, Any] | None = None
    repairs: list[dict[str, Any]] = field(default_factory=list)
    status_rows_with_label: int = 0


@dataclass
class LabelTable:
    """Stage 1's labels half: the labels table read, repaired and numbered, once.

    A table read in chunks joins every chunk to rows of this one table (see
    :class:`~fairaudit.inputs._chunks.LabelKeys`), whose row numbers and repair log
    are those of the whole file.

    Attributes
    ----------
    frame : pandas.DataFrame
        The repaired labels, with their row numbers in the hidden column ``LABEL_ROW``.
    source : str
        How messages name the labels.
    repairs : list of dict
        The repairs applied to the labels.
    """

    frame: pd.DataFrame
    source: str
    repairs: list[dict[str, Any]] = field(default_factory=list)


def read_labels(
    labels: pd.DataFrame | str | os.PathLike[str],
    spec: InputSpec,
    *,
    label_source: str | None = None,
) -> LabelTable:
    """Stage 1 for the labels: read, repair (logged) and number their rows."""
    source = label_source or source_name(labels, "labels")
    frame = read_table(labels, what="labels").reset_index(drop=True)
    log: list[dict[str, Any]] = []
    frame = apply_label_repairs(frame, spec.label_repairs, source=source, log=log)
    frame = frame.assign(**{LABEL_ROW: np.arange(1, len(frame) + 1)})
    return LabelTable(frame=frame, source=source, repairs=log)


def read_and_join(
    predictions: pd.DataFrame | str | os.PathLike[str],
    labels: pd.DataFrame | str | os.PathLike[str] | LabelTable | None,
    spec: InputSpec,
    *,
    pred_source: str | None = None,
    label_source: str | None = None,
    unmatched: str | None = None,
    first_row: int = 1,
) -> JoinedInputs:
    """Stage 1: read, leave out rows whose status is not ok, repair, join, count.

    Parameters
    ----------
    predictions : pandas.DataFrame or path (.csv, .parquet)
        The predictions (or one chunk of them).
    labels : pandas.DataFrame, path (.csv, .parquet) or LabelTable, optional
        The labels (optional: the true labels are then in ``predictions``); a
        :class:`LabelTable` is joined as it is (read, repaired and numbered before).
    spec : InputSpec
        Key, repairs and unmatched policy.
    pred_source, label_source : str, optional
        How messages name the tables (default: their path, or "predictions" and
        "labels" for DataFrames).
    unmatched : {"error", "report"}, optional
        Overrides ``spec.unmatched`` (a Dask partition reports, and the sum decides).
    first_row : int, default=1
        The row number of the predictions' first row (a chunk's place in its file),
        so that messages name the rows of the file.
    """
    on = spec.on
    pred_source = pred_source or source_name(predictions, "predictions")
    pred_frame = read_table(predictions, what="predictions").reset_index(drop=True)
    pred_frame = pred_frame.assign(**{PRED_ROW: np.arange(first_row, first_row + len(pred_frame))})
    all_predictions = pred_frame
    pred_frame, status_counts, dropped = readable_rows(pred_frame)
    repairs_log: list[dict[str, Any]] = []
    label_repairs = spec.label_repairs
    unknown_repairs = sorted(set(label_repairs or {}) - set(pred_frame.columns))
    pred_frame = apply_label_repairs(pred_frame, label_repairs, source=pred_source, log=repairs_log)
    joined = JoinedInputs(
        table=pred_frame.reset_index(drop=True),
        readable=pred_frame,
        pred_source=pred_source,
        label_source=None,
        left_out={"status": status_counts},
        repairs=repairs_log,
    )
    if labels is not None:
        if not isinstance(labels, LabelTable):
            labels = read_labels(labels, spec, label_source=label_source)
        label_source = labels.source
        label_frame = labels.frame
        repairs_log.extend(labels.repairs)
        unknown_repairs = sorted(set(unknown_repairs) - set(label_frame.columns))
        n_status = 0
        if on in all_predictions.columns and on in label_frame.columns:
            dropped_keys = all_predictions.loc[dropped.index, on]
            # object keys: a hash table (pyarrow strings test a large set one by one)
            n_status = int(
                dropped_keys.astype(object)
                .isin(label_frame[on].dropna().to_numpy(dtype=object))
                .sum()
            )
        table, join_report = join_tables(
            pred_frame,
            label_frame,
            on=on,
            unmatched=unmatched or spec.unmatched,
            sources=(pred_source, label_source),
        )
        join_report["columns_taken_from_labels"] = [
            c for c in join_report["columns_taken_from_labels"] if not c.startswith("__fairaudit_")
        ]
        joined.table = table
        joined.label_source = label_source
        joined.label_columns = {str(c) for c in label_frame.columns if c != on}
        joined.join = join_report
        joined.status_rows_with_label = n_status
        # label rows of unreadable images are counted under their status, not here
        joined.left_out["labels_without_prediction"] = max(
            0, join_report["labels_without_prediction"] - n_status
        )
        joined.left_out["predictions_without_label"] = join_report["unmatched_prediction_rows"]
    if unknown_repairs:
        raise DataValidationError(
            f"label_repairs name column(s) {unknown_repairs} that neither table holds"
        )
    return joined


@dataclass(frozen=True)
class Decisions:
    """Stage 2: what is audited, with which classes in which order; decided up front.

    Attributes
    ----------
    tasks : dict of str to Vocabulary
        The audited tasks' vocabularies.
    attribute_names : list of str
        The sensitive attributes, in order.
    attributes : dict of str to Vocabulary
        The vocabularies of the attributes known from the columns alone.
    inferred : tuple of str
        Attributes whose classes come from their values (sorted, as strings).
    class_columns : dict of str to str
        Every column that names a class -> the task or attribute whose classes it uses.
    codings : dict
        The coding per task, attribute or column (``spec.coding`` spelled out).
    """

    tasks: dict[str, Vocabulary]
    attribute_names: list[str]
    attributes: dict[str, Vocabulary]
    inferred: tuple[str, ...]
    class_columns: dict[str, str]
    codings: dict[str, Any]


def decide(
    schema: pd.DataFrame,
    predicted: pd.DataFrame | Sequence[str],
    spec: InputSpec,
    *,
    found: Sequence[str] | None = None,
) -> Decisions:
    """Stage 2: tasks, attributes, vocabularies and codings, from columns and dtypes alone.

    Parameters
    ----------
    schema : pandas.DataFrame
        The joined table, or an empty frame with its columns and dtypes (a Dask
        DataFrame's ``_meta`` with the labels' columns).
    predicted : pandas.DataFrame or sequence of str
        The prediction table's columns (which tasks have predictions).
    spec : InputSpec
    found : sequence of str, optional
        The tasks predicted, when the caller found them (a pairing: the tasks both
        versions predict); default: detected from ``predicted``.
    """
    tasks = spec.tasks
    task_names = spec.task_names
    if task_names is None and found is not None:
        task_names = list(found)
    if task_names is None:
        task_names = detect_tasks(
            predicted
            if isinstance(predicted, pd.DataFrame)
            else pd.DataFrame(columns=list(predicted))
        )
    codings = coding_by_column(spec.coding)
    class_columns: dict[str, str] = {}  # column -> the task or attribute it names
    for task in task_names:
        class_columns[task] = task
        if task not in (spec.mappings or {}):
            class_columns[pred_column(task)] = task
    if spec.attributes is None:
        attribute_names = list(task_names) + [
            a for a in ATTRIBUTES if a in schema.columns and a not in task_names
        ]
    else:
        attribute_names = list(spec.attributes)
    for name in attribute_names:
        class_columns.setdefault(name, name)
    vocabularies = vocabularies_from_labels(schema, task_names, tasks)
    if not spec.declared:
        for task in task_names:
            named = codings.get(task)
            if isinstance(named, str) and named in CODINGS and task in CODINGS[named]:
                vocabularies[task] = CODINGS[named][task]
    attr_vocabs: dict[str, Vocabulary] = {}
    inferred: list[str] = []
    if isinstance(spec.attributes, Mapping):
        attr_vocabs = dict(spec.attributes)
    for name in attribute_names:
        if name not in schema.columns and name not in vocabularies:
            continue  # prepare_table names the missing column
        if name in attr_vocabs:
            continue
        vocab = attribute_vocabulary(
            name,
            schema[name] if name in schema.columns else pd.Series([], dtype=object),
            tasks_arg=tasks,
            vocabularies=vocabularies,
            coding=codings,
        )
        if vocab is None:
            inferred.append(name)
        else:
            attr_vocabs[name] = vocab
    return Decisions(
        tasks=vocabularies,
        attribute_names=attribute_names,
        attributes=attr_vocabs,
        inferred=tuple(inferred),
        class_columns=class_columns,
        codings=codings,
    )


def _coding_of(column: str, attribute: str, decisions: Decisions, spec: InputSpec) -> Any:
    """The coding of an integer-coded column: named for it or its attribute, or declared."""
    coding = decisions.codings.get(column, decisions.codings.get(attribute))
    if coding is None and spec.declared:
        tasks = spec.tasks
        vocab = (
            tasks[attribute]
            if isinstance(tasks, Mapping) and attribute in tasks
            else CODINGS.get(tasks, {}).get(attribute)  # type: ignore[call-overload]
            if isinstance(tasks, str)
            else None
        )
        coding = list(vocab.classes) if vocab is not None else None
    return coding


def inferred_classes(values: pd.Series, name: str, *, missing: str) -> Vocabulary:
    """The classes of an attribute inferred from its values (strings, sorted)."""
    values = as_str_labels(values)
    if missing == "group":
        values = values[values.notna()]
    return infer_vocabulary(name, values)


@dataclass
class PreparedInputs:
    """Stage 3's result: the arrays of an audit and the decisions and report behind them.

    Attributes
    ----------
    table : pandas.DataFrame
        The joined, decoded and checked table (the key column kept).
    tasks : dict of str to Vocabulary
    attributes : dict of str to Vocabulary or list of str
        What :func:`~fairaudit.model_audit.audit_predictions` takes as ``attributes``.
    arrays : dict
        ``y_true``, ``y_pred``, ``y_proba``, ``sensitive_features``,
        ``y_true_regression``, ``y_pred_regression``.
    joined : JoinedInputs
        Stage 1's record (left out rows, join report, repairs).
    """

    table: pd.DataFrame
    tasks: dict[str, Vocabulary]
    attributes: dict[str, Vocabulary] | list[str]
    arrays: dict[str, Any]
    joined: JoinedInputs


def decoded_and_checked(
    joined: JoinedInputs,
    decisions: Decisions,
    spec: InputSpec,
    *,
    inferred: Mapping[str, Vocabulary] | None = None,
) -> tuple[pd.DataFrame, dict[str, Vocabulary]]:
    """Integer codes decoded and every class column checked; the attributes' vocabularies.

    The part of stage 3 every table goes through, a detector audit's labels too.
    Returns the table (inferred attributes as strings) and the vocabulary of every
    attribute, in ``decisions.attribute_names`` order.
    """
    table = joined.table
    label_cols = joined.label_columns
    pred_source = joined.pred_source
    label_source = joined.label_source
    row_column = LABEL_ROW if label_source is not None else PRED_ROW
    task_names = list(decisions.tasks)
    attribute_names = decisions.attribute_names
    decoded = {}
    for column, attribute in decisions.class_columns.items():
        if column not in table.columns or not is_integer_coded(table[column]):
            continue
        decoded[column] = decode_integer_codes(
            table[column],
            column=column,
            attribute=attribute,
            coding=_coding_of(column, attribute, decisions, spec),
            source=(label_source or pred_source) if column in label_cols else pred_source,
            rows=table[row_column].to_numpy() if row_column in table.columns else None,
        )
    if decoded:
        table = table.assign(**decoded)
    attr_vocabs = dict(decisions.attributes)
    # one check for every column that names a class
    for column, attribute in decisions.class_columns.items():
        if column not in table.columns:
            continue
        vocab = decisions.tasks.get(attribute) if attribute in task_names else None
        if vocab is None:
            vocab = attr_vocabs.get(attribute)
        if vocab is None:
            continue
        from_labels = column in label_cols
        rows_col = LABEL_ROW if from_labels else PRED_ROW
        is_attribute = column in attribute_names and column not in task_names
        check_class_column(
            table[column],
            vocab,
            column=column,
            source=(label_source if from_labels else pred_source) or pred_source,
            rows=table[rows_col].to_numpy() if rows_col in table.columns else None,
            allow_missing=is_attribute and spec.missing == "group",
        )
    for name in decisions.inferred:
        if inferred is not None and name in inferred:
            attr_vocabs[name] = inferred[name]
        else:
            attr_vocabs[name] = inferred_classes(table[name], name, missing=spec.missing)
        table = table.assign(**{name: as_str_labels(table[name])})
    attr_vocabs = {n: attr_vocabs[n] for n in attribute_names if n in attr_vocabs}
    return table, attr_vocabs


def finish(
    joined: JoinedInputs,
    decisions: Decisions,
    spec: InputSpec,
    *,
    inferred: Mapping[str, Vocabulary] | None = None,
    warn_unused: bool = True,
    disagreements: dict[str, Disagreements] | None = None,
    first_position: int = 1,
) -> PreparedInputs:
    """Stage 3: decode integer codes, check every class column and age, build the arrays.

    Parameters
    ----------
    joined : JoinedInputs
        Stage 1's table.
    decisions : Decisions
        Stage 2's decisions.
    spec : InputSpec
    inferred : mapping of str to Vocabulary, optional
        The classes of ``decisions.inferred``, decided over the whole table (a Dask
        audit's partitions); default: from this table's values.
    warn_unused : bool, default=True
        Warn (:class:`~fairaudit.inputs._tasks.UnusedColumnWarning`) about columns
        that look like predictions but match no task.
    disagreements : dict, optional
        Predictions that disagree with their own probabilities are tallied here and
        judged by the caller on the whole table (a table read in chunks); default:
        judged on this table.
    first_position : int, default=1
        The position of this table's first joined row among the whole table's (a
        chunk's), for the messages that name rows by position.
    """
    table, attr_vocabs = decoded_and_checked(joined, decisions, spec, inferred=inferred)
    label_cols = joined.label_columns
    pred_source = joined.pred_source
    label_source = joined.label_source
    task_names = list(decisions.tasks)
    attribute_names = decisions.attribute_names
    for column in table.columns:
        if isinstance(column, str) and column.removesuffix(PRED_SUFFIX).endswith(_YEARS_SUFFIX):
            from_labels = column in label_cols
            rows_col = LABEL_ROW if from_labels else PRED_ROW
            check_age_column(
                table[column],
                column=column,
                source=(label_source if from_labels else pred_source) or pred_source,
                rows=table[rows_col].to_numpy() if rows_col in table.columns else None,
            )
    table = table.drop(columns=[c for c in (LABEL_ROW, PRED_ROW) if c in table.columns])
    if warn_unused:
        warn_unused_columns(joined.readable, table.columns, task_names, pred_source)
    arrays = prepare_table(
        table,
        tasks=decisions.tasks,
        attributes=attribute_names,
        mappings=spec.mappings,
        proba_atol=spec.proba_atol,
        source=pred_source,
        disagreements=disagreements,
        first_row=first_position,
    )
    names = arrays.pop("attributes")
    attrs: dict[str, Vocabulary] | list[str] = (
        attr_vocabs if set(attr_vocabs) == set(names) else names
    )
    return PreparedInputs(
        table=table, tasks=decisions.tasks, attributes=attrs, arrays=arrays, joined=joined
    )


def prepare_labels(
    table: pd.DataFrame, spec: InputSpec, *, source: str
) -> tuple[pd.DataFrame, dict[str, Vocabulary], list[dict[str, Any]]]:
    """A labels table alone through the stage (a detector audit: images, no predictions).

    The spec's repairs applied, the attributes decided as for an audit, integer codes
    decoded and every class column checked (errors name ``source`` and its rows).
    Returns the table, the attributes' vocabularies (in the spec's order) and the
    repairs applied.
    """
    unknown = sorted(set(spec.label_repairs or {}) - set(table.columns))
    if unknown:
        raise DataValidationError(
            f"label_repairs name column(s) {unknown} that the labels ({source}) do not hold"
        )
    log: list[dict[str, Any]] = []
    table = apply_label_repairs(
        table.reset_index(drop=True), spec.label_repairs, source=source, log=log
    )
    joined = JoinedInputs(
        table=table.assign(**{LABEL_ROW: np.arange(1, len(table) + 1)}),
        readable=table.iloc[:0, :0],
        pred_source=source,
        label_source=source,
        label_columns={str(c) for c in table.columns},
        repairs=log,
    )
    decisions = decide(joined.table, (), spec, found=())
    checked, vocabularies = decoded_and_checked(joined, decisions, spec)
    return checked.drop(columns=LABEL_ROW), vocabularies, log


def warn_unused_columns(
    predictions: pd.DataFrame,
    joined_columns: Sequence[Any],
    task_names: Sequence[str],
    source: str,
) -> None:
    """Warn about prediction columns that match no audited task (:class:`UnusedColumnWarning`)."""
    regression = [
        c[: -len(PRED_SUFFIX)]
        for c in joined_columns
        if isinstance(c, str)
        and c.endswith(PRED_SUFFIX)
        and c[: -len(PRED_SUFFIX)] in set(joined_columns)
    ]
    unused = unused_prediction_columns(predictions, task_names, regression)
    if unused:
        warnings.warn(
            f"{source}: column(s) {unused} look like predictions but match no task "
            f"(audited: {list(task_names)}; a task's columns are {{task}}_pred, {{task}}_prob "
            "or {task}_prob_<class>); they are not audited",
            UnusedColumnWarning,
            stacklevel=5,
        )


def prepare_inputs(
    predictions: pd.DataFrame | str | os.PathLike[str],
    labels: pd.DataFrame | str | os.PathLike[str] | None,
    spec: InputSpec,
) -> PreparedInputs:
    """Whole tables -> the inputs of an audit: stages 1, 2 and 3, each entered once."""
    joined = read_and_join(predictions, labels, spec)
    decisions = decide(joined.table, joined.readable, spec)
    return finish(joined, decisions, spec)


def input_metadata(
    joined: JoinedInputs, spec: InputSpec, *, model: str | None = None
) -> dict[str, Any]:
    """The audit's record of its inputs: sources, mappings, coding, repairs, join, left out.

    ``model`` (the audited model's name) is recorded when given.
    """
    metadata: dict[str, Any] = {
        "data": {"predictions": joined.pred_source, "labels": joined.label_source},
        "mappings": {
            t: getattr(m, "name", None) or repr(m) for t, m in (spec.mappings or {}).items()
        },
    }
    if model is not None:
        metadata["model"] = model
    if spec.coding is not None:
        metadata["coding"] = {
            k: v if isinstance(v, str) else str(v) for k, v in coding_by_column(spec.coding).items()
        }
    if joined.repairs:
        metadata["repairs"] = joined.repairs
    if joined.join is not None:
        metadata["join"] = joined.join
    metadata["left_out"] = joined.left_out
    return metadata


def coding_record(spec: InputSpec) -> dict[str, str]:
    """The audit's record of ``spec.coding``: the coding per task, attribute or column."""
    return {
        k: v if isinstance(v, str) else str(v) for k, v in coding_by_column(spec.coding).items()
    }


def restricted(joined: JoinedInputs, rows: np.ndarray) -> JoinedInputs:
    """``joined`` with only the rows of its table at positions ``rows``, in that order
    (a pairing's rows: those both versions predicted)."""
    return replace(joined, table=joined.table.iloc[rows].reset_index(drop=True))
