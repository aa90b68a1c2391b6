"""Class vocabularies of the audited attributes and validated mappings between them.

The three attributes of a face are ``gender`` (2 classes), ``age`` (the 9 FairFace
age groups, in age order) and ``race`` (FairFace's 7 groups, or UTKFace's 5). The
column and task names follow the FairFace label files; "race" is the ethnicity
attribute of the product documentation.

A :class:`Vocabulary` turns raw labels into integer codes and refuses, with the
row and value, anything it does not know. A :class:`ClassMapping` audits a model
whose vocabulary differs from the audited one (4 races, age in years) through an
explicit mapping that is checked to cover every source class.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fairaudit.exceptions import DataValidationError, UnknownLabelError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ClassMapping",
    "FAIRFACE_TO_UTKFACE_RACE",
    "FAIRFACE_VOCABULARIES",
    "UTKFACE_VOCABULARIES",
    "Vocabulary",
    "age_years_to_group",
]

#: How many offending rows an error message lists before it abbreviates.
_MAX_ROWS_IN_MESSAGE = 10


@functools.lru_cache(maxsize=256)
def _categorical_dtype(classes: tuple[str, ...], ordered: bool) -> pd.CategoricalDtype:
    """The categorical dtype of these classes, built once (pandas validates the categories
    each time, a fixed cost of every table); dtypes are immutable, so it is shared."""
    import pandas as pd  # labels' tables: loaded when used

    return pd.CategoricalDtype(list(classes), ordered=ordered)


@dataclass(frozen=True)
class Vocabulary:
    """The ordered set of classes of one attribute.

    Parameters
    ----------
    name : str
        Attribute (column / task) name, e.g. ``"age"``.
    classes : tuple of str
        Class labels; their position is the integer code used everywhere.
    ordered : bool, default=False
        Whether the classes have a natural order (age groups do).

    Examples
    --------
    >>> from fairaudit.vocab import GENDER
    >>> GENDER.encode(["Female", "Male"]).tolist()
    [1, 0]
    """

    name: str
    classes: tuple[str, ...]
    ordered: bool = False
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"vocabulary {self.name!r} has duplicate classes: {self.classes}")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.classes)})

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, value: object) -> bool:
        return value in self._index

    @property
    def dtype(self) -> pd.CategoricalDtype:
        """The pandas categorical dtype of this attribute."""
        return _categorical_dtype(self.classes, self.ordered)

    def encode(
        self,
        values: Iterable[object],
        *,
        source: str | None = None,
        row_offset: int = 1,
        rows: Sequence[int] | np.ndarray | None = None,
        hint: str = "",
    ) -> np.ndarray:
        """Map labels to integer codes, refusing unknown labels.

        Parameters
        ----------
        values : iterable of object
            Labels to encode (strings, or a pandas Categorical / Series).
        source : str, optional
            Where the values come from (a file name), quoted in errors.
        row_offset : int, default=1
            Number added to the 0-based position to report a row number.
        rows : sequence of int, optional
            The row number of each value, reported instead of the position (e.g.
            the rows of the file the values were read from, before a join).
        hint : str, optional
            Appended to the error message (how to repair the values).

        Returns
        -------
        numpy.ndarray of int64
            One code per value.

        Raises
        ------
        UnknownLabelError
            If any value (missing values included) is not a class of this
            vocabulary. The message names the source, rows and values.
        """
        import pandas as pd  # labels' tables: loaded when used

        series = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
        codes = pd.Index(self.classes).get_indexer(series.astype("object"))
        codes = np.asarray(codes, dtype=np.int64)
        bad = np.flatnonzero(codes < 0)
        if bad.size:
            where = np.asarray(rows)[bad] if rows is not None else bad + row_offset
            raise self._unknown_error(series.iloc[bad], where, source, hint=hint)
        return codes

    def decode(self, codes: Iterable[int]) -> pd.Categorical:
        """Map integer codes back to a categorical of class labels."""
        import pandas as pd  # labels' tables: loaded when used

        codes = np.asarray(list(codes) if not isinstance(codes, np.ndarray) else codes)
        if codes.size and (codes.min() < 0 or codes.max() >= len(self)):
            raise DataValidationError(
                f"{self.name}: codes must lie in [0, {len(self) - 1}], "
                f"got {codes.min()}..{codes.max()}"
            )
        return pd.Categorical.from_codes(codes, dtype=self.dtype)

    def _unknown_error(
        self, bad_values: pd.Series, rows: np.ndarray, source: str | None, hint: str = ""
    ) -> UnknownLabelError:
        import pandas as pd  # labels' tables: loaded when used

        distinct = list(dict.fromkeys("<missing>" if pd.isna(v) else v for v in bad_values))
        shown_rows = [int(r) for r in rows[:_MAX_ROWS_IN_MESSAGE]]
        more = f" (and {len(rows) - len(shown_rows)} more)" if len(rows) > len(shown_rows) else ""
        where = f"{source}: " if source else ""
        message = (
            f"{where}column {self.name!r} has {len(rows)} value(s) outside the vocabulary "
            f"{list(self.classes)}: {distinct!r} at row(s) {shown_rows}{more}{hint}"
        )
        return UnknownLabelError(
            message, column=self.name, values=distinct, rows=shown_rows, source=source
        )


GENDER = Vocabulary("gender", ("Male", "Female"))
FAIRFACE_AGE = Vocabulary(
    "age",
    ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"),
    ordered=True,
)
FAIRFACE_RACE = Vocabulary(
    "race",
    (
        "White",
        "Black",
        "Latino_Hispanic",
        "East Asian",
        "Southeast Asian",
        "Indian",
        "Middle Eastern",
    ),
)
UTKFACE_RACE = Vocabulary("race", ("White", "Black", "Asian", "Indian", "Others"))

#: The audited attributes in their canonical order.
ATTRIBUTES: tuple[str, ...] = ("gender", "age", "race")
FAIRFACE_VOCABULARIES: dict[str, Vocabulary] = {
    "gender": GENDER,
    "age": FAIRFACE_AGE,
    "race": FAIRFACE_RACE,
}
UTKFACE_VOCABULARIES: dict[str, Vocabulary] = {
    "gender": GENDER,
    "age": FAIRFACE_AGE,
    "race": UTKFACE_RACE,
}

# Lower bounds (inclusive) of the FairFace age groups, in years.
_AGE_GROUP_LOWER_BOUNDS = np.array([0, 3, 10, 20, 30, 40, 50, 60, 70])


def age_years_to_group(years: Sequence[float] | np.ndarray | pd.Series) -> pd.Categorical:
    """Bin ages in years into the 9 FairFace age groups.

    Group ``"more than 70"`` holds ages 70 and above (FairFace's label for the
    open-ended top group).

    Parameters
    ----------
    years : array-like of float
        Ages in years, non-negative. Fractional ages are floored.

    Returns
    -------
    pandas.Categorical
        Ordered categorical with the :data:`FAIRFACE_AGE` classes.

    Raises
    ------
    DataValidationError
        If an age is missing, negative or not finite.

    Examples
    --------
    >>> list(age_years_to_group([0, 2, 3, 19, 70, 116]))
    ['0-2', '0-2', '3-9', '10-19', 'more than 70', 'more than 70']
    """
    import pandas as pd  # labels' tables: loaded when used

    arr = np.asarray(years, dtype=float)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise DataValidationError(
            f"ages must be finite and non-negative; bad value(s) {arr[bad[:10]].tolist()} "
            f"at position(s) {bad[:10].tolist()}"
        )
    codes = np.searchsorted(_AGE_GROUP_LOWER_BOUNDS, np.floor(arr), side="right") - 1
    return pd.Categorical.from_codes(codes, dtype=FAIRFACE_AGE.dtype)


@dataclass(frozen=True)
class ClassMapping:
    """An explicit, validated map from a model's classes to audited classes.

    Use it to audit a model whose vocabulary differs from the audited one, e.g.
    a 4-race model against UTKFace's 5 races, or several source labels that mean
    the same class.

    Parameters
    ----------
    mapping : mapping of str to str
        Source label -> target class. Every target must be a class of ``target``.
    target : Vocabulary
        The audited vocabulary.
    name : str, optional
        A name for messages, e.g. ``"FairFace race -> UTKFace race"``.

    Raises
    ------
    DataValidationError
        If a target label is not in ``target``.
    """

    mapping: Mapping[str, str]
    target: Vocabulary
    name: str = ""

    def __post_init__(self) -> None:
        unknown = sorted({t for t in self.mapping.values() if t not in self.target})
        if unknown:
            raise DataValidationError(
                f"mapping {self.name or ''!s} sends labels to {unknown}, which are not classes "
                f"of {self.target.name!r}: {list(self.target.classes)}"
            )

    def apply(self, values: Iterable[object], *, source: str | None = None) -> pd.Categorical:
        """Map source labels to the target vocabulary.

        Raises
        ------
        UnknownLabelError
            If a value has no entry in the mapping (rows and values named).
        """
        import pandas as pd  # labels' tables: loaded when used

        series = pd.Series(values, dtype="object")
        mapped = series.map(dict(self.mapping))
        missing = np.flatnonzero(mapped.isna().to_numpy())
        if missing.size:
            source_vocab = Vocabulary(self.target.name, tuple(dict.fromkeys(self.mapping)))
            raise source_vocab._unknown_error(series.iloc[missing], missing + 1, source)
        return pd.Categorical(mapped, dtype=self.target.dtype)


#: FairFace's 7 races onto UTKFace's 5 (East and Southeast Asian -> Asian;
#: Latino_Hispanic and Middle Eastern -> Others).
FAIRFACE_TO_UTKFACE_RACE = ClassMapping(
    {
        "White": "White",
        "Black": "Black",
        "Latino_Hispanic": "Others",
        "East Asian": "Asian",
        "Southeast Asian": "Asian",
        "Indian": "Indian",
        "Middle Eastern": "Others",
    },
    target=UTKFACE_RACE,
    name="FairFace race -> UTKFace race",
)


def class_mapping_from_spec(
    spec: str, *, target: Vocabulary
) -> ClassMapping | Callable[[Iterable[object]], pd.Categorical]:
    """Resolve a mapping named on the command line.

    Parameters
    ----------
    spec : str
        ``"years"`` (predicted ages in years, binned with :func:`age_years_to_group`;
        ``target`` must be the FairFace age groups), ``"fairface-to-utkface"``
        (:data:`FAIRFACE_TO_UTKFACE_RACE`), or the path of a JSON file holding an
        object ``{"source label": "audited class", ...}``.
    target : Vocabulary
        The audited vocabulary the mapping must land in.

    Raises
    ------
    DataValidationError
        Unknown name, unreadable or malformed file, or a target outside ``target``.
    """
    import json
    from pathlib import Path

    if spec == "years":
        if target != FAIRFACE_AGE:
            raise DataValidationError(
                f"mapping 'years' bins ages into the FairFace age groups, not {target.name!r}"
            )
        return age_years_to_group
    if spec == "fairface-to-utkface":
        if target != UTKFACE_RACE:
            raise DataValidationError("mapping 'fairface-to-utkface' lands in UTKFace's races")
        return FAIRFACE_TO_UTKFACE_RACE
    path = Path(spec)
    if not path.is_file():
        raise DataValidationError(
            f"mapping {spec!r} is neither 'years', 'fairface-to-utkface' nor a JSON file"
        )
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"{path}: not a readable JSON mapping ({exc})") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise DataValidationError(f"{path}: expected a JSON object of label -> class strings")
    return ClassMapping(mapping, target=target, name=str(path))
