"""The join of predictions to labels, and the report of the rows it leaves out."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = [
    "JoinWarning",
    "check_unique_keys",
    "join_tables",
    "refuse_or_warn_unmatched",
    "repeated_keys_error",
    "warn_left_out",
]


class JoinWarning(UserWarning):
    """Rows left out of the audit: prediction rows without a label row, label rows
    without a prediction, or prediction rows whose ``status`` is not ``"ok"``
    (counted in ``result.metadata["left_out"]``)."""


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
        check_unique_keys(frame, on=on, source=name)
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
        refuse_or_warn_unmatched(
            n_unmatched,
            len(predictions),
            report["unmatched_examples"],
            label_keys,
            on=on,
            unmatched=unmatched,
            labels_source=sources[1],
            stacklevel=4,
        )
    return merged.loc[matched].drop(columns="_join").reset_index(drop=True), report


def check_unique_keys(frame: pd.DataFrame, *, on: str, source: str) -> None:
    """Refuse a table without the key column ``on``, or whose keys repeat (missing keys
    aside), naming the table and up to five repeated values."""
    if on not in frame.columns:
        raise DataValidationError(f"{source}: no key column {on!r}; columns {list(frame.columns)}")
    dup = frame[on][frame[on].duplicated(keep=False) & frame[on].notna()]
    if len(dup):
        raise repeated_keys_error(dup.nunique(), dup.astype(str).unique()[:5].tolist(), on, source)


def repeated_keys_error(
    n_repeated: int, examples: Sequence[str], on: str, source: str
) -> DataValidationError:
    """The error for ``n_repeated`` key values that repeat (``examples``: the first five,
    in the order of their first row, as strings)."""
    return DataValidationError(
        f"{source}: key {on!r} is not unique; {n_repeated} value(s) repeat, e.g. "
        f"{list(examples)[:5]}"
    )


def refuse_or_warn_unmatched(
    n_unmatched: int,
    n_predictions: int,
    examples: Sequence[str],
    label_keys: Iterable[Any],
    *,
    on: str,
    unmatched: str,
    labels_source: str,
    stacklevel: int,
) -> None:
    """Prediction rows without a label row: an error (``unmatched="error"``) or a
    :class:`JoinWarning`, naming examples (and the FairFace basename pitfall when an
    example's basename is a label's)."""
    hint = ""
    basenames = {str(k).rsplit("/", 1)[-1] for k in label_keys}
    if any(str(e).rsplit("/", 1)[-1] in basenames for e in examples):
        hint = (
            f"; the {labels_source} name files by their path relative to the dataset root "
            "(e.g. 'val/1.jpg'), and FairFace basenames repeat across splits, so the "
            "predictions must use the same full relative names"
        )
    message = (
        f"{n_unmatched} of {n_predictions} prediction row(s) have no label row in "
        f"{labels_source} (by {on!r}), e.g. {list(examples)}{hint}"
    )
    if unmatched == "error":
        raise DataValidationError(
            message + " (pass unmatched='report' to audit the rest)",
            cli=message + " (add --unmatched report to audit the rest)",
        )
    warnings.warn(message + "; they are left out of the audit", JoinWarning, stacklevel=stacklevel)


def warn_left_out(left_out: Mapping[str, Any], source: str, *, stacklevel: int) -> None:
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
