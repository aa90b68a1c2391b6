"""Joint label counts: the single source of every dataset-audit figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import ATTRIBUTES, FAIRFACE_VOCABULARIES, Vocabulary

__all__ = ["LabelCounts"]


@dataclass(frozen=True, eq=False)
class LabelCounts:
    """Counts of every combination of attribute classes (a dense contingency array).

    The dataset audit needs nothing but these counts, so it runs equally on a
    labels table or on aggregate figures published without any per-image row.

    Parameters
    ----------
    array : numpy.ndarray of int64
        One axis per attribute, in the order of ``vocabularies``; entry
        ``[i, j, k]`` counts rows whose first attribute is class ``i``, etc.
    vocabularies : tuple of Vocabulary
        The attributes' vocabularies, one per axis.

    Examples
    --------
    >>> import pandas as pd
    >>> from fairaudit.dataset_audit import LabelCounts
    >>> table = pd.DataFrame({"gender": ["Male", "Female", "Female"]})
    >>> LabelCounts.from_table(table, attributes=["gender"]).marginal("gender").tolist()
    [1, 2]
    """

    array: np.ndarray
    vocabularies: tuple[Vocabulary, ...]

    def __post_init__(self) -> None:
        array = np.asarray(self.array)
        shape = tuple(len(v) for v in self.vocabularies)
        if array.shape != shape:
            raise DataValidationError(
                f"count array of shape {array.shape} does not match the vocabularies {shape}"
            )
        if array.size and (not np.issubdtype(array.dtype, np.integer) or array.min() < 0):
            raise DataValidationError("counts must be non-negative integers")
        names = [v.name for v in self.vocabularies]
        if len(set(names)) != len(names):
            raise DataValidationError(f"attributes must be distinct, got {names}")
        object.__setattr__(self, "array", array.astype(np.int64, copy=False))

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        *,
        attributes: Sequence[str] = ATTRIBUTES,
        vocabularies: Mapping[str, Vocabulary] | None = None,
        source: str | None = None,
    ) -> LabelCounts:
        """Count a labels table (one row per image).

        Parameters
        ----------
        table : pandas.DataFrame
            Must hold one column per attribute.
        attributes : sequence of str, default=("gender", "age", "race")
            Columns to count jointly.
        vocabularies : mapping of str to Vocabulary, optional
            Vocabulary per attribute. Defaults to the categories of a categorical
            column, else the FairFace vocabulary of that name.
        source : str, optional
            Name of the table's origin, quoted in errors.

        Raises
        ------
        DataValidationError
            If a column is missing; :class:`~fairaudit.exceptions.UnknownLabelError`
            if a value (a missing value included) is outside the vocabulary.
        """
        missing = [a for a in attributes if a not in table.columns]
        if missing:
            where = f"{source}: " if source else ""
            raise DataValidationError(
                f"{where}missing column(s) {missing}; the table has {list(table.columns)}"
            )
        vocabs = tuple(_vocabulary_for(table[a], a, vocabularies) for a in attributes)
        codes = [v.encode(table[a], source=source) for a, v in zip(attributes, vocabs)]
        shape = tuple(len(v) for v in vocabs)
        flat = np.ravel_multi_index(codes, shape) if codes[0].size else np.zeros(0, np.int64)
        array = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)
        return cls(array, vocabs)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        attributes: Sequence[str] = ATTRIBUTES,
        count_column: str = "count",
        vocabularies: Mapping[str, Vocabulary] | None = None,
        source: str | None = None,
    ) -> LabelCounts:
        """Build counts from aggregate figures: one row per cell with a count column.

        Cells absent from ``frame`` count zero; a cell listed twice is summed.
        """
        if count_column not in frame.columns:
            raise DataValidationError(
                f"{source or 'counts table'}: no {count_column!r} column; has {list(frame.columns)}"
            )
        counts = pd.to_numeric(frame[count_column], errors="coerce")
        bad = np.flatnonzero((counts.isna() | (counts < 0) | (counts % 1 != 0)).to_numpy())
        if bad.size:
            raise DataValidationError(
                f"{source or 'counts table'}: column {count_column!r} must hold non-negative "
                f"integers; bad value(s) {frame[count_column].iloc[bad[:5]].tolist()} at "
                f"row(s) {(bad[:5] + 1).tolist()}"
            )
        missing = [a for a in attributes if a not in frame.columns]
        if missing:
            raise DataValidationError(
                f"{source or 'counts table'}: missing column(s) {missing}; "
                f"has {list(frame.columns)}"
            )
        vocabs = tuple(_vocabulary_for(frame[a], a, vocabularies) for a in attributes)
        shape = tuple(len(v) for v in vocabs)
        codes = [v.encode(frame[a], source=source) for a, v in zip(attributes, vocabs)]
        flat = np.ravel_multi_index(codes, shape)
        array = np.bincount(
            flat, weights=counts.to_numpy(dtype=np.float64), minlength=int(np.prod(shape))
        )
        return cls(np.rint(array).astype(np.int64).reshape(shape), vocabs)

    # ------------------------------------------------------------------ views
    @property
    def attributes(self) -> tuple[str, ...]:
        """Attribute names, one per axis."""
        return tuple(v.name for v in self.vocabularies)

    @property
    def total(self) -> int:
        """Number of rows counted."""
        return int(self.array.sum())

    def vocabulary(self, attribute: str) -> Vocabulary:
        """The vocabulary of ``attribute``."""
        return self.vocabularies[self._axis(attribute)]

    def marginal(self, attribute: str) -> pd.Series:
        """Counts of one attribute's classes (every class of the vocabulary, zeros included)."""
        axis = self._axis(attribute)
        others = tuple(i for i in range(self.array.ndim) if i != axis)
        vocab = self.vocabularies[axis]
        index = pd.CategoricalIndex(vocab.classes, dtype=vocab.dtype, name=attribute)
        return pd.Series(self.array.sum(axis=others), index=index, name="count")

    def project(self, attributes: Sequence[str]) -> LabelCounts:
        """Counts over a subset of the attributes (summing out the others), in the given order."""
        axes = [self._axis(a) for a in attributes]
        others = tuple(i for i in range(self.array.ndim) if i not in axes)
        summed = self.array.sum(axis=others)
        kept = sorted(axes)
        order = [kept.index(a) for a in axes]
        return LabelCounts(np.transpose(summed, order), tuple(self.vocabularies[a] for a in axes))

    def crosstab(self, rows: str, columns: str) -> pd.DataFrame:
        """Two attributes' joint counts as a table (rows x columns)."""
        counts = self.project([rows, columns])
        rv, cv = counts.vocabularies
        return pd.DataFrame(
            counts.array,
            index=pd.CategoricalIndex(rv.classes, dtype=rv.dtype, name=rows),
            columns=pd.CategoricalIndex(cv.classes, dtype=cv.dtype, name=columns),
        )

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per cell (every combination), attribute columns and ``count``."""
        index = pd.MultiIndex.from_product(
            [pd.Categorical(v.classes, dtype=v.dtype) for v in self.vocabularies],
            names=list(self.attributes),
        )
        return pd.Series(self.array.ravel(), index=index, name="count").reset_index()

    def __add__(self, other: LabelCounts) -> LabelCounts:
        if not isinstance(other, LabelCounts):
            return NotImplemented
        if self.vocabularies != other.vocabularies:
            raise DataValidationError("cannot add counts over different attributes or classes")
        return LabelCounts(self.array + other.array, self.vocabularies)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelCounts):
            return NotImplemented
        return self.vocabularies == other.vocabularies and np.array_equal(self.array, other.array)

    __hash__ = None  # type: ignore[assignment]

    def _axis(self, attribute: str) -> int:
        try:
            return self.attributes.index(attribute)
        except ValueError:
            raise DataValidationError(
                f"unknown attribute {attribute!r}; counts are over {list(self.attributes)}"
            ) from None


def _vocabulary_for(
    column: pd.Series, name: str, vocabularies: Mapping[str, Vocabulary] | None
) -> Vocabulary:
    if vocabularies and name in vocabularies:
        return vocabularies[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return Vocabulary(name, tuple(str(c) for c in column.cat.categories), column.cat.ordered)
    if name in FAIRFACE_VOCABULARIES:
        return FAIRFACE_VOCABULARIES[name]
    raise DataValidationError(
        f"no vocabulary for column {name!r}: pass vocabularies={{{name!r}: Vocabulary(...)}} "
        "or make the column categorical"
    )
