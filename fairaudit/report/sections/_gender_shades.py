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
#: The group of rows without a value (``audit_table(..., missing="group")``): shown, not named
#: as the worst group.
_MISSING = "missing"


def skin_split_attribute(audit: AuditResult) -> str | None:
    """The audit's lighter/darker skin attribute, or None.

    ``skin_type`` when the audit is grouped by it, else the first attribute whose
    classes are the lighter/darker split (:data:`~fairaudit.attributes.SKIN_TYPE`'s,
    with or without a ``"missing"`` group).
    """
    if SKIN_TYPE.name in audit.attributes:
        return SKIN_TYPE.name
    split = len(SKIN_TYPE.classes)
    for name, vocab in audit.attributes.items():
        classes = tuple(str(c) for c in vocab.classes)
        if classes[:split] == SKIN_TYPE.classes and set(classes[split:]) <= {_MISSING}:
            return str(name)
    return None


def build_gender_shades(ctx: ReportContext) -> dict[str, Any] | None:
    """The table and its note, or None without a skin split, a gender attribute or a task.

    Returns
    -------
    dict or None
        ``table`` (the HTML table: one column per skin x gender group; a row of
        the groups' rows, then per task its accuracy with its exact interval (with
        the rows in each cell when the tasks' rows differ); cells under
        ``min_support`` rows marked small), ``worst`` (per task, the judged group
        with the lowest accuracy, in words; not the ``"missing"`` group) and
        ``skin`` (the attribute's name).
    """
    audit = ctx.audit
    skin = skin_split_attribute(audit)
    if skin is None or _GENDER not in audit.attributes or not audit.tasks:
        return None
    table = gender_shades_table(audit, skin=skin, gender=_GENDER, confidence=ctx.confidence)
    tasks = list(audit.tasks)
    # the "missing" groups of audit_table(..., missing="group") only where they hold rows
    n_any = table.groupby(["skin", "gender"], sort=False)["n"].transform("sum")
    unnamed = table["skin"].isin([_MISSING]) | table["gender"].isin([_MISSING])
    table = table[~(unnamed & (n_any == 0))]
    # one column per skin x gender group, one row per task (the paper's layout, and short:
    # it stays on the first screen under the verdict)
    first = table[table["task"] == tasks[0]].reset_index(drop=True)
    groups = [f"{s} {g}" for s, g in zip(first["skin"], first["gender"], strict=True)]
    same_rows = all(
        table.loc[table["task"] == task, "n"].tolist() == first["n"].tolist() for task in tasks
    )
    records: list[list[Any]] = []
    labels: list[str] = []
    small = pd.DataFrame("", index=range(len(tasks) + int(same_rows)), columns=groups)
    if same_rows:
        records.append([int(n) for n in first["n"]])
        labels.append("rows")
    worst: list[str] = []
    for task in tasks:
        part = table[table["task"] == task].reset_index(drop=True)
        row = [
            format_interval(a, lo, hi) + ("" if same_rows else f" (n={int(n):,})")
            for a, lo, hi, n in zip(
                part["accuracy"], part["lower"], part["upper"], part["n"], strict=True
            )
        ]
        small.iloc[len(records)] = ["small" if n < ctx.min_support else "" for n in part["n"]]
        records.append(row)
        labels.append(f"{task} accuracy")
        named = ~part["skin"].isin([_MISSING]) & ~part["gender"].isin([_MISSING])
        judged = part[named & (part["n"] >= max(ctx.min_support, 1))]
        if len(judged) > 1:
            low = judged.loc[judged["accuracy"].idxmin()]
            worst.append(
                f"{task}: lowest for {low['skin']} {low['gender']} "
                f"({format_interval(low['accuracy'], low['lower'], low['upper'])}, "
                f"n = {int(low['n']):,})"
            )
    frame = pd.DataFrame(records, columns=groups, dtype=object)
    frame.insert(0, f"{skin} x {_GENDER}", labels)
    html = frame_to_html(
        frame,
        caption=(
            f"Accuracy [{ctx.level} exact interval, unadjusted] by {skin} x {_GENDER}; "
            f"* under {ctx.min_support} rows, too few to judge"
        ),
        table_id=ctx.unique_id("table-gender-shades"),
        index=False,
        cell_classes=small,
    )
    return {"table": html, "worst": worst, "skin": skin}
