"""A task's calibration: ECE and MCE overall and per group, and the reliability diagram."""

from __future__ import annotations

from typing import Any

from fairaudit.report._charts import line_chart
from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext, attribute_tables

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
    kept = [(name, frame[frame["n"] > 0]) for name, frame in curves]
    figure = {
        "svg": line_chart(
            [
                (name, f["mean_confidence"].to_numpy(float), f["accuracy"].to_numpy(float))
                for name, f in kept
            ],
            label=f"Reliability diagram of {task}"
            + (f", overall and per {by}" if by is not None else ""),
            x_title="mean confidence (per bin)",
            y_title="accuracy (per bin)",
        ),
        "caption": (
            f"Accuracy against mean confidence in each of the {ctx.audit.n_bins} "
            "confidence bins (empty bins left out); the dashed diagonal is perfect calibration."
        ),
    }
    return {"tables": tables, "figure": figure}
