"""The arrays an audit counts, from a joined, checked table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._probabilities import (
    Disagreements,
    _model_classes,
    _probabilities,
    check_pred_matches_proba,
)
from fairaudit.inputs._spec import Mapping_
from fairaudit.inputs._tasks import _TASK_CANDIDATES
from fairaudit.schema import PRED_SUFFIX, pred_column
from fairaudit.vocab import ClassMapping, Vocabulary

__all__ = ["prepare_table"]


def prepare_table(
    table: pd.DataFrame,
    *,
    tasks: Mapping[str, Vocabulary],
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    proba_atol: float = 1e-3,
    source: str = "predictions",
    disagreements: dict[str, Disagreements] | None = None,
    first_row: int = 1,
) -> dict[str, Any]:
    """Inputs of an audit from a joined table.

    Returns a dict with ``attributes`` (the attribute names, for the
    accumulator) and the keyword arguments of :meth:`AuditAccumulator.update`.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per face: true labels, ``{task}_pred`` and/or probabilities, and
        the sensitive attribute columns.
    tasks : mapping of str to Vocabulary
        Audited tasks (their true label columns must be present).
    attributes : mapping or sequence of str, optional
        Sensitive attribute columns (default: the tasks' true labels).
    mappings : mapping of str to ClassMapping or callable, optional
        Model vocabulary -> audited classes, per task.
    disagreements : dict, optional
        Tally of predictions that disagree with their probabilities, decided on the
        whole table by the caller (a table read in chunks); default: decided here.
    first_row : int, default=1
        The position of the table's first row in the whole table (messages name rows).
    """
    mappings = dict(mappings or {})
    unknown = sorted(set(mappings) - set(tasks))
    if unknown:
        raise DataValidationError(
            f"mappings for {unknown}, which are not audited tasks {list(tasks)}"
        )
    y_true: dict[str, Any] = {}
    y_pred: dict[str, Any] = {}
    y_proba: dict[str, np.ndarray] = {}
    reg_true: dict[str, Any] = {}
    reg_pred: dict[str, Any] = {}
    for task, vocab in tasks.items():
        if task not in table.columns:
            raise DataValidationError(
                f"{source}: no true labels for task {task!r} (column {task!r}) after the join"
            )
        y_true[task] = table[task]
        mapping = mappings.get(task)
        classes = _model_classes(task, vocab, mapping)
        proba = _probabilities(
            table, task, classes, source=source, atol=proba_atol, first_row=first_row
        )
        if proba is not None and mapping is not None and not isinstance(mapping, ClassMapping):
            raise DataValidationError(
                f"{source}: {task} probabilities cannot go through a function mapping; "
                "use a ClassMapping or drop the probability columns"
            )
        pred_name = pred_column(task)
        if pred_name in table.columns:
            raw = table[pred_name]
            if proba is not None:
                check_pred_matches_proba(
                    raw,
                    proba,
                    classes,
                    table=table,
                    source=source,
                    tally=disagreements,
                    first_row=first_row,
                )
        elif proba is not None:
            raw = pd.Series(np.asarray(classes, dtype=object)[proba.argmax(axis=1)])
        else:
            raise DataValidationError(
                f"{source}: task {task!r} has neither a {pred_name} column nor probabilities"
            )
        if isinstance(mapping, ClassMapping):
            y_pred[task] = mapping.apply(raw, source=f"{source} {pred_name}")
            if proba is not None:
                target = np.zeros((len(table), len(vocab)))
                for k, cls in enumerate(classes):
                    target[:, vocab.classes.index(mapping.mapping[cls])] += proba[:, k]
                proba = target
        elif mapping is not None:
            try:
                y_pred[task] = mapping(raw.to_numpy())
            except DataValidationError as exc:
                raise DataValidationError(f"{source} {pred_name}: {exc}") from exc
            years = f"{task}_years"
            if years in table.columns:
                reg_true[years] = table[years]
                reg_pred[years] = raw
        else:
            y_pred[task] = raw
        if proba is not None:
            y_proba[task] = proba
    for column in table.columns:
        if isinstance(column, str) and column.endswith(PRED_SUFFIX):
            target = column[: -len(PRED_SUFFIX)]
            if (
                target not in tasks
                and target not in _TASK_CANDIDATES  # a class task that is not audited
                and target in table.columns
                and target not in reg_true
                and pd.api.types.is_numeric_dtype(table[target].dtype)
                and not pd.api.types.is_bool_dtype(table[target].dtype)
            ):
                reg_true[target] = table[target]
                reg_pred[target] = table[column]
    if attributes is None:
        names = list(tasks)
    else:
        names = list(attributes)
    missing_columns = [n for n in names if n not in table.columns]
    if missing_columns:
        raise DataValidationError(
            f"{source}: sensitive attribute column(s) {missing_columns} not found; "
            f"columns are {list(table.columns)}"
        )
    # attributes that are tasks come from the true labels (y_true)
    sensitive = {n: table[n] for n in names if n not in tasks}
    return {
        "attributes": names,
        "y_true": y_true,
        "y_pred": y_pred,
        "y_proba": y_proba,
        "sensitive_features": sensitive,
        "y_true_regression": reg_true,
        "y_pred_regression": reg_pred,
    }
