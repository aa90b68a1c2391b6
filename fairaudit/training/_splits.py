"""Deterministic splits: the UTKFace protocol, a stratified held-out part, row limits."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = [
    "HOLDOUT_STRATA",
    "UTKFACE_PROTOCOL_SIZES",
    "proportional_sizes",
    "stratified_holdout_split",
    "utkface_protocol_split",
]

logger = logging.getLogger(__name__)

#: Train / validation / test sizes of the original UTKFace study (ages 10-65).
UTKFACE_PROTOCOL_SIZES: dict[str, int] = {"train": 9115, "val": 3907, "test": 5581}


def proportional_sizes(n: int, ratios: Sequence[int]) -> list[int]:
    """Split ``n`` items into parts proportional to ``ratios``, summing to ``n``.

    Largest-remainder (Hamilton) rounding: each part gets the floor of its
    exact share, then the leftover items go one each to the parts with the
    largest fractional remainders (ties to the earlier part).

    Examples
    --------
    >>> proportional_sizes(18603, [9115, 3907, 5581])
    [9115, 3907, 5581]
    >>> proportional_sizes(10, [9115, 3907, 5581])
    [5, 2, 3]
    """
    ratios = np.asarray(ratios, dtype=np.int64)
    if n < 0 or ratios.size == 0 or (ratios <= 0).any():
        raise DataValidationError(f"cannot split {n} items in proportions {ratios.tolist()}")
    exact = n * ratios / ratios.sum()
    sizes = np.floor(exact).astype(np.int64)
    leftover = n - int(sizes.sum())
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:leftover]] += 1
    return sizes.tolist()


def utkface_protocol_split(
    table: pd.DataFrame,
    *,
    seed: int = 0,
    min_age: int = 10,
    max_age: int = 65,
) -> dict[str, pd.DataFrame]:
    """Split UTKFace the way the original study did.

    Keep the rows aged ``min_age`` to ``max_age`` years (inclusive), then
    shuffle them with ``seed`` and cut train / val / test in the proportions
    9115 : 3907 : 5581. On the full dataset (18,603 rows in that age range)
    the sizes are exactly these; on fewer rows they are scaled with
    largest-remainder rounding (:func:`proportional_sizes`), so they always sum
    to the rows kept. The result depends only on the rows' ``file`` values and
    ``seed``, not on the table's order.

    Parameters
    ----------
    table : pandas.DataFrame
        UTKFace label table (:func:`fairaudit.datasets.load_utkface`) with
        ``file`` and ``age_years`` columns.
    seed : int, default=0
    min_age, max_age : int, default=10, 65

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"train", "val", "test"}``, each re-indexed from 0, with ``split``
        set to its part's name.

    Raises
    ------
    DataValidationError
        If a column is missing, an age is missing, a file repeats, or too few
        rows remain to give every part at least one row.
    """
    for column in ("file", "age_years"):
        if column not in table.columns:
            raise DataValidationError(
                f"utkface_protocol_split needs a {column!r} column (columns: {list(table.columns)})"
            )
    ages = pd.to_numeric(table["age_years"], errors="coerce")
    missing = np.flatnonzero(ages.isna().to_numpy())
    if missing.size:
        raise DataValidationError(
            f"utkface_protocol_split: {missing.size} row(s) have no age, e.g. "
            f"{table['file'].iloc[missing[:5]].tolist()}"
        )
    duplicated = table["file"].duplicated()
    if duplicated.any():
        raise DataValidationError(
            f"utkface_protocol_split: file(s) listed twice: "
            f"{table.loc[duplicated, 'file'].head(5).tolist()}"
        )
    in_range = ((ages >= min_age) & (ages <= max_age)).to_numpy()
    kept = table[in_range].sort_values("file", kind="stable").reset_index(drop=True)
    logger.info(
        "UTKFace protocol: %d of %d rows aged %d-%d kept (%d outside excluded)",
        len(kept),
        len(table),
        min_age,
        max_age,
        len(table) - len(kept),
    )
    names = list(UTKFACE_PROTOCOL_SIZES)
    sizes = proportional_sizes(len(kept), list(UTKFACE_PROTOCOL_SIZES.values()))
    if min(sizes) < 1:
        raise DataValidationError(
            f"utkface_protocol_split: only {len(kept)} row(s) aged {min_age}-{max_age}; "
            "need at least 3 to fill train, val and test"
        )
    order = np.random.default_rng(seed).permutation(len(kept))
    bounds = np.cumsum([0, *sizes])
    parts: dict[str, pd.DataFrame] = {}
    for name, start, stop in zip(names, bounds[:-1], bounds[1:], strict=True):
        part = kept.iloc[np.sort(order[start:stop])].reset_index(drop=True)
        part["split"] = pd.Categorical([name] * len(part), categories=names)
        parts[name] = part
    return parts


#: Columns whose combinations stratify the held-out part of FairFace's training split.
HOLDOUT_STRATA: tuple[str, ...] = ("gender", "age", "race")


def stratified_holdout_split(
    table: pd.DataFrame,
    *,
    fraction: float = 0.1,
    strata: tuple[str, ...] = HOLDOUT_STRATA,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Hold out a stratified fraction of a training table.

    The held-out part has ``round(fraction * n)`` rows, shared among the
    strata (the combinations of ``strata`` values) in proportion to their
    sizes with largest-remainder rounding (:func:`proportional_sizes`), so
    every combination of gender x age x race is represented as in the whole.
    Within each stratum the rows are drawn by a seeded shuffle of the rows
    sorted by ``file``: the split depends only on the rows' files and labels
    and on ``seed``, not on the table's order.

    Parameters
    ----------
    table : pandas.DataFrame
        Label table with a ``file`` column and the ``strata`` columns.
    fraction : float, default=0.1
        Share of the rows held out, strictly between 0 and 1.
    strata : tuple of str, default=("gender", "age", "race")
    seed : int, default=0

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"train", "holdout"}``, each sorted by ``file`` and re-indexed from 0.

    Raises
    ------
    DataValidationError
        If ``fraction`` is not in (0, 1), a column is missing or has a missing
        value, a file repeats, or the held-out part would be empty.

    Examples
    --------
    >>> table = pd.DataFrame({"file": [f"{i}.jpg" for i in range(20)],
    ...                       "gender": ["Male", "Female"] * 10})
    >>> parts = stratified_holdout_split(table, fraction=0.2, strata=("gender",))
    >>> [len(parts["train"]), len(parts["holdout"])]
    [16, 4]
    >>> parts["holdout"]["gender"].value_counts().sort_index().to_dict()
    {'Female': 2, 'Male': 2}
    """
    if isinstance(fraction, bool) or not (0.0 < float(fraction) < 1.0):
        raise DataValidationError(f"the held-out fraction must be in (0, 1), got {fraction!r}")
    for column in ("file", *strata):
        if column not in table.columns:
            raise DataValidationError(
                f"stratified_holdout_split needs a {column!r} column "
                f"(columns: {list(table.columns)})"
            )
        missing = np.flatnonzero(table[column].isna().to_numpy())
        if missing.size:
            raise DataValidationError(
                f"stratified_holdout_split: {missing.size} row(s) have no {column!r}, e.g. "
                f"{table['file'].iloc[missing[:5]].tolist()}"
            )
    duplicated = table["file"].duplicated()
    if duplicated.any():
        raise DataValidationError(
            "stratified_holdout_split: file(s) listed twice: "
            f"{table.loc[duplicated, 'file'].head(5).tolist()}"
        )
    ordered = table.sort_values("file", kind="stable").reset_index(drop=True)
    n_holdout = int(round(float(fraction) * len(ordered)))
    if n_holdout < 1 or n_holdout >= len(ordered):
        raise DataValidationError(
            f"stratified_holdout_split: {len(ordered)} row(s) at fraction {fraction} leave "
            "an empty part"
        )
    keys = ordered[list(strata)].astype(str).agg("\x1f".join, axis=1)
    groups = [np.flatnonzero((keys == key).to_numpy()) for key in sorted(keys.unique())]
    sizes = proportional_sizes(n_holdout, [len(g) for g in groups])
    rng = np.random.default_rng(seed)
    held = np.zeros(len(ordered), dtype=bool)
    for rows, size in zip(groups, sizes, strict=True):
        held[rng.permutation(rows)[:size]] = True
    logger.info(
        "held out %d of %d rows (%.3g), stratified by %s, seed %d",
        int(held.sum()),
        len(ordered),
        fraction,
        " x ".join(strata),
        seed,
    )
    return {
        "train": ordered[~held].reset_index(drop=True),
        "holdout": ordered[held].reset_index(drop=True),
    }


def limit_rows(table: pd.DataFrame, limit: int | None, *, seed: int) -> pd.DataFrame:
    """The first ``limit`` rows of a seeded shuffle (all rows when None), re-indexed."""
    if limit is None or limit >= len(table):
        return table.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).permutation(len(table))[:limit])
    return table.iloc[rows].reset_index(drop=True)
