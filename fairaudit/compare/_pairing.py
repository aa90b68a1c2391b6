"""Pairing two versions' predictions on the same rows into :class:`PairedCounts`.

Each predictions table goes through the input stage of
:func:`fairaudit.model_audit.audit_table` (:mod:`fairaudit.inputs`: same key, same
status handling, repairs, codings, parsing of predicted labels and probabilities,
same vocabularies), then only the rows both versions predicted are kept. Rows left
out are counted per reason in ``metadata["join"]`` and warned about
(:class:`~fairaudit.model_audit.JoinWarning`): unreadable images (``status`` other
than ``"ok"``, as written by ``fairaudit predict``), rows without a label row, rows
the other version lacks. Labels or predictions outside the vocabularies are errors, as in an audit.

Only aggregates leave this module: per task, ``counts[cell, true, a_correct,
b_correct]``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.compare._paired import PairedCounts
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._counts import cell_index
from fairaudit.inputs._join import JoinWarning
from fairaudit.inputs._prepare import coding_record, decide, finish, read_and_join, restricted
from fairaudit.inputs._read import read_table
from fairaudit.inputs._spec import InputSpec
from fairaudit.inputs._tasks import detect_tasks
from fairaudit.inputs._vocabularies import as_str_labels
from fairaudit.model_audit._accumulator import audit_predictions
from fairaudit.model_audit._encoding import MISSING, encode_labels
from fairaudit.schema import FILE_COLUMN
from fairaudit.vocab import ClassMapping, Vocabulary

__all__ = ["paired_counts"]

_EXAMPLES = 5


def _name_of(table: object, default: str) -> str:
    if isinstance(table, pd.DataFrame):
        return default
    return Path(table).stem  # type: ignore[arg-type]


def _cells(
    prepared: Mapping[str, Any],
    attributes: Mapping[str, Vocabulary],
    tasks: Mapping[str, Vocabulary],
    *,
    explicit_vocabularies: bool,
    missing: str,
    n_rows: int,
) -> np.ndarray:
    """Cell code of each row, encoded as :class:`AuditAccumulator.update` encodes it."""
    sensitive = prepared["sensitive_features"]
    codes = []
    for name, vocab in attributes.items():
        explicit = name in sensitive
        values = sensitive[name] if explicit else prepared["y_true"][name]
        if explicit and name not in tasks and not explicit_vocabularies:
            values = as_str_labels(values)
        missing_code = (
            vocab.classes.index(MISSING)
            if missing == "group" and explicit and MISSING in vocab
            else None
        )
        codes.append(
            encode_labels(
                values, vocab, what=f"sensitive attribute {name}", missing_code=missing_code
            )
        )
    shape = tuple(len(v) for v in attributes.values())
    return cell_index(codes, shape, n_rows=n_rows)


def paired_counts(
    predictions_a: pd.DataFrame | str | os.PathLike[str],
    predictions_b: pd.DataFrame | str | os.PathLike[str],
    labels: pd.DataFrame | str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None = None,
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = ("gender", "age", "race"),
    on: str = FILE_COLUMN,
    mappings: Mapping[str, ClassMapping | Callable[[Any], Any]] | None = None,
    missing: str = "error",
    unmatched: str = "report",
    proba_atol: float = 1e-3,
    coding: Mapping[str, Any] | str | None = None,
    label_repairs: Mapping[str, Mapping[str, str]] | None = None,
) -> PairedCounts:
    """Count, per cell and true class, which rows each of two versions got right.

    Parameters
    ----------
    predictions_a, predictions_b : pandas.DataFrame or path (.csv, .parquet)
        Predictions of the baseline (A) and the candidate (B), in the format of
        :func:`fairaudit.model_audit.audit_table` (``file``, ``{task}_pred`` and/or
        probabilities; a ``status`` column marks unreadable images).
    labels : pandas.DataFrame or path
        True labels and sensitive attributes, joined on ``on``.
    names : sequence of two str, optional
        Names of the versions (default: the predictions' file names without
        suffix, or ``("A", "B")`` for DataFrames). They label the counts only:
        :func:`~fairaudit.compare.compare_audits` names the versions from their audits
        (the model's name by default) and matches the pairs to them by their counts.
    tasks : mapping, sequence of str, {"fairface", "utkface"}, optional
        Tasks to pair; default: every task both tables predict, with the
        vocabularies :func:`~fairaudit.model_audit.audit_table` would use.
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attributes (cell axes), default gender, age and race; ``None``
        takes :func:`~fairaudit.model_audit.audit_table`'s default (the tasks and
        every face attribute the labels hold). Use the same value as for the two
        audits, so that the pairs can be checked against them.
    on : str, default="file"
        Join key (the full relative image name).
    mappings : mapping, optional
        Model vocabulary -> audited classes, per task, applied to both versions
        (see :func:`~fairaudit.model_audit.audit_table`).
    missing : {"error", "group"}, default="error"
        Missing sensitive values: an error or an explicit ``"missing"`` group.
    unmatched : {"report", "error"}, default="report"
        Rows that cannot be paired (unreadable image, no label row, absent from
        the other version): counted in ``metadata["join"]``, warned about
        (:class:`~fairaudit.model_audit.JoinWarning`) and left out, or an error.
    proba_atol : float, default=1e-3
        Tolerance on probabilities summing to 1.
    coding : {"fairface", "utkface"} or mapping, optional
        How integer-coded class columns are read, as for
        :func:`~fairaudit.model_audit.audit_table` (both versions and the labels).
    label_repairs : mapping, optional
        Explicit repairs ``{column: {raw value: class}}``, as for
        :func:`~fairaudit.model_audit.audit_table` (both versions and the labels).

    Returns
    -------
    PairedCounts
        Per task, ``counts[cell, true, a_correct, b_correct]`` over the rows both
        versions predicted; ``metadata["join"]`` counts the rows left out.

    Raises
    ------
    DataValidationError
        Unreadable files, missing or duplicate keys, labels or predictions outside
        the vocabularies, no task predicted by both, no row predicted by both, or
        any unpaired row with ``unmatched="error"``.
    """
    if unmatched not in ("report", "error"):
        raise DataValidationError(f"unmatched must be 'report' or 'error', got {unmatched!r}")
    if missing not in ("error", "group"):
        raise DataValidationError(f"missing must be 'error' or 'group', got {missing!r}")
    if names is None:
        names = (_name_of(predictions_a, "A"), _name_of(predictions_b, "B"))
        if names[0] == names[1]:
            names = (f"{names[0]} (A)", f"{names[1]} (B)")
    names = tuple(str(n) for n in names)
    if len(names) != 2 or names[0] == names[1]:
        raise DataValidationError(f"names must be two different names, got {list(names)}")
    sources = [
        str(p) if not isinstance(p, pd.DataFrame) else f"predictions of {n}"
        for p, n in zip((predictions_a, predictions_b), names, strict=True)
    ]
    spec = InputSpec(
        on=on,
        tasks=tasks,
        attributes=attributes,
        mappings=mappings,
        unmatched="report",
        missing=missing,
        proba_atol=proba_atol,
        coding=coding,
        label_repairs=label_repairs,
    )
    label_source = str(labels) if not isinstance(labels, pd.DataFrame) else "labels"
    label_frame = read_table(labels, what="labels")
    stage: list[Any] = []
    report: dict[str, dict[str, Any]] = {}
    for role, table, source in zip("ab", (predictions_a, predictions_b), sources, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", JoinWarning)
            part = read_and_join(
                read_table(table, what=source),
                label_frame,
                spec,
                pred_source=source,
                label_source=label_source,
            )
        stage.append(part)
        join = part.join or {}
        n_unreadable = sum(part.left_out["status"].values())
        report[role] = {
            "source": source,
            "prediction_rows": join["prediction_rows"] + n_unreadable,
            "unreadable_rows": n_unreadable,
            "rows_without_label": join["unmatched_prediction_rows"],
            "examples_without_label": join["unmatched_examples"],
        }
    joined = [part.table for part in stage]
    keys_a, keys_b = joined[0][on], joined[1][on]
    in_b = keys_a.isin(set(keys_b)).to_numpy()
    in_a = keys_b.isin(set(keys_a)).to_numpy()
    report["a"]["rows_not_in_other"] = int((~in_b).sum())
    report["a"]["examples_not_in_other"] = keys_a[~in_b].astype(str).head(_EXAMPLES).tolist()
    report["b"]["rows_not_in_other"] = int((~in_a).sum())
    report["b"]["examples_not_in_other"] = keys_b[~in_a].astype(str).head(_EXAMPLES).tolist()
    # B's rows in A's order
    position_in_b = pd.Series(np.arange(len(keys_b)), index=keys_b.to_numpy())
    stage_a = restricted(stage[0], np.flatnonzero(in_b))
    stage_b = restricted(stage[1], position_in_b.loc[keys_a[in_b]].to_numpy())
    n_rows = len(stage_a.table)
    left_out = {
        role: r["unreadable_rows"] + r["rows_without_label"] + r["rows_not_in_other"]
        for role, r in report.items()
    }
    join_report = {
        "key": on,
        "label_rows": len(label_frame),
        "paired_rows": n_rows,
        "a": report["a"],
        "b": report["b"],
    }
    if any(left_out.values()):
        detail = "; ".join(
            f"{name}: {r['unreadable_rows']} unreadable, {r['rows_without_label']} without a "
            f"label row, {r['rows_not_in_other']} not predicted by the other version"
            + (f" (e.g. {r['examples_not_in_other']})" if r["examples_not_in_other"] else "")
            for name, r in zip(names, (report["a"], report["b"]), strict=True)
        )
        message = f"rows that cannot be paired: {detail}"
        if unmatched == "error":
            raise DataValidationError(
                message + " (pass unmatched='report' to pair the rest)",
                cli=message + " (add --unmatched report to pair the rest)",
            )
        warnings.warn(message + "; they are left out of the pairs", JoinWarning, stacklevel=2)
    if n_rows == 0:
        raise DataValidationError(
            f"no row was predicted by both {names[0]!r} and {names[1]!r} and found in the labels"
        )

    found = None
    if tasks is None or isinstance(tasks, str):
        found_a = detect_tasks(stage[0].readable)
        found_b = set(detect_tasks(stage[1].readable))
        found = [t for t in found_a if t in found_b]
        if not found:
            raise DataValidationError(
                f"{names[0]!r} and {names[1]!r} predict no task in common "
                f"({found_a} vs {sorted(found_b)})"
            )
    # one set of decisions for both versions: the same tasks, attributes, class orders
    decisions = decide(stage_a.table, stage_a.readable, spec, found=found)
    first = finish(stage_a, decisions, spec)
    inferred = {n: v for n, v in dict(first.attributes).items() if n in decisions.inferred}
    prepared = [first, finish(stage_b, decisions, spec, inferred=inferred, warn_unused=True)]
    vocabularies = first.tasks
    audits = [
        # the audit of each version's paired rows: validates labels, predictions and
        # probabilities exactly as an audit does, and fixes the vocabularies
        audit_predictions(
            tasks=prep.tasks,
            attributes=prep.attributes,
            missing=missing,
            proba_atol=proba_atol,
            **prep.arrays,
        )
        for prep in prepared
    ]
    # the repairs of both versions' predictions, and of the labels once
    repairs = stage[0].repairs + [r for r in stage[1].repairs if r["source"] != label_source]
    input_records: dict[str, Any] = {"repairs": repairs} if repairs else {}
    if coding is not None:
        input_records["coding"] = coding_record(spec)
    attribute_vocabs = audits[0].attributes
    cell = _cells(
        prepared[0].arrays,
        attribute_vocabs,
        vocabularies,
        explicit_vocabularies=isinstance(attributes, Mapping),
        missing=missing,
        n_rows=n_rows,
    )
    n_cells = int(np.prod([len(v) for v in attribute_vocabs.values()])) if attribute_vocabs else 1
    counts = {}
    for task, vocab in vocabularies.items():
        true = encode_labels(prepared[0].arrays["y_true"][task], vocab, what=f"true {task}")
        correct = [
            encode_labels(prep.arrays["y_pred"][task], vocab, what=f"predicted {task} of {name}")
            == true
            for prep, name in zip(prepared, names, strict=True)
        ]
        c = len(vocab)
        index = ((cell * c + true) * 2 + correct[0]) * 2 + correct[1]
        counts[task] = np.bincount(index, minlength=n_cells * c * 4).reshape(n_cells, c, 2, 2)
    result = PairedCounts(
        tasks=vocabularies,
        attributes=attribute_vocabs,
        counts=counts,
        names=names,
        metadata={
            "names": list(names),
            "data": {
                "predictions_a": sources[0],
                "predictions_b": sources[1],
                "labels": label_source,
            },
            "join": join_report,
            "n_rows": n_rows,
            **input_records,
        },
    )
    # the pairs must reproduce each version's own audit of these rows
    result.check_audits(audits[0], audits[1])
    return result
