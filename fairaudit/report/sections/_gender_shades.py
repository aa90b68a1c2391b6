"""The Gender Shades table of a report: accuracy of each task by lighter/darker skin x gender.

Shown right after the verdict when the audit is grouped by the lighter/darker skin
split (``skin_type``, :data:`fairaudit.attributes.SKIN_TYPE`, a proxy for Fitzpatrick
I-III vs IV-VI from the faces' ITA) and by gender, as Buolamwini & Gebru (2018) laid
it out: one row per skin x gender group, one column per task. The numbers are
:func:`fairaudit.attributes.gender_shades_table` of the audit; an audit without the
skin split gets no section (and its report is unchanged).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairaudit.attributes._colour import SKIN_TYPE
from fairaudit.attributes._gender_shades import gender_shades_table
from fairaudit.model_audit import AuditResult
from fairaudit.report._html import format_interval, frame_to_html
from fairaudit.report.sections._context import ReportContext

__all__ = ["build_gender_shades", "skin_split_attribute"]

#: The gender attribute the table crosses with the skin split.
_GENDER = "gender"


def skin_split_attribute(audit: AuditResult) -> str | None:
    """The audit's lighter/darker skin attribute, or None.

    ``skin_type`` when the audit is grouped by it, else the first attribute whose
    classes are the lighter/darker split (:data:`~fairaudit.attributes.SKIN_TYPE`'s).
    """
    if SKIN_TYPE.name in audit.attributes:
        return SKIN_TYPE.name
    for name, vocab in audit.attributes.items():
        if tuple(str(c) for c in vocab.classes) == SKIN_TYPE.classes:
            return str(name)
    return None


def build_gender_shades(ctx: ReportContext) -> dict[str, Any] | None:
    """The table and its note, or None without a skin split, a gender attribute or a task.

    Returns
    -------
    dict or None
        ``table`` (the HTML table: skin, gender, the rows of each group (per task
        when the tasks' rows differ), then per task its accuracy with its Wilson
        interval; rows under ``min_support`` marked small), ``worst`` (per task,
        the judged group with the lowest accuracy, in words) and ``skin`` (the
        attribute's name).
    """
    audit = ctx.audit
    skin = skin_split_attribute(audit)
    if skin is None or _GENDER not in audit.attributes or not audit.tasks:
        return None
    table = gender_shades_table(audit, skin=skin, gender=_GENDER, confidence=ctx.confidence)
    tasks = list(audit.tasks)
    first = table[table["task"] == tasks[0]].reset_index(drop=True)
    frame = pd.DataFrame({skin: first["skin"].astype(str), _GENDER: first["gender"].astype(str)})
    same_rows = all(
        table.loc[table["task"] == task, "n"].tolist() == first["n"].tolist() for task in tasks
    )
    if same_rows:
        frame["rows"] = first["n"].to_numpy()
    small = pd.Series(False, index=frame.index)
    worst: list[str] = []
    for task in tasks:
        part = table[table["task"] == task].reset_index(drop=True)
        if not same_rows:
            frame[f"{task} rows"] = part["n"].to_numpy()
        frame[f"{task} accuracy"] = [
            format_interval(a, lo, hi)
            for a, lo, hi in zip(part["accuracy"], part["lower"], part["upper"], strict=True)
        ]
        small |= part["n"] < ctx.min_support
        judged = part[part["n"] >= max(ctx.min_support, 1)]
        if len(judged) > 1:
            row = judged.loc[judged["accuracy"].idxmin()]
            worst.append(
                f"{task}: lowest for {row['skin']} {row['gender']} "
                f"({format_interval(row['accuracy'], row['lower'], row['upper'])}, "
                f"n = {int(row['n']):,})"
            )
    html = frame_to_html(
        frame,
        caption=(
            f"Accuracy of each task by {skin} x {_GENDER}, with {ctx.level} Wilson intervals "
            f"(each unadjusted); highlighted rows: under {ctx.min_support} rows, too few to judge"
        ),
        table_id=ctx.unique_id("table-gender-shades"),
        index=False,
        row_classes=["small" if s else "" for s in small],
    )
    return {"table": html, "worst": worst, "skin": skin}
