"""Which tasks a predictions table predicts, and columns that look like predictions of none."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.schema import pred_column, prob_prefix, proba_column

__all__ = ["UnusedColumnWarning", "detect_tasks", "unused_prediction_columns"]

_TASK_CANDIDATES = ("gender", "age", "race")

# columns that look like a model's output: {name}_pred, {name}_prediction, {name}_scores...
_PREDICTION_LIKE = re.compile(
    r"^(?P<name>.+?)_(?:pred|preds|prediction|predictions|predicted|prob|probs|proba|"
    r"probability|probabilities|score|scores|logits?)(?:_.*)?$"
)
# the same words first (``pred_age``, ``prob_race_White``)
_PREDICTION_PREFIX = re.compile(
    r"^(?:pred|preds|prediction|predictions|predicted|prob|probs|proba|probability|"
    r"probabilities|score|scores|logits?)_(?P<name>.+)$"
)


class UnusedColumnWarning(UserWarning):
    """A column looks like a model's predictions but matches no audited task."""


def detect_tasks(table: pd.DataFrame) -> list[str]:
    found = []
    for task in _TASK_CANDIDATES:
        predicted = pred_column(task) in table.columns or any(
            isinstance(c, str) and (c == proba_column(task) or c.startswith(prob_prefix(task)))
            for c in table.columns
        )
        if predicted:
            found.append(task)
    if not found:
        raise DataValidationError(
            "the predictions table has no prediction columns ({task}_pred, {task}_prob or "
            f"{{task}}_prob_<class> for {list(_TASK_CANDIDATES)}); columns: {list(table.columns)}"
        )
    return found


def unused_prediction_columns(
    frame: pd.DataFrame, tasks: Sequence[str], regression: Sequence[str]
) -> list[str]:
    """Columns that look like a model's output but match no audited or known task."""
    known = set(tasks) | set(_TASK_CANDIDATES)
    out = []
    for column in frame.columns:
        if not isinstance(column, str) or column.startswith("__fairaudit_"):
            continue
        # surrounding spaces do not hide a column (``"race_pred "`` is not ``race_pred``)
        match = _PREDICTION_LIKE.match(column.strip()) or _PREDICTION_PREFIX.match(column.strip())
        if not match:
            continue
        name = match.group("name")
        schema_form = column == pred_column(name) or column == proba_column(name)
        schema_form = schema_form or column.startswith(prob_prefix(name))
        if name in known and schema_form:
            continue
        if column == pred_column(name) and name in regression:
            continue
        out.append(column)
    return out
