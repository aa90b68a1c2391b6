"""The report's suspect-label table: per group, the rate of rows whose label may be wrong.

Shown in the dataset section when :func:`fairaudit.report.render_report` is given the
rates (``suspect_labels=``, the :attr:`DatasetAudit.suspect_labels` of
``audit_dataset(..., label_issues=..., near_duplicates=...)``): a model audit holds
counts, not rows, so the rates come from the dataset audit of the same rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairaudit.dataset_audit._suspect_labels import SUSPECT_KINDS
from fairaudit.exceptions import DataValidationError
from fairaudit.report._html import format_interval, frame_to_html
from fairaudit.report.sections._context import ReportContext

__all__ = ["build_suspect_labels"]

_COLUMNS = ("kind", "attribute", "group", "n", "flagged", "rate", "lower", "upper")
_WORDS = {
    "label_issue": "likely label errors (confident learning)",
    "near_duplicate_conflict": "in a near-duplicate pair with conflicting labels",
}


def build_suspect_labels(ctx: ReportContext, rates: pd.DataFrame | None) -> dict[str, Any] | None:
    """The table of suspect-label rates (one row per attribute and group), or None.

    Parameters
    ----------
    ctx : ReportContext
    rates : pandas.DataFrame, optional
        :func:`~fairaudit.dataset_audit._suspect_labels.suspect_label_rates`' table.

    Returns
    -------
    dict or None
        ``table`` (one row per attribute and group; per kind its rows, flagged rows
        and rate with its interval; groups under ``min_support`` rows marked small)
        and ``kinds`` (what each kind means, in words).

    Raises
    ------
    DataValidationError
        A table without the columns of ``suspect_label_rates``.
    """
    if rates is None:
        return None
    absent = [c for c in _COLUMNS if c not in rates.columns]
    if absent:
        raise DataValidationError(
            f"suspect_labels needs the table of suspect_label_rates; it lacks {absent}"
        )
    kinds = [k for k in SUSPECT_KINDS if k in set(rates["kind"])]
    kinds += sorted(set(map(str, rates["kind"])) - set(kinds))
    keys = rates[["attribute", "group"]].astype(str).drop_duplicates()
    frame = keys.reset_index(drop=True)
    small = pd.Series(False, index=frame.index)
    for kind in kinds:
        part = rates[rates["kind"] == kind].astype({"attribute": str, "group": str})
        joined = frame.merge(part, on=["attribute", "group"], how="left")
        frame[f"{kind} rows"] = joined["n"].astype("Int64").to_numpy()
        frame[f"{kind} flagged"] = joined["flagged"].astype("Int64").to_numpy()
        frame[f"{kind} rate"] = [
            format_interval(r, lo, hi)
            for r, lo, hi in zip(joined["rate"], joined["lower"], joined["upper"], strict=True)
        ]
        small |= joined["n"].fillna(0).to_numpy() < ctx.min_support
    frame = frame.astype({c: object for c in frame.columns if str(frame[c].dtype) == "Int64"})
    table = frame_to_html(
        frame,
        caption=(
            f"Rows whose label may be wrong, per group, with {ctx.level} exact intervals "
            f"(each unadjusted); highlighted: groups under {ctx.min_support} rows"
        ),
        table_id=ctx.unique_id("table-suspect-labels"),
        index=False,
        row_classes=["small" if s else "" for s in small],
    )
    return {"table": table, "kinds": [f"{k}: {_WORDS.get(k, k)}" for k in kinds]}
