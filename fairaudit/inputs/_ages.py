"""Ages in years: the range they must lie in, and whether values look like years."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = ["AGE_YEARS_RANGE", "check_age_column"]


def _years_like(values: Sequence[object]) -> bool:
    """Whether unknown age labels are numbers of years (``23``, ``41.5``, ``"36"``)."""
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return bool(numbers) and all(np.isfinite(n) and 0 <= n <= 130 for n in numbers)


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
