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

import json
import logging
import os
import re
import shlex
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.model_audit._accumulator import (
    _as_str_labels,
    _infer_vocabulary,
    audit_predictions,
    resolve_tasks,
    validate_proba,
)
from fairaudit.model_audit._result import AuditResult
from fairaudit.schema import (
    FILE_COLUMN,
    PRED_SUFFIX,
    STATUS_COLUMN,
    STATUS_OK,
    pred_column,
    prob_column,
    prob_prefix,
    proba_column,
)
from fairaudit.vocab import (
    ATTRIBUTES,
    FAIRFACE_VOCABULARIES,
    UTKFACE_VOCABULARIES,
    ClassMapping,
    Vocabulary,
)

__all__ = [
    "CODINGS",
    "JoinWarning",
    "UnusedColumnWarning",
    "apply_label_repairs",
    "audit_table",
    "check_class_column",
    "decode_integer_codes",
    "readable_rows",
    "parse_proba_column",
    "prepare_table",
    "read_table",
]

Mapping_ = ClassMapping | Callable[[Any], Any]

_TASK_CANDIDATES = ("gender", "age", "race")

_log = logging.getLogger("fairaudit")

#: Named integer codings of the class columns: code ``i`` is class ``i`` of that
#: dataset's vocabulary (``--coding race=utkface``).
CODINGS: dict[str, dict[str, Vocabulary]] = {
    "fairface": FAIRFACE_VOCABULARIES,
    "utkface": UTKFACE_VOCABULARIES,
}

# hidden row numbers carried through the join, so errors name the row of the file
_LABEL_ROW = "__fairaudit_label_row__"
_PRED_ROW = "__fairaudit_prediction_row__"

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

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class JoinWarning(UserWarning):
    """Rows left out of the audit: prediction rows without a label row, label rows
    without a prediction, or prediction rows whose ``status`` is not ``"ok"``
    (counted in ``result.metadata["left_out"]``)."""


class UnusedColumnWarning(UserWarning):
    """A column looks like a model's predictions but matches no audited task."""


# -- rows that are not predictions ----------------------------------------------------------


def readable_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], pd.Series]:
    """Rows whose ``status`` is ``"ok"`` (all rows without a status column).

    Returns the kept rows, the number left out per status value (a missing status
    counts as ``"missing"``), and the keys of the left-out rows' (their index).
    """
    if STATUS_COLUMN not in frame.columns:
        return frame, {}, frame.iloc[:0].index.to_series()
    status = frame[STATUS_COLUMN].astype("object")
    ok = status.eq(STATUS_OK).to_numpy()
    left = status[~ok].where(status[~ok].notna(), "missing").astype(str)
    counts = {str(k): int(v) for k, v in left.value_counts(sort=True).items()}
    return frame.loc[ok], counts, frame.index[~ok].to_series()


# -- label repairs --------------------------------------------------------------------------


def apply_label_repairs(
    frame: pd.DataFrame,
    repairs: Mapping[str, Mapping[str, str]] | None,
    *,
    source: str,
    log: list[dict[str, Any]],
) -> pd.DataFrame:
    """Apply explicit repairs ``{column: {raw value: class}}`` to the columns ``frame`` holds.

    Every applied repair is logged (logger ``fairaudit``) and appended to ``log`` as
    ``{"source", "column", "from", "to", "n_rows"}``. Nothing is repaired implicitly.
    """
    if not repairs:
        return frame
    out = frame
    for column, mapping in repairs.items():
        if column not in frame.columns:
            continue
        if not isinstance(mapping, Mapping):
            raise DataValidationError(
                f"label_repairs[{column!r}] must map raw values to classes, got {mapping!r}"
            )
        values = out[column].astype("object")
        for raw, fixed in mapping.items():
            hit = values.astype(str).eq(str(raw)).to_numpy() & values.notna().to_numpy()
            n_rows = int(hit.sum())
            if n_rows:
                if out is frame:
                    out = frame.copy()
                values = values.where(~hit, fixed)
            _log.info("%s: repaired %s %r -> %r in %d rows", source, column, raw, fixed, n_rows)
            log.append(
                {"source": source, "column": column, "from": raw, "to": fixed, "n_rows": n_rows}
            )
        if out is not frame:
            out[column] = values
    return out


def _excel_forms(label: str) -> set[str]:
    """How a spreadsheet shows a range label it took for a date ('3-9' -> '9-Mar')."""
    match = re.fullmatch(r"(\d+)-(\d+)", label)
    if not match:
        return set()
    a, b = int(match.group(1)), int(match.group(2))
    forms = set()
    if 1 <= a <= 12 and 1 <= b <= 31:  # month-day
        forms |= {f"{b}-{_MONTHS[a - 1]}", f"{_MONTHS[a - 1]}-{b}", f"{_MONTHS[a - 1]}-{b:02d}"}
    if 1 <= b <= 12 and 1 <= a <= 31:  # day-month
        forms |= {f"{a}-{_MONTHS[b - 1]}", f"{_MONTHS[b - 1]}-{a}", f"{a:02d}-{_MONTHS[b - 1]}"}
    return forms


def _years_like(values: Sequence[object]) -> bool:
    """Whether unknown age labels are numbers of years (``23``, ``41.5``, ``"36"``)."""
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return bool(numbers) and all(np.isfinite(n) and 0 <= n <= 130 for n in numbers)


def _repair_hint(
    column: str, attribute: str, vocab: Vocabulary, bad_values: Sequence[object]
) -> tuple[str, str]:
    """How to repair unknown labels of ``column``: the Python keyword and the CLI flags.

    Returns the hint for the Python message (keyword, then ``(CLI: flags)``) and the
    one for the command line (flags only). The flags name ``column`` itself
    (``gender_pred``, not ``gender``: a repair applies to the column it names), are
    quoted for the shell, and work when copied as printed.
    """
    present = [v for v in bad_values if not pd.isna(v)]
    if attribute == "age" and column == pred_column("age") and _years_like(present):
        return (
            "; they look like ages in years: audit them through the years mapping, "
            "mappings={'age': fairaudit.vocab.age_years_to_group} (CLI: --map age=years)",
            "; they look like ages in years: audit them through the years mapping, --map age=years",
        )
    variants: dict[str, str] = {}
    rewritten: dict[str, str] = {}
    for value in present:
        if not isinstance(value, str):
            continue
        for cls in vocab.classes:
            if value.strip().casefold() == cls.casefold():
                variants[value] = cls
            elif value in _excel_forms(cls):
                rewritten[value] = cls
    notes = []
    if variants:
        notes.append(
            f"{sorted(variants)} differ from the classes {sorted(set(variants.values()))} "
            "only in case or surrounding spaces"
        )
    if rewritten:
        notes.append(
            f"{sorted(rewritten)} look like a spreadsheet's rewriting of "
            f"{sorted(set(rewritten.values()))} as dates"
        )
    note = f" ({'; '.join(notes)})" if notes else ""
    example = {**variants, **rewritten} or {str(v): "<class>" for v in present[:1]}
    if not example:
        return "", ""
    flags = "--repair " + " ".join(
        shlex.quote(f"{column}:{raw}={cls}") for raw, cls in example.items()
    )
    other = [
        name
        for name, vocabs in CODINGS.items()
        if attribute in vocabs
        and vocabs[attribute] != vocab
        and all(v in vocabs[attribute] for v in present)
    ]
    python = f"{note}; repair them explicitly with label_repairs={{{column!r}: {example!r}}}"
    cli = f"{note}; repair them explicitly with {flags}"
    python += f" (CLI: {flags})"
    if other:
        name = other[0]
        python += f"; or audit with the {name} vocabulary (tasks={name!r}, --vocab {name})"
        cli += f"; or audit with the {name} vocabulary: --vocab {name}"
    return python, cli


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


#: Ages in years (true ``age_years`` and predicted ``age_years_pred``) lie in this range.
AGE_YEARS_RANGE = (0.0, 130.0)
_YEARS_SUFFIX = "_years"


def check_age_column(
    values: pd.Series, *, column: str, source: str, rows: np.ndarray | None = None
) -> None:
    """Refuse ages in years outside :data:`AGE_YEARS_RANGE` (or not finite), naming rows.

    Missing values are left to the regression audit (which counts them); a present
    value of -5 or 1e9 years is an error, true or predicted.
    """
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = values.notna().to_numpy()
    low, high = AGE_YEARS_RANGE
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(present & ~((numbers >= low) & (numbers <= high)))
    if not bad.size:
        return
    where = np.asarray(rows)[bad] if rows is not None else bad + 1
    shown = ", ".join(
        f"row {int(r)}: {values.iloc[i]}" for r, i in zip(where[:5], bad[:5], strict=True)
    )
    raise DataValidationError(
        f"{source}: column {column!r} holds ages in years outside [{low:g}, {high:g}] "
        f"in {bad.size} row(s) ({shown}{', ...' if bad.size > 5 else ''})"
    )


# -- integer codes --------------------------------------------------------------------------


def _is_integer_coded(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_integer_dtype(series.dtype):
        return True
    if pd.api.types.is_float_dtype(series.dtype):
        present = series.dropna().to_numpy()
        return bool(present.size) and bool(np.all(present == np.floor(present)))
    return False


def _coding_classes(
    spec: object, attribute: str, *, source: str
) -> tuple[tuple[str, ...], str | None]:
    """Classes in code order of a coding: a named one, a list, a {code: label} mapping or file."""
    if isinstance(spec, str) and spec in CODINGS:
        vocabs = CODINGS[spec]
        if attribute not in vocabs:
            raise DataValidationError(
                f"coding {spec!r} has no {attribute!r} classes; it codes {list(vocabs)}"
            )
        return vocabs[attribute].classes, spec
    if isinstance(spec, str | os.PathLike):
        path = Path(spec)
        if not path.is_file():
            raise DataValidationError(
                f"coding {str(spec)!r} for {attribute!r} is neither {list(CODINGS)} nor a JSON file"
            )
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataValidationError(f"{path}: not a readable JSON coding ({exc})") from None
    if isinstance(spec, Mapping):
        try:
            by_code = {int(k): str(v) for k, v in spec.items()}
        except (TypeError, ValueError):
            raise DataValidationError(
                f"coding of {attribute!r} must map integer codes to labels, got {dict(spec)!r}"
            ) from None
        if sorted(by_code) != list(range(len(by_code))):
            raise DataValidationError(
                f"coding of {attribute!r} must give codes 0..{len(by_code) - 1}, got "
                f"{sorted(by_code)}"
            )
        return tuple(by_code[i] for i in range(len(by_code))), None
    if isinstance(spec, Sequence):
        return tuple(str(c) for c in spec), None
    raise DataValidationError(f"coding of {attribute!r}: cannot read {spec!r}")


def decode_integer_codes(
    series: pd.Series,
    *,
    column: str,
    attribute: str,
    coding: object | None,
    source: str,
    rows: np.ndarray | None = None,
) -> pd.Series:
    """Integer codes of a class column as labels, through an explicit coding only.

    Raises
    ------
    DataValidationError
        Integer codes without a coding (naming the column and the codings they could
        be), or codes outside the coding.
    """
    present = series.dropna().to_numpy(dtype=np.int64)
    if coding is None:
        fits = [
            f"{name} ({len(v[attribute])} classes: {list(v[attribute].classes)})"
            for name, v in CODINGS.items()
            if attribute in v and (not present.size or present.max() < len(v[attribute]))
        ]
        values = sorted(set(present.tolist()))[:12]
        if column == pred_column("age") and present.size and _years_like(present.tolist()):
            years = f"{source}: column {column!r} holds the numbers {values}"
            if not fits:
                raise DataValidationError(
                    f"{years}, which look like ages in years: audit them through the years "
                    "mapping, mappings={'age': fairaudit.vocab.age_years_to_group} "
                    "(CLI: --map age=years)",
                    cli=f"{years}, which look like ages in years: audit them through the years "
                    "mapping, --map age=years",
                )
        could = "; it could be " + " or ".join(fits) if fits else ""
        head = (
            f"{source}: column {column!r} holds integer codes {values}, and integer codes are "
            "read only with an explicit coding (they are not assumed to be in FairFace "
            f"order){could}. Say which: "
        )
        or_years = (
            "; or, if they are ages in years, the years mapping "
            if column == pred_column("age")
            else ""
        )
        raise DataValidationError(
            f"{head}coding={{{attribute!r}: 'utkface'}} or a {{code: label}} mapping "
            f"(CLI: --coding {attribute}=utkface, or --coding {attribute}=coding.json), or "
            f"declare the vocabularies that labels and predictions share (tasks='fairface', "
            f"--vocab fairface)"
            + (
                f"{or_years}(mappings={{'age': age_years_to_group}}, --map age=years)"
                if or_years
                else ""
            ),
            cli=f"{head}--coding {attribute}=utkface, or --coding {attribute}=coding.json "
            '({"0": "label", ...}), or declare the vocabularies that labels and predictions '
            "share with --vocab fairface" + (f"{or_years}--map age=years" if or_years else ""),
        )
    classes, _ = _coding_classes(coding, attribute, source=source)
    codes = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isnan(codes) & ((codes < 0) | (codes >= len(classes))))
    if bad.size:
        where = (np.asarray(rows)[bad] if rows is not None else bad + 1)[:10].tolist()
        raise DataValidationError(
            f"{source}: column {column!r} holds code(s) {sorted(set(codes[bad].tolist()))[:10]} "
            f"outside the coding's {len(classes)} classes {list(classes)} at row(s) {where}"
        )
    labels = np.asarray(classes, dtype=object)[np.nan_to_num(codes, nan=0).astype(np.int64)]
    out = pd.Series(labels, index=series.index, dtype="object")
    return out.where(series.notna(), None)


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
        # a binary task may give one class's probability: the other's is 1 - p
        binary_one = len(expected) == 2 and len(missing) == 1 and not extra
        if (missing and not binary_one) or extra:
            raise DataValidationError(
                f"{source}: probability columns of {task!r} must be one per model class "
                f"{list(classes)} (a binary task's may be one class's alone); missing "
                f"{missing}, unknown {extra}"
            )
        given = [c for c in expected if c not in missing]
        try:
            arr = table[given].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                f"{source}: non-numeric {task} probabilities ({exc})"
            ) from exc
        if binary_one:
            other = 1.0 - arr
            arr = np.hstack([arr, other] if expected[0] in given else [other, arr])
    elif single:
        arr = parse_proba_column(
            table[proba_column(task)], len(classes), what=f"{source} {task}_prob"
        )
    else:
        return None
    vocab = Vocabulary(task, tuple(classes))
    return validate_proba(arr, vocab, what=f"{source}: {task} probabilities", atol=atol)


#: Share of rows whose ``{task}_pred`` may name another class than the argmax of its
#: probabilities (a tie is no disagreement) before the table is refused.
PRED_PROBA_TOLERANCE = 0.01


def check_pred_matches_proba(
    predicted: pd.Series,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    table: pd.DataFrame,
    source: str,
) -> None:
    """Refuse predictions that disagree with their own probabilities in too many rows.

    A row disagrees when the probability of its predicted class is below the row's
    largest probability (ties are allowed). More than :data:`PRED_PROBA_TOLERANCE` of
    the rows disagreeing means swapped or misaligned probability columns: calibration
    would use them, so the table is refused, naming rows.
    """
    codes = pd.Index(list(classes)).get_indexer(predicted.astype("object"))
    known = codes >= 0  # labels outside the classes are refused elsewhere, naming them
    if not known.any():
        return
    rows = np.flatnonzero(known)
    chosen = proba[rows, codes[rows]]
    disagree = rows[chosen < proba[rows].max(axis=1) - 1e-6]
    if disagree.size <= PRED_PROBA_TOLERANCE * len(rows):
        return
    task = str(predicted.name).removesuffix(PRED_SUFFIX)
    names = (
        table[FILE_COLUMN].iloc[disagree[:5]].astype(str).tolist()
        if FILE_COLUMN in table.columns
        else [f"row {int(r) + 1}" for r in disagree[:5]]
    )
    raise DataValidationError(
        f"{source}: {predicted.name} is not the most probable class of its own {task} "
        f"probabilities in {disagree.size} of {len(rows)} row(s) "
        f"({disagree.size / len(rows):.1%}; at most {PRED_PROBA_TOLERANCE:.0%} allowed), "
        f"e.g. {names}: are the probability columns swapped or misaligned?"
    )


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
            if proba is not None:
                check_pred_matches_proba(raw, proba, classes, table=table, source=source)
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
            raise DataValidationError(
                message + " (pass unmatched='report' to audit the rest)",
                cli=message + " (add --unmatched report to audit the rest)",
            )
        warnings.warn(message + "; they are left out of the audit", JoinWarning, stacklevel=3)
    return merged.loc[matched].drop(columns="_join").reset_index(drop=True), report


def _unused_prediction_columns(
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


def _attribute_vocabulary(
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


def _coding_by_column(coding: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if coding is None:
        return {}
    if isinstance(coding, str):
        if coding not in CODINGS:
            raise DataValidationError(
                f"coding {coding!r}: name one of {list(CODINGS)}, or pass {{column: coding}}"
            )
        return {a: coding for a in ATTRIBUTES}
    if not isinstance(coding, Mapping):
        raise DataValidationError(f"coding must be a name or a mapping, got {coding!r}")
    return dict(coding)


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
    pred_source = str(predictions) if not isinstance(predictions, pd.DataFrame) else "predictions"
    pred_frame = read_table(predictions, what="predictions").reset_index(drop=True)
    pred_frame = pred_frame.assign(**{_PRED_ROW: np.arange(1, len(pred_frame) + 1)})
    all_predictions = pred_frame
    pred_frame, status_counts, dropped = readable_rows(pred_frame)
    repairs_log: list[dict[str, Any]] = []
    unknown_repairs = sorted(set(label_repairs or {}) - set(pred_frame.columns))
    pred_frame = apply_label_repairs(pred_frame, label_repairs, source=pred_source, log=repairs_log)
    join_report: dict[str, Any] | None = None
    label_source = None
    row_column = _PRED_ROW
    left_out: dict[str, Any] = {"status": status_counts}
    label_cols: set[str] = set()
    if labels is not None:
        label_source = str(labels) if not isinstance(labels, pd.DataFrame) else "labels"
        label_frame = read_table(labels, what="labels").reset_index(drop=True)
        unknown_repairs = sorted(set(unknown_repairs) - set(label_frame.columns))
        label_frame = apply_label_repairs(
            label_frame, label_repairs, source=label_source, log=repairs_log
        )
        label_frame = label_frame.assign(**{_LABEL_ROW: np.arange(1, len(label_frame) + 1)})
        label_cols = {str(c) for c in label_frame.columns if c != on}
        n_status = 0
        if on in all_predictions.columns and on in label_frame.columns:
            dropped_keys = all_predictions.loc[dropped.index, on]
            n_status = int(dropped_keys.isin(set(label_frame[on].dropna())).sum())
        table, join_report = join_tables(
            pred_frame, label_frame, on=on, unmatched=unmatched, sources=(pred_source, label_source)
        )
        join_report["columns_taken_from_labels"] = [
            c for c in join_report["columns_taken_from_labels"] if not c.startswith("__fairaudit_")
        ]
        row_column = _LABEL_ROW
        # label rows of unreadable images are counted under their status, not here
        left_out["labels_without_prediction"] = max(
            0, join_report["labels_without_prediction"] - n_status
        )
        left_out["predictions_without_label"] = join_report["unmatched_prediction_rows"]
    else:
        table = pred_frame.reset_index(drop=True)
    if unknown_repairs:
        raise DataValidationError(
            f"label_repairs name column(s) {unknown_repairs} that neither table holds"
        )
    task_names = list(tasks) if tasks is not None and not isinstance(tasks, str) else None
    if task_names is None:
        task_names = _detect_tasks(pred_frame)
    codings = _coding_by_column(coding)
    declared = isinstance(tasks, str | Mapping)
    # integer codes -> labels, through a coding only
    class_columns: dict[str, str] = {}  # column -> the task or attribute it names
    for task in task_names:
        class_columns[task] = task
        if task not in (mappings or {}):
            class_columns[pred_column(task)] = task
    if attributes is None:
        attribute_names = list(task_names) + [
            a for a in ATTRIBUTES if a in table.columns and a not in task_names
        ]
    else:
        attribute_names = list(attributes)
    for name in attribute_names:
        class_columns.setdefault(name, name)
    decoded = {}
    for column, attribute in class_columns.items():
        if column not in table.columns or not _is_integer_coded(table[column]):
            continue
        spec = codings.get(column, codings.get(attribute))
        if spec is None and declared:
            vocab = (
                tasks[attribute]
                if isinstance(tasks, Mapping) and attribute in tasks
                else CODINGS.get(tasks, {}).get(attribute)  # type: ignore[call-overload]
                if isinstance(tasks, str)
                else None
            )
            spec = list(vocab.classes) if vocab is not None else None
        decoded[column] = decode_integer_codes(
            table[column],
            column=column,
            attribute=attribute,
            coding=spec,
            source=(label_source or pred_source) if column in label_cols else pred_source,
            rows=table[row_column].to_numpy() if row_column in table.columns else None,
        )
    if decoded:
        table = table.assign(**decoded)
    vocabularies = vocabularies_from_labels(table, task_names, tasks)
    if not declared:
        for task in task_names:
            named = codings.get(task)
            if isinstance(named, str) and named in CODINGS and task in CODINGS[named]:
                vocabularies[task] = CODINGS[named][task]
    # one check for every column that names a class
    attr_vocabs: dict[str, Vocabulary] = {}
    inferred: list[str] = []
    if isinstance(attributes, Mapping):
        attr_vocabs = dict(attributes)
    for name in attribute_names:
        if name not in table.columns and name not in vocabularies:
            continue  # prepare_table names the missing column
        if name in attr_vocabs:
            continue
        vocab = _attribute_vocabulary(
            name,
            table[name] if name in table.columns else pd.Series([], dtype=object),
            tasks_arg=tasks,
            vocabularies=vocabularies,
            coding=codings,
        )
        if vocab is None:
            inferred.append(name)
        else:
            attr_vocabs[name] = vocab
    for column, attribute in class_columns.items():
        if column not in table.columns:
            continue
        vocab = vocabularies.get(attribute) if attribute in task_names else None
        if vocab is None:
            vocab = attr_vocabs.get(attribute)
        if vocab is None:
            continue
        from_labels = column in label_cols
        rows_col = _LABEL_ROW if from_labels else _PRED_ROW
        is_attribute = column in attribute_names and column not in task_names
        check_class_column(
            table[column],
            vocab,
            column=column,
            source=(label_source if from_labels else pred_source) or pred_source,
            rows=table[rows_col].to_numpy() if rows_col in table.columns else None,
            allow_missing=is_attribute and missing == "group",
        )
    for name in inferred:
        values = _as_str_labels(table[name])
        table = table.assign(**{name: values})
        if missing == "group":
            values = values[values.notna()]
        attr_vocabs[name] = _infer_vocabulary(name, values)
    attr_vocabs = {n: attr_vocabs[n] for n in attribute_names if n in attr_vocabs}
    for column in table.columns:
        if isinstance(column, str) and column.removesuffix(PRED_SUFFIX).endswith(_YEARS_SUFFIX):
            from_labels = column in label_cols
            rows_col = _LABEL_ROW if from_labels else _PRED_ROW
            check_age_column(
                table[column],
                column=column,
                source=(label_source if from_labels else pred_source) or pred_source,
                rows=table[rows_col].to_numpy() if rows_col in table.columns else None,
            )
    table = table.drop(columns=[c for c in (_LABEL_ROW, _PRED_ROW) if c in table.columns])
    regression = [
        c[: -len(PRED_SUFFIX)]
        for c in table.columns
        if isinstance(c, str) and c.endswith(PRED_SUFFIX) and c[: -len(PRED_SUFFIX)] in table
    ]
    unused = _unused_prediction_columns(pred_frame, task_names, regression)
    if unused:
        warnings.warn(
            f"{pred_source}: column(s) {unused} look like predictions but match no task "
            f"(audited: {task_names}; a task's columns are {{task}}_pred, {{task}}_prob or "
            "{task}_prob_<class>); they are not audited",
            UnusedColumnWarning,
            stacklevel=2,
        )
    kwargs = prepare_table(
        table,
        tasks=vocabularies,
        attributes=attribute_names,
        mappings=mappings,
        proba_atol=proba_atol,
        source=pred_source,
    )
    metadata: dict[str, Any] = {
        "data": {"predictions": pred_source, "labels": label_source},
        "mappings": {t: getattr(m, "name", None) or repr(m) for t, m in (mappings or {}).items()},
    }
    if model is not None:
        metadata["model"] = model
    if coding is not None:
        metadata["coding"] = {k: v if isinstance(v, str) else str(v) for k, v in codings.items()}
    if repairs_log:
        metadata["repairs"] = repairs_log
    if join_report is not None:
        metadata["join"] = join_report
    metadata["left_out"] = left_out
    _warn_left_out(left_out, pred_source, stacklevel=2)
    names = kwargs.pop("attributes")
    attrs: Mapping[str, Vocabulary] | list[str] = (
        attr_vocabs if set(attr_vocabs) == set(names) else names
    )
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


def _warn_left_out(left_out: Mapping[str, Any], source: str, *, stacklevel: int) -> None:
    parts = []
    for status, n in left_out.get("status", {}).items():
        parts.append(f"{n} prediction row(s) with status {status!r}")
    if left_out.get("labels_without_prediction"):
        parts.append(f"{left_out['labels_without_prediction']} label row(s) without a prediction")
    if parts:
        warnings.warn(
            f"{source}: left out of the audit: {', '.join(parts)} (counted in "
            "metadata['left_out'])",
            JoinWarning,
            stacklevel=stacklevel + 1,
        )
