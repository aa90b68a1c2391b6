"""The label table of a :mod:`fairaudit.datasets` loader, as integrity checks read it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = ["images_of_label_table"]

#: Columns every loader's table has.
_REQUIRED = ("file", "path", "split", "has_image")


def images_of_label_table(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a loader's label table that have an image, after checking its columns.

    Raises
    ------
    DataValidationError
        Not a DataFrame, required columns missing, ``has_image`` with missing values,
        or a row with an image but no path (the message names the file).
    """
    if not isinstance(table, pd.DataFrame):
        raise DataValidationError(
            f"check_integrity expects the label table (a DataFrame), got {type(table).__name__}"
        )
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise DataValidationError(
            f"the table lacks column(s) {missing} (use the table of a fairaudit.datasets loader)"
        )
    has_image = table["has_image"]
    if has_image.isna().any():
        raise DataValidationError("column 'has_image' has missing values")
    rows = table[has_image.to_numpy(dtype=bool)]
    no_path = np.flatnonzero(rows["path"].isna().to_numpy())
    if no_path.size:
        raise DataValidationError(
            f"{no_path.size} rows with has_image True have no path, e.g. file "
            f"{rows['file'].iloc[no_path[0]]!r}"
        )
    return rows
