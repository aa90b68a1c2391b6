"""A task's calibration: ECE and MCE overall and per group, and the reliability diagram."""

from __future__ import annotations

from typing import Any

from fairaudit.report._figures import plot_reliability
from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext, attribute_tables, report_figure

__all__ = ["build_calibration"]


def build_calibration(ctx: ReportContext, task: str, tid: str) -> dict[str, Any] | None:
    """Calibration tables and reliability diagram of ``task``; None without its statistics."""
    if task not in ctx.audit.calibration_sums:
        return None
    tables = []
    overall = ctx.audit.calibration(task, min_support=ctx.min_support)
    tables.append(
        frame_to_html(
            overall,
            caption=f"Calibration of {task}, all rows",
            table_id=f"table-{tid}-calibration",
        )
    )
    tables += attribute_tables(
        ctx,
        lambda attribute: ctx.audit.calibration(task, by=attribute, min_support=ctx.min_support),
        caption=f"Calibration of {task} by {{attribute}}",
        table_id=f"table-{tid}-calibration-{{attribute}}",
    )
    curves = [("all rows", ctx.audit.reliability(task))]
    by = ctx.confusion_by[0] if ctx.confusion_by else None
    if by is not None:
        reliability = ctx.audit.reliability(task, by=by)
        for group in ctx.audit.attributes[by].classes:
            curves.append((f"{by} = {group}", reliability[reliability[by] == group]))
    figure = report_figure(
        plot_reliability(curves, title=f"{task}: reliability"),
        alt=f"Reliability diagram of {task}"
        + (f", overall and per {by}" if by is not None else ""),
        caption=(
            f"Accuracy against mean confidence in each of the {ctx.audit.n_bins} "
            "confidence bins; the dashed diagonal is perfect calibration."
        ),
    )
    return {"tables": tables, "figure": figure}
