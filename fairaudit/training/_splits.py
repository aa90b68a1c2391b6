"""Deterministic splits: the UTKFace protocol and row limits for quick runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = ["UTKFACE_PROTOCOL_SIZES", "proportional_sizes", "utkface_protocol_split"]

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


def limit_rows(table: pd.DataFrame, limit: int | None, *, seed: int) -> pd.DataFrame:
    """The first ``limit`` rows of a seeded shuffle (all rows when None), re-indexed."""
    if limit is None or limit >= len(table):
        return table.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).permutation(len(table))[:limit])
    return table.iloc[rows].reset_index(drop=True)
