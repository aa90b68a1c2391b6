"""Predicted probabilities: parsed, validated, and checked against the predictions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.inputs._spec import Mapping_
from fairaudit.schema import FILE_COLUMN, PRED_SUFFIX, prob_column, prob_prefix, proba_column
from fairaudit.vocab import ClassMapping, Vocabulary

__all__ = [
    "PRED_PROBA_TOLERANCE",
    "Disagreements",
    "check_pred_matches_proba",
    "parse_proba_column",
    "refuse_disagreements",
    "validate_proba",
]


def validate_proba(
    proba: Any, vocab: Vocabulary, *, what: str, atol: float = 1e-3, first_row: int = 1
) -> np.ndarray:
    """Check an ``(n, C)`` probability array: finite, in [0, 1], rows summing to 1.

    Rows are named from ``first_row`` (a chunk's place in its table).

    Raises
    ------
    DataValidationError
        Naming the first offending rows (1-based) and their values or sums.
    """
    try:
        arr = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{what}: probabilities must be numbers ({exc})") from exc
    if arr.ndim != 2 or arr.shape[1] != len(vocab):
        raise DataValidationError(
            f"{what}: probabilities must have shape (n_rows, {len(vocab)}) for classes "
            f"{list(vocab.classes)}, got {arr.shape}"
        )
    bad = ~np.isfinite(arr).all(axis=1) | (arr < -atol).any(axis=1) | (arr > 1 + atol).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        raise DataValidationError(
            f"{what}: probabilities must be finite and within [0, 1]; "
            f"row(s) {(rows + first_row).tolist()} hold {arr[rows].tolist()}"
        )
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0) > atol
    if off.any():
        rows = np.flatnonzero(off)
        shown = rows[:5]
        raise DataValidationError(
            f"{what}: probabilities must sum to 1 (tolerance {atol}); {rows.size} row(s) do not, "
            f"e.g. row(s) {(shown + first_row).tolist()} sum to "
            f"{np.round(sums[shown], 6).tolist()}"
        )
    return arr


_NUMBER_SPLIT = re.compile(r"(?:np\.|numpy\.)?(?:array|float(?:16|32|64)?)|dtype=\w+|[\[\]\(\),;]")


def parse_proba_column(
    values: pd.Series, n_classes: int, *, what: str, first_row: int = 1
) -> np.ndarray:
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
                f"{what}: row {i + first_row} holds {value!r}, not a list of {n_classes} "
                f"probabilities ({exc})"
            ) from exc
        if vector.size != n_classes:
            raise DataValidationError(
                f"{what}: row {i + first_row} holds {vector.size} probabilities, "
                f"expected {n_classes}: "
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
    table: pd.DataFrame,
    task: str,
    classes: Sequence[str],
    *,
    source: str,
    atol: float,
    first_row: int = 1,
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
            table[proba_column(task)],
            len(classes),
            what=f"{source} {task}_prob",
            first_row=first_row,
        )
    else:
        return None
    vocab = Vocabulary(task, tuple(classes))
    return validate_proba(
        arr, vocab, what=f"{source}: {task} probabilities", atol=atol, first_row=first_row
    )


#: Share of rows whose ``{task}_pred`` may name another class than the argmax of its
#: probabilities (a tie is no disagreement) before the table is refused.
PRED_PROBA_TOLERANCE = 0.01


@dataclass
class Disagreements:
    """Rows whose prediction is not the most probable class of its own probabilities,
    tallied over the chunks of a table (decided on the whole table at the end).

    Attributes
    ----------
    n_disagree : int
        Rows that disagree.
    n_rows : int
        Rows whose prediction is a known class.
    examples : list of str
        The first five disagreeing rows (their key, or ``"row N"``).
    """

    n_disagree: int = 0
    n_rows: int = 0
    examples: list[str] = field(default_factory=list)


def check_pred_matches_proba(
    predicted: pd.Series,
    proba: np.ndarray,
    classes: Sequence[str],
    *,
    table: pd.DataFrame,
    source: str,
    tally: dict[str, Disagreements] | None = None,
    first_row: int = 1,
) -> None:
    """Refuse predictions that disagree with their own probabilities in too many rows.

    A row disagrees when the probability of its predicted class is below the row's
    largest probability (ties are allowed). More than :data:`PRED_PROBA_TOLERANCE` of
    the rows disagreeing means swapped or misaligned probability columns: calibration
    would use them, so the table is refused, naming rows.

    With ``tally`` (a table read in chunks), the rows are added to
    ``tally[predicted.name]`` instead, and :func:`refuse_disagreements` decides on the
    sum; rows without a key are named from ``first_row``.
    """
    codes = pd.Index(list(classes)).get_indexer(predicted.astype("object"))
    known = codes >= 0  # labels outside the classes are refused elsewhere, naming them
    if not known.any():
        return
    rows = np.flatnonzero(known)
    chosen = proba[rows, codes[rows]]
    disagree = rows[chosen < proba[rows].max(axis=1) - 1e-6]
    found = tally.setdefault(str(predicted.name), Disagreements()) if tally is not None else None
    if found is None and disagree.size <= PRED_PROBA_TOLERANCE * len(rows):
        return
    names = (
        table[FILE_COLUMN].iloc[disagree[:5]].astype(str).tolist()
        if FILE_COLUMN in table.columns
        else [f"row {int(r) + first_row}" for r in disagree[:5]]
    )
    if found is None:
        found = Disagreements()
    found.n_disagree += int(disagree.size)
    found.n_rows += len(rows)
    found.examples += names[: 5 - len(found.examples)]
    if tally is None:
        refuse_disagreements(str(predicted.name), found, source=source)


def refuse_disagreements(column: str, found: Disagreements, *, source: str) -> None:
    """Refuse a prediction column that disagrees with its probabilities in more than
    :data:`PRED_PROBA_TOLERANCE` of its rows (see :func:`check_pred_matches_proba`)."""
    if found.n_rows == 0 or found.n_disagree <= PRED_PROBA_TOLERANCE * found.n_rows:
        return
    task = column.removesuffix(PRED_SUFFIX)
    raise DataValidationError(
        f"{source}: {column} is not the most probable class of its own {task} "
        f"probabilities in {found.n_disagree} of {found.n_rows} row(s) "
        f"({found.n_disagree / found.n_rows:.1%}; at most {PRED_PROBA_TOLERANCE:.0%} allowed), "
        f"e.g. {found.examples}: are the probability columns swapped or misaligned?"
    )
