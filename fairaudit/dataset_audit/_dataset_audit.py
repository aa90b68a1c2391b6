"""The dataset audit: distributions, imbalance and intersectional cells of a label set."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.dataset_audit._counts import LabelCounts
from fairaudit.dataset_audit._imbalance import imbalance_statistics
from fairaudit.dataset_audit._suspect_labels import suspect_label_rates
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import ATTRIBUTES, Vocabulary

__all__ = ["DatasetAudit", "audit_dataset"]


@dataclass(frozen=True)
class DatasetAudit:
    """Result of :func:`audit_dataset`; every figure derives from :attr:`counts`.

    Parameters
    ----------
    counts : LabelCounts
        Joint counts of the audited attributes.
    name : str
        What was audited (e.g. ``"FairFace train"``), shown in tables and reports.
    min_cell_count : int
        Intersectional cells with fewer rows than this are flagged as too small.
    suspect_labels : pandas.DataFrame, optional
        The rate of suspect labels per group (label issues, near-duplicate
        conflicts), :func:`~fairaudit.dataset_audit._suspect_labels.suspect_label_rates`;
        None when :func:`audit_dataset` was given neither.
    suspect_notes : dict, optional
        What the suspect-label rates rest on (rows checked, pairs).
    """

    counts: LabelCounts
    name: str = "dataset"
    min_cell_count: int = 30
    suspect_labels: pd.DataFrame | None = field(default=None, compare=False)
    suspect_notes: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def attributes(self) -> tuple[str, ...]:
        """The audited attributes."""
        return self.counts.attributes

    @property
    def n(self) -> int:
        """Number of rows (images) audited."""
        return self.counts.total

    def distribution(self, attribute: str) -> pd.DataFrame:
        """Counts and proportions of one attribute's classes (absent classes included)."""
        counts = self.counts.marginal(attribute)
        return pd.DataFrame({"count": counts, "proportion": counts / max(counts.sum(), 1)})

    def imbalance(self) -> pd.DataFrame:
        """Imbalance statistics, one row per attribute (see :func:`imbalance_statistics`)."""
        rows = {
            a: imbalance_statistics(self.counts.marginal(a).to_numpy()) for a in self.attributes
        }
        frame = pd.DataFrame(rows).T
        frame.index.name = "attribute"
        return frame.astype({"n": "int64", "n_classes": "int64"})

    def joint(self, attributes: Sequence[str], *, normalize: bool = False) -> pd.DataFrame:
        """Joint distribution of two or more attributes.

        Two attributes give a table (first attribute as rows); more give the long
        form with one row per cell. ``normalize=True`` divides by the total.
        """
        attributes = list(attributes)
        if len(attributes) == 2:
            table = self.counts.crosstab(*attributes)
            return table / max(self.n, 1) if normalize else table
        frame = self.counts.project(attributes).to_frame()
        if normalize:
            frame["count"] = frame["count"] / max(self.n, 1)
            frame = frame.rename(columns={"count": "proportion"})
        return frame

    def joint_tables(self) -> dict[tuple[str, ...], pd.DataFrame]:
        """Every pairwise joint table and the all-attribute long table."""
        tables: dict[tuple[str, ...], pd.DataFrame] = {
            pair: self.joint(pair) for pair in combinations(self.attributes, 2)
        }
        if len(self.attributes) > 2:
            tables[self.attributes] = self.joint(self.attributes)
        return tables

    def cells(self, attributes: Sequence[str] | None = None) -> pd.DataFrame:
        """Every intersectional cell with its count, share and representation.

        Columns: the attributes, ``count``, ``proportion`` (of all rows),
        ``expected`` (the count if the attributes were independent, from the
        marginals), ``representation`` (``count / expected``; below 1 means the
        intersection is rarer than its marginals imply) and ``small`` (count below
        :attr:`min_cell_count`).
        """
        attributes = list(attributes or self.attributes)
        projected = self.counts.project(attributes)
        frame = projected.to_frame()
        n = max(self.n, 1)
        expected = np.ones_like(projected.array, dtype=np.float64) * n
        for axis, attribute in enumerate(attributes):
            shape = [1] * len(attributes)
            shape[axis] = -1
            expected = expected * (self.counts.marginal(attribute).to_numpy() / n).reshape(shape)
        frame["proportion"] = frame["count"] / n
        frame["expected"] = expected.ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["representation"] = np.where(
                frame["expected"] > 0, frame["count"] / frame["expected"], np.nan
            )
        frame["small"] = frame["count"] < self.min_cell_count
        return frame

    def smallest_cells(self, k: int = 10, attributes: Sequence[str] | None = None) -> pd.DataFrame:
        """The ``k`` intersectional cells with the fewest rows (ties kept in vocabulary order)."""
        cells = self.cells(attributes)
        return cells.sort_values("count", kind="stable").head(k).reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary: totals, distributions, imbalance, joint counts, smallest cells.

        With suspect-label rates, also ``suspect_labels`` (their records) and
        ``suspect_notes``.
        """
        out = {
            "name": self.name,
            "n": self.n,
            "attributes": {
                v.name: {"classes": list(v.classes), "ordered": v.ordered}
                for v in self.counts.vocabularies
            },
            "distributions": {
                a: {
                    str(c): {"count": int(r["count"]), "proportion": float(r["proportion"])}
                    for c, r in self.distribution(a).iterrows()
                }
                for a in self.attributes
            },
            "imbalance": {
                a: {k: _jsonable(v) for k, v in row.items()}
                for a, row in self.imbalance().iterrows()
            },
            "joint_counts": self.counts.to_frame().astype({"count": "int64"}).to_dict("records"),
            "min_cell_count": self.min_cell_count,
            "smallest_cells": [
                {k: _jsonable(v) for k, v in row.items()}
                for row in self.smallest_cells().to_dict("records")
            ],
        }
        if self.suspect_labels is not None:
            out["suspect_labels"] = [
                {k: _jsonable(v) for k, v in row.items()}
                for row in self.suspect_labels.to_dict("records")
            ]
            out["suspect_notes"] = dict(self.suspect_notes or {})
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def audit_dataset(
    data: pd.DataFrame | LabelCounts,
    *,
    attributes: Sequence[str] = ATTRIBUTES,
    vocabularies: Mapping[str, Vocabulary] | None = None,
    name: str = "dataset",
    min_cell_count: int = 30,
    label_issues: pd.DataFrame | Sequence[str] | str | os.PathLike[str] | None = None,
    near_duplicates: pd.DataFrame | str | os.PathLike[str] | None = None,
    confidence: float = 0.95,
) -> DatasetAudit:
    """Audit the label distribution of a dataset.

    Parameters
    ----------
    data : pandas.DataFrame or LabelCounts
        A labels table (one row per image, one column per attribute), an
        aggregate table with a ``count`` column (one row per cell), or counts.
    attributes : sequence of str, default=("gender", "age", "race")
        The attributes to audit.
    vocabularies : mapping of str to Vocabulary, optional
        Vocabulary per attribute; defaults to categorical columns' categories,
        else FairFace's vocabulary of that name.
    name : str, default="dataset"
        Label of the audited data in tables and reports.
    min_cell_count : int, default=30
        Intersectional cells with fewer rows are flagged as too small to judge.
    label_issues : pandas.DataFrame, sequence of str or path, optional
        Rows whose label is likely wrong, keyed by ``file``:
        :func:`fairaudit.attributes.find_label_issues`' table or the flagged files.
        Needs ``data`` as one row per image with a ``file`` column.
    near_duplicates : pandas.DataFrame or path, optional
        Near-duplicate pairs (``file_a``, ``file_b``, ``conflict``): rows in a pair
        whose labels disagree are suspect. Needs ``data`` as with ``label_issues``.
    confidence : float, default=0.95
        Coverage of the suspect-label rates' exact intervals.

    Returns
    -------
    DatasetAudit

    Examples
    --------
    >>> from fairaudit.dataset_audit import audit_dataset, fairface_label_counts
    >>> audit = audit_dataset(fairface_label_counts(split="val"), name="FairFace val")
    >>> audit.n
    10954
    """
    if min_cell_count < 0:
        raise DataValidationError(f"min_cell_count must be >= 0, got {min_cell_count}")
    if isinstance(data, LabelCounts):
        counts = data.project(list(attributes))
    elif isinstance(data, pd.DataFrame):
        if "count" in data.columns:
            counts = LabelCounts.from_frame(data, attributes=attributes, vocabularies=vocabularies)
        else:
            counts = LabelCounts.from_table(data, attributes=attributes, vocabularies=vocabularies)
    else:
        raise DataValidationError(
            f"audit_dataset takes a pandas DataFrame or LabelCounts, not {type(data).__name__}"
        )
    if counts.total == 0:
        raise DataValidationError(f"{name}: no rows to audit")
    suspect, notes = None, None
    if label_issues is not None or near_duplicates is not None:
        if not isinstance(data, pd.DataFrame) or "count" in data.columns:
            raise DataValidationError(
                f"{name}: suspect-label rates need one row per image (a labels table with a "
                "'file' column), not aggregate counts"
            )
        suspect, notes = suspect_label_rates(
            data,
            attributes=list(attributes),
            label_issues=label_issues,
            near_duplicates=near_duplicates,
            confidence=confidence,
            vocabularies={v.name: v for v in counts.vocabularies},
        )
    return DatasetAudit(
        counts=counts,
        name=name,
        min_cell_count=min_cell_count,
        suspect_labels=suspect,
        suspect_notes=notes,
    )
