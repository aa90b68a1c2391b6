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
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.metrics._accumulator import audit_predictions, resolve_tasks, validate_proba
from fairaudit.metrics._result import AuditResult
from fairaudit.schema import (
    FILE_COLUMN,
    PRED_SUFFIX,
    pred_column,
    prob_column,
    prob_prefix,
    proba_column,
)
from fairaudit.vocab import ClassMapping, Vocabulary

__all__ = [
    "JoinWarning",
    "audit_table",
    "parse_proba_column",
    "prepare_table",
    "read_table",
]

Mapping_ = ClassMapping | Callable[[Any], Any]

_TASK_CANDIDATES = ("gender", "age", "race")


class JoinWarning(UserWarning):
    """Some prediction rows found no label row (reported, and left out of the audit)."""


def read_table(table: pd.DataFrame | str | os.PathLike[str], *, what: str) -> pd.DataFrame:
    """A DataFrame as given, or read from a ``.csv`` / ``.parquet`` file."""
    if isinstance(table, pd.DataFrame):
        return table
    path = Path(table)
    if not path.exists():
        raise DataValidationError(f"{what} file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, ImportError) as exc:
        raise DataValidationError(f"cannot read {what} file {path}: {exc}") from exc


# brackets, separators and the wrappers of numpy reprs ("array(", "np.float32(")
_NUMBER_SPLIT = re.compile(r"(?:np\.|numpy\.)?(?:array|float(?:16|32|64)?)|dtype=\w+|[\[\]\(\),;]")


def parse_proba_column(values: pd.Series, n_classes: int, *, what: str) -> np.ndarray:
    """Parse a column of probability vectors into an ``(n, n_classes)`` array.

    Accepts lists, tuples, numpy arrays, and strings such as ``"[0.1 0.2 0.7]"``
    (numpy's print, line breaks and scientific notation included),
    ``"[0.1, 0.2, 0.7]"``, ``"0.1,0.2,0.7"``, ``"array([0.1, 0.9], dtype=float32)"`` or
    ``"[np.float64(0.1), np.float64(0.9)]"``.

    Raises
    ------
    DataValidationError
        Naming the first unparsable row (1-based), its value, and what was expected.
    """
    out = np.empty((len(values), n_classes), dtype=np.float64)
    for i, value in enumerate(values.tolist()):
        try:
            if isinstance(value, str):
                parts = _NUMBER_SPLIT.sub(" ", value).split()
                vector = np.array([float(p) for p in parts], dtype=np.float64)
            elif value is None or (np.ndim(value) == 0 and pd.isna(value)):
                raise ValueError("missing value")
            else:
                vector = np.asarray(value, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"{what}: row {i + 1} holds {value!r}, not a list of {n_classes} "
                f"probabilities ({exc})"
            ) from exc
        if vector.size != n_classes:
            raise DataValidationError(
                f"{what}: row {i + 1} holds {vector.size} probabilities, expected {n_classes}: "
                f"{value!r}"
            )
        out[i] = vector
    return out


def _model_classes(task: str, vocab: Vocabulary, mapping: Mapping_ | None) -> tuple[str, ...]:
    if isinstance(mapping, ClassMapping):
        if mapping.target != vocab:
            raise DataValidationError(
                f"mapping for {task!r} targets {list(mapping.target.classes)}, but the audited "
                f"classes are {list(vocab.classes)}"
            )
        return tuple(mapping.mapping)
    return vocab.classes


def _probabilities(
    table: pd.DataFrame, task: str, classes: Sequence[str], *, source: str, atol: float
) -> np.ndarray | None:
    per_class = [c for c in table.columns if isinstance(c, str) and c.startswith(prob_prefix(task))]
    single = proba_column(task) in table.columns
    if single and per_class:
        raise DataValidationError(
            f"{source}: both {task}_prob and {task}_prob_<class> columns; keep one form"
        )
    if per_class:
        expected = [prob_column(task, c) for c in classes]
        missing = [c for c in expected if c not in table.columns]
        extra = sorted(set(per_class) - set(expected))
        if missing or extra:
            raise DataValidationError(
                f"{source}: probability columns of {task!r} must be one per model class "
                f"{list(classes)}; missing {missing}, unknown {extra}"
            )
        try:
            arr = table[expected].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"{source}: non-numeric {task} probabilities ({exc})"
            ) from exc
    elif single:
        arr = parse_proba_column(
            table[proba_column(task)], len(classes), what=f"{source} {task}_prob"
        )
    else:
        return None
    vocab = Vocabulary(task, tuple(classes))
    return validate_proba(arr, vocab, what=f"{source}: {task} probabilities", atol=atol)


def prepare_table(
    table: pd.DataFrame,
    *,
    tasks: Mapping[str, Vocabulary],
    attributes: Mapping[str, Vocabulary] | Sequence[str] | None = None,
    mappings: Mapping[str, Mapping_] | None = None,
    proba_atol: float = 1e-3,
    source: str = "predictions",
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
        proba = _probabilities(table, task, classes, source=source, atol=proba_atol)
        if proba is not None and mapping is not None and not isinstance(mapping, ClassMapping):
            raise DataValidationError(
                f"{source}: {task} probabilities cannot go through a function mapping; "
                "use a ClassMapping or drop the probability columns"
            )
        pred_name = pred_column(task)
        if pred_name in table.columns:
            raw = table[pred_name]
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
            if target not in tasks and target in table.columns and target not in reg_true:
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


def _detect_tasks(table: pd.DataFrame) -> list[str]:
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


def join_tables(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    on: str,
    unmatched: str,
    sources: tuple[str, str] = ("predictions", "labels"),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Join predictions to labels on ``on``; count, report or refuse unmatched rows."""
    if unmatched not in ("error", "report"):
        raise DataValidationError(f"unmatched must be 'error' or 'report', got {unmatched!r}")
    for frame, name in ((predictions, sources[0]), (labels, sources[1])):
        if on not in frame.columns:
            raise DataValidationError(
                f"{name}: no key column {on!r}; columns {list(frame.columns)}"
            )
        dup = frame[on][frame[on].duplicated(keep=False) & frame[on].notna()]
        if len(dup):
            raise DataValidationError(
                f"{name}: key {on!r} is not unique; {dup.nunique()} value(s) repeat, e.g. "
                f"{dup.astype(str).unique()[:5].tolist()}"
            )
    preds = predictions.copy()
    taken = [c for c in labels.columns if c != on and c in preds.columns]
    preds = preds.drop(columns=taken)
    left_key = preds[on].astype("object").where(preds[on].notna(), None)
    right = labels.copy()
    right[on] = right[on].astype("object")
    preds[on] = left_key
    merged = preds.merge(right, on=on, how="left", indicator="_join")
    matched = (merged["_join"] == "both").to_numpy()
    n_unmatched = int((~matched).sum())
    label_keys = set(right[on].dropna())
    report = {
        "key": on,
        "prediction_rows": len(predictions),
        "label_rows": len(labels),
        "matched_rows": int(matched.sum()),
        "unmatched_prediction_rows": n_unmatched,
        "labels_without_prediction": len(label_keys) - int(matched.sum()),
        "columns_taken_from_labels": taken,
        "unmatched_examples": merged.loc[~matched, on].astype(str).head(5).tolist(),
    }
    if n_unmatched:
        examples = report["unmatched_examples"]
        hint = ""
        basenames = {str(k).rsplit("/", 1)[-1] for k in label_keys}
        if any(str(e).rsplit("/", 1)[-1] in basenames for e in examples):
            hint = (
                f"; the {sources[1]} name files by their path relative to the dataset root "
                "(e.g. 'val/1.jpg'), and FairFace basenames repeat across splits, so the "
                "predictions must use the same full relative names"
            )
        message = (
            f"{n_unmatched} of {len(predictions)} prediction row(s) have no label row in "
            f"{sources[1]} (by {on!r}), e.g. {examples}{hint}"
        )
        if unmatched == "error":
            raise DataValidationError(message + " (pass unmatched='report' to audit the rest)")
        warnings.warn(message + "; they are left out of the audit", JoinWarning, stacklevel=3)
    return merged.loc[matched].drop(columns="_join").reset_index(drop=True), report


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
) -> AuditResult:
    """Audit a predictions table joined to a labels table by image name.

    Parameters
    ----------
    predictions : pandas.DataFrame or path (.csv, .parquet)
        Model output (see the module docstring for its columns).
    labels : pandas.DataFrame or path, optional
        True labels and other attributes (the tidy table of
        :mod:`fairaudit.datasets`, or any CSV with ``on`` and attribute columns).
        Without it, the true labels must be in ``predictions``. Columns present in
        both come from ``labels``.
    on : str, default="file"
        Join key: the full relative image name (FairFace basenames repeat across
        splits).
    tasks : mapping, sequence of str, {"fairface", "utkface"}, optional
        Audited tasks; default: every task with predictions, with the labels
        column's categorical classes if it has them, else FairFace's.
    attributes : mapping of str to Vocabulary or sequence of str, optional
        Sensitive attribute columns; default: the tasks' true labels.
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

    Returns
    -------
    AuditResult
    """
    pred_source = str(predictions) if not isinstance(predictions, pd.DataFrame) else "predictions"
    pred_frame = read_table(predictions, what="predictions")
    join_report: dict[str, Any] | None = None
    label_source = None
    if labels is not None:
        label_source = str(labels) if not isinstance(labels, pd.DataFrame) else "labels"
        label_frame = read_table(labels, what="labels")
        table, join_report = join_tables(
            pred_frame, label_frame, on=on, unmatched=unmatched, sources=(pred_source, label_source)
        )
    else:
        table = pred_frame
    task_names = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    if task_names is None:
        task_names = _detect_tasks(pred_frame)
    vocabularies = vocabularies_from_labels(table, task_names, tasks)
    kwargs = prepare_table(
        table,
        tasks=vocabularies,
        attributes=attributes,
        mappings=mappings,
        proba_atol=proba_atol,
        source=pred_source,
    )
    metadata: dict[str, Any] = {
        "data": {"predictions": pred_source, "labels": label_source},
        "mappings": {t: getattr(m, "name", None) or repr(m) for t, m in (mappings or {}).items()},
    }
    if join_report is not None:
        metadata["join"] = join_report
    names = kwargs.pop("attributes")
    attrs = attributes if isinstance(attributes, Mapping) else names
    return audit_predictions(
        tasks=vocabularies,
        attributes=attrs,
        missing=missing,
        n_bins=n_bins,
        proba_atol=proba_atol,
        description=description,
        metadata=metadata,
        **kwargs,
    )
