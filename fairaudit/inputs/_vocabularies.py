"""The classes of every column that names one: tasks, predictions, grouping attributes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.inputs._codings import CODINGS
from fairaudit.inputs._repairs import _repair_hint
from fairaudit.schema import PRED_SUFFIX
from fairaudit.vocab import ATTRIBUTES, FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES, Vocabulary

__all__ = [
    "as_str_labels",
    "attribute_vocabulary",
    "check_class_column",
    "infer_vocabulary",
    "resolve_tasks",
    "vocabularies_from_labels",
]

ArrayLike = Any

_NAMED_VOCABULARIES = {"fairface": FAIRFACE_VOCABULARIES, "utkface": UTKFACE_VOCABULARIES}


def resolve_tasks(
    tasks: Mapping[str, Vocabulary] | Sequence[str] | str | None, names: Sequence[str]
) -> dict[str, Vocabulary]:
    """Vocabularies of the audited tasks.

    Parameters
    ----------
    tasks : mapping, sequence of str, {"fairface", "utkface"} or None
        Explicit vocabularies; task names (FairFace vocabularies); a named
        dataset's vocabularies; or ``None``: FairFace vocabularies for ``names``.
    names : sequence of str
        Task names present in the data (used when ``tasks`` is a dataset name or None).
    """
    if isinstance(tasks, Mapping):
        bad = [t for t, v in tasks.items() if not isinstance(v, Vocabulary)]
        if bad:
            raise DataValidationError(f"tasks {bad} must map to fairaudit.vocab.Vocabulary objects")
        return dict(tasks)
    if isinstance(tasks, str):
        if tasks not in _NAMED_VOCABULARIES:
            raise DataValidationError(
                f"unknown vocabulary set {tasks!r}; choose {list(_NAMED_VOCABULARIES)} "
                "or pass a mapping of task -> Vocabulary"
            )
        known = _NAMED_VOCABULARIES[tasks]
    else:
        known = FAIRFACE_VOCABULARIES
        if tasks is not None:
            names = list(tasks)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataValidationError(
            f"no default vocabulary for task(s) {unknown}; pass tasks={{name: Vocabulary}}"
        )
    return {n: known[n] for n in names}


def infer_vocabulary(name: str, values: ArrayLike) -> Vocabulary:
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        return Vocabulary(name, tuple(str(c) for c in cats), bool(series.cat.ordered))
    present = series.dropna().unique()
    if pd.api.types.is_bool_dtype(series.dtype) or (
        len(present) and all(isinstance(v, bool | np.bool_) for v in present)
    ):
        return Vocabulary(name, ("False", "True"))
    return Vocabulary(name, tuple(sorted(str(v) for v in present)))


def as_str_labels(values: ArrayLike) -> ArrayLike:
    """Labels of an inferred vocabulary are strings; turn other values into strings."""
    series = pd.Series(values) if not isinstance(values, pd.Series) else values
    if isinstance(series.dtype, pd.CategoricalDtype):
        return (
            series.astype(object)
            .where(series.notna(), None)
            .map(lambda v: v if v is None else str(v))
        )
    return series.map(lambda v: None if pd.isna(v) else str(v))


def check_class_column(
    values: pd.Series,
    vocab: Vocabulary,
    *,
    column: str,
    source: str,
    rows: np.ndarray | None = None,
    allow_missing: bool = False,
) -> None:
    """Refuse values of a class column outside ``vocab``, with rows, values and a repair hint.

    The one check of every column that names a class: the tasks' true labels and
    predictions and the grouping attributes alike. The error's
    :meth:`~fairaudit.exceptions.FairAuditError.cli_message` gives the hint as
    command-line flags.
    """
    series = values.astype("object").reset_index(drop=True)
    if allow_missing:
        keep = series.notna().to_numpy()
        series = series[keep].reset_index(drop=True)
        if rows is not None:
            rows = np.asarray(rows)[keep]
    codes = pd.Index(vocab.classes).get_indexer(series)
    bad = np.flatnonzero(codes < 0)
    if not bad.size:
        return
    distinct = list(dict.fromkeys("<missing>" if pd.isna(v) else v for v in series.iloc[bad]))
    named = Vocabulary(column, vocab.classes, vocab.ordered)
    python, cli = _repair_hint(column, column.removesuffix(PRED_SUFFIX), vocab, distinct)
    try:
        named.encode(series, source=source, rows=rows)
    except UnknownLabelError as exc:
        raise UnknownLabelError(
            str(exc) + python,
            column=exc.column,
            values=exc.values,
            rows=exc.rows,
            source=exc.source,
            cli=str(exc) + cli,
        ) from None


def vocabularies_from_labels(
    table: pd.DataFrame, names: Sequence[str], tasks_arg: Any
) -> dict[str, Vocabulary]:
    """Default vocabularies: a labels column's categorical dtype wins over FairFace's."""
    if tasks_arg is not None:
        return resolve_tasks(tasks_arg, names)
    out = {}
    defaults = resolve_tasks(None, names)
    for name in names:
        column = table[name] if name in table.columns else None
        if column is not None and isinstance(column.dtype, pd.CategoricalDtype):
            cats = tuple(str(c) for c in column.cat.categories)
            out[name] = Vocabulary(name, cats, bool(column.cat.ordered))
        else:
            out[name] = defaults[name]
    return out


def attribute_vocabulary(
    name: str,
    column: pd.Series,
    *,
    tasks_arg: Any,
    vocabularies: Mapping[str, Vocabulary],
    coding: Mapping[str, Any],
) -> Vocabulary | None:
    """Classes of a grouping column: the task's, a declared or coded set's, a categorical's,
    else FairFace's for a face attribute; ``None`` (inferred from the values) otherwise."""
    if name in vocabularies:
        return vocabularies[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        cats = tuple(str(c) for c in column.cat.categories)
        return Vocabulary(name, cats, bool(column.cat.ordered))
    if name not in ATTRIBUTES:
        return None
    if isinstance(tasks_arg, str) and tasks_arg in CODINGS:
        return CODINGS[tasks_arg][name]
    named = coding.get(name)
    if isinstance(named, str) and named in CODINGS and name in CODINGS[named]:
        return CODINGS[named][name]
    return FAIRFACE_VOCABULARIES[name]
