"""Section 4, the regression targets (e.g. age in years): their error overall and per group."""

from __future__ import annotations

from typing import Any

from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._context import ReportContext, attribute_tables

__all__ = ["build_regression"]


def build_regression(ctx: ReportContext) -> list[dict[str, Any]]:
    """Per regression target: its error overall and per group of each attribute."""
    out = []
    for target in ctx.audit.regression:
        tables = [
            frame_to_html(
                ctx.audit.regression_metrics(target, min_support=ctx.min_support),
                caption=f"{target}: error of the predictions, all rows",
                table_id=ctx.unique_id(f"table-regression-{target}"),
            )
        ]
        tables += attribute_tables(
            ctx,
            lambda attribute, target=target: ctx.audit.regression_metrics(
                target, by=attribute, min_support=ctx.min_support
            ),
            caption=f"{target} by {{attribute}}",
            table_id=f"table-regression-{target}-{{attribute}}",
        )
        out.append({"target": target, "tables": tables})
    return out
