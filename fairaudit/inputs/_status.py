"""The ``status`` of each prediction row: rows whose image was not read are left out."""

from __future__ import annotations

import pandas as pd

from fairaudit.schema import STATUS_COLUMN, STATUS_OK

__all__ = ["readable_rows"]


def readable_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], pd.Series]:
    """Rows whose ``status`` is ``"ok"`` (all rows without a status column).

    Returns the kept rows, the number left out per status value (a missing status
    counts as ``"missing"``), and the keys of the left-out rows' (their index).
    """
    if STATUS_COLUMN not in frame.columns:
        return frame, {}, frame.iloc[:0].index.to_series()
    status = frame[STATUS_COLUMN].astype("object")
    ok = status.eq(STATUS_OK).to_numpy()
    left = status[~ok].where(status[~ok].notna(), "missing").astype(str)
    counts = {str(k): int(v) for k, v in left.value_counts(sort=True).items()}
    return frame.loc[ok], counts, frame.index[~ok].to_series()
