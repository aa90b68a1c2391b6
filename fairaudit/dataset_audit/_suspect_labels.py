"""Suspect labels per group: confident-learning label issues and near-duplicate conflicts.

Two independent signs that a row's label may be wrong, each as a rate per group of
every audited attribute (and of the skin-tone columns when the labels hold them),
with the inference layer's interval of a rate (exact):

- ``label_issue``: the rows :func:`fairaudit.attributes.find_label_issues` flags
  (cleanlab's confident learning on a model's out-of-sample probabilities), over
  the rows it checked;
- ``near_duplicate_conflict``: the rows in at least one near-duplicate pair
  (:func:`fairaudit.datasets.find_near_duplicates`) whose labels disagree, over
  every labelled row.

A group whose labels are noisier makes any disparity measured on it less certain;
an audit re-run without the suspect rows
(:func:`fairaudit.attributes.exclude_suspect_rows`) shows whether it survives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fairaudit.attributes._label_quality import (
    ANY_LABEL_ISSUE,
    label_issue_rates,
    suspect_files,
)
from fairaudit.exceptions import DataValidationError
from fairaudit.schema import FILE_COLUMN
from fairaudit.vocab import Vocabulary

__all__ = ["SKIN_COLUMNS", "SUSPECT_KINDS", "suspect_label_rates"]

#: The kinds of suspect label, in the order of the table.
SUSPECT_KINDS: tuple[str, ...] = ("label_issue", "near_duplicate_conflict")
#: Derived skin-tone columns grouped too when the labels table holds them.
SKIN_COLUMNS: tuple[str, ...] = ("skin_type", "skin_tone")
_COLUMNS = ["kind", "attribute", "group", "n", "flagged", "rate", "lower", "upper"]


def _read_table(table: pd.DataFrame | str | os.PathLike[str], what: str) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table
    path = str(table)
    try:
        return pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataValidationError(f"cannot read the {what} {path}: {exc}") from exc


def _issue_flags(
    labels: pd.DataFrame,
    label_issues: pd.DataFrame | Sequence[str] | str | os.PathLike[str],
    on: str,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per checked label row: ``on`` and :data:`ANY_LABEL_ISSUE`."""
    known = set(labels[on].astype(str))
    issues = label_issues
    if isinstance(issues, str | os.PathLike) and str(issues).endswith((".csv", ".parquet", ".pq")):
        issues = _read_table(issues, "label-issues table")
    if isinstance(issues, pd.DataFrame) and ANY_LABEL_ISSUE in issues.columns:
        if on not in issues.columns:
            raise DataValidationError(f"the label-issues table has no {on!r} column")
        flags = [c for c in issues.columns if str(c).endswith("_label_issue")]
        checked = issues[flags].notna().any(axis=1) if flags else pd.Series(True, issues.index)
        unknown = sorted(set(issues[on].astype(str)) - known)
        if unknown:
            raise DataValidationError(
                f"{len(unknown)} row(s) of the label-issues table are not in the labels "
                f"(by {on!r}): {unknown[:5]}"
            )
        frame = pd.DataFrame(
            {
                on: issues.loc[checked, on].astype(str).to_numpy(),
                ANY_LABEL_ISSUE: issues.loc[checked, ANY_LABEL_ISSUE]
                .fillna(False)
                .astype(bool)
                .to_numpy(),
            }
        )
        if frame[on].duplicated().any():
            raise DataValidationError(f"the label-issues table lists {on!r} values twice")
        notes = {
            "checked": len(frame),
            "not_checked": len(labels) - len(frame),
        }
        return frame, notes
    files = suspect_files(issues, on=on)
    unknown = sorted(set(files) - known)
    if unknown:
        raise DataValidationError(
            f"{len(unknown)} suspect row(s) are not in the labels (by {on!r}): {unknown[:5]}"
        )
    frame = pd.DataFrame({on: labels[on].astype(str).to_numpy()})
    frame[ANY_LABEL_ISSUE] = frame[on].isin(set(files)).to_numpy()
    return frame, {"checked": len(frame), "not_checked": 0}


def _conflict_flags(
    labels: pd.DataFrame, pairs: pd.DataFrame | str | os.PathLike[str], on: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every label row: ``on`` and whether it is in a conflicting near-duplicate pair."""
    table = _read_table(pairs, "near-duplicate pairs")
    absent = [c for c in ("file_a", "file_b", "conflict") if c not in table.columns]
    if absent:
        raise DataValidationError(
            f"the near-duplicate pairs have no column(s) {absent} "
            "(fairaudit integrity --near-duplicates-csv writes them)"
        )
    conflict = table["conflict"].astype(str).str.lower().isin({"true", "1"})
    files = set(table.loc[conflict, "file_a"].astype(str)) | set(
        table.loc[conflict, "file_b"].astype(str)
    )
    frame = pd.DataFrame({on: labels[on].astype(str).to_numpy()})
    frame[ANY_LABEL_ISSUE] = frame[on].isin(files).to_numpy()
    notes = {
        "pairs": len(table),
        "conflicting_pairs": int(conflict.sum()),
        "conflicting_files_outside_labels": len(files - set(frame[on])),
    }
    return frame, notes


def suspect_label_rates(
    labels: pd.DataFrame,
    *,
    attributes: Sequence[str],
    label_issues: pd.DataFrame | Sequence[str] | str | os.PathLike[str] | None = None,
    near_duplicates: pd.DataFrame | str | os.PathLike[str] | None = None,
    on: str = FILE_COLUMN,
    confidence: float = 0.95,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rate of suspect labels in every group of every attribute, with exact intervals.

    Parameters
    ----------
    labels : pandas.DataFrame
        One row per image: ``on`` and the attributes (and :data:`SKIN_COLUMNS`, grouped
        too when present).
    attributes : sequence of str
    label_issues : pandas.DataFrame, sequence of str or path, optional
        :func:`~fairaudit.attributes.find_label_issues`' table (its rate is over the
        rows it checked), or the flagged files alone (a table with ``on``, a list, a
        text file one a line: the rate is over every label row).
    near_duplicates : pandas.DataFrame or path, optional
        Near-duplicate pairs (``file_a``, ``file_b``, ``conflict``), e.g.
        :func:`~fairaudit.datasets.find_near_duplicates`' table or the CSV of
        ``fairaudit integrity --near-duplicates-csv``; a label row counts as suspect
        when it is in a conflicting pair (pairs with files outside the labels, e.g.
        in another split, count for the file inside).
    on : str, default="file"
    confidence : float, default=0.95
        Coverage of each (unadjusted) interval.
    vocabularies : mapping of str to Vocabulary, optional
        The classes, in order, of attributes whose column is not categorical (the
        dataset audit's); others: categories, else the values found, sorted.

    Returns
    -------
    rates : pandas.DataFrame
        ``kind`` (:data:`SUSPECT_KINDS`), ``attribute``, ``group`` (the attribute's
        classes in order, ``"missing"`` for rows without one), ``n``, ``flagged``,
        ``rate``, ``lower``, ``upper``.
    notes : dict
        Per kind: rows checked and not checked (label issues), pairs, conflicting
        pairs and conflicting files outside the labels (near duplicates).

    Raises
    ------
    DataValidationError
        No ``on`` column or an attribute missing from the labels, suspect files that
        are not in the labels, or a pairs table without its columns.
    """
    if on not in labels.columns:
        raise DataValidationError(
            f"suspect-label rates need one row per image with a {on!r} column; "
            f"the labels have {list(labels.columns)}"
        )
    if labels[on].duplicated().any():
        twice = labels.loc[labels[on].duplicated(), on].head(5).tolist()
        raise DataValidationError(f"the labels list {on!r} values twice: {twice}")
    by = list(attributes) + [c for c in SKIN_COLUMNS if c in labels.columns and c not in attributes]
    absent = [a for a in by if a not in labels.columns]
    if absent:
        raise DataValidationError(f"the labels have no column(s) {absent}")
    groups = labels[[on, *by]].assign(**{on: labels[on].astype(str)})
    for attribute, vocab in (vocabularies or {}).items():
        column = groups.get(attribute)
        if column is not None and not isinstance(column.dtype, pd.CategoricalDtype):
            values = column.astype(object)
            unknown = sorted(set(values.dropna().astype(str)) - set(map(str, vocab.classes)))
            if unknown:
                raise DataValidationError(
                    f"column {attribute!r} has values outside its classes: {unknown[:5]}"
                )
            groups[attribute] = pd.Categorical(values, categories=vocab.classes)
    sources: dict[str, tuple[pd.DataFrame, dict[str, int]]] = {}
    if label_issues is not None:
        sources["label_issue"] = _issue_flags(labels, label_issues, on)
    if near_duplicates is not None:
        sources["near_duplicate_conflict"] = _conflict_flags(labels, near_duplicates, on)
    frames = [pd.DataFrame(columns=_COLUMNS)]
    for kind, (flags, _) in sources.items():
        for attribute in by:
            rates = label_issue_rates(flags, groups, by=attribute, on=on, confidence=confidence)
            rates = rates[rates["task"] == "any"].drop(columns="task")
            frames.append(
                rates.rename(columns={attribute: "group", "issues": "flagged"}).assign(
                    kind=kind, attribute=attribute
                )[_COLUMNS]
            )
    table = pd.concat(frames[1:], ignore_index=True) if len(frames) > 1 else frames[0]
    return table, {kind: notes for kind, (_, notes) in sources.items()}
