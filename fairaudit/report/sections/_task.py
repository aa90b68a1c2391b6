"""Section 3, one per task: metrics, per-group metrics, confusion matrices, heatmaps.

Each task's section holds its overall metrics and their bootstrap intervals, its
metrics per group of each attribute (with a figure of the accuracy intervals) and
per intersectional slice, its per-class scores, its confusion matrices (overall and
per group of the ``confusion_by`` attributes) and its accuracy heatmaps across
attribute pairs; then its fairness (:mod:`._fairness`) and calibration
(:mod:`._calibration`). Every number is an :class:`~fairaudit.model_audit.AuditResult`
method's; the metrics shown are names of the :mod:`fairaudit.functional` registry.
"""

from __future__ import annotations

from typing import Any

import markupsafe
import numpy as np
import pandas as pd

from fairaudit.functional._registry import SLICE_METRICS
from fairaudit.report._html import frame_to_html
from fairaudit.report.sections._calibration import build_calibration
from fairaudit.report.sections._context import (
    ReportContext,
    registered,
    status_classes,
)
from fairaudit.report.sections._fairness import build_fairness

__all__ = ["build_task", "build_tasks"]

#: Slice metrics shown per group (after the support), with bootstrap intervals for accuracy.
_GROUP_METRICS = ("support",) + registered(
    SLICE_METRICS, "accuracy", "balanced_accuracy", "f1_macro", "error_rate"
)
#: Overall metrics shown with bootstrap intervals: every slice metric but the error rate.
_OVERALL_METRICS = tuple(name for name in SLICE_METRICS if name != "error_rate")


def build_tasks(ctx: ReportContext) -> list[dict[str, Any]]:
    """The section of every task, in audit order."""
    return [build_task(ctx, task) for task in ctx.audit.tasks]


def build_task(ctx: ReportContext, task: str) -> dict[str, Any]:
    """The section of one task."""
    tid = ctx.unique_id(f"task-{task}")
    out: dict[str, Any] = {"name": task, "id": tid, "classes": ctx.audit.tasks[task].classes}
    out["overall_table"] = _overall(ctx, task, tid)
    out.update(_groups(ctx, task, tid))
    out["per_class_table"] = _per_class(ctx, task, tid)
    out["confusion"] = _confusion(ctx, task, tid)
    out["heatmaps"] = [_heatmap(ctx, task, tid, pair) for pair in ctx.heatmaps[task]]
    out["fairness"] = [build_fairness(ctx, task, tid, a) for a in ctx.attributes]
    out["calibration"] = build_calibration(ctx, task, tid)
    return out


def _overall(ctx: ReportContext, task: str, tid: str) -> markupsafe.Markup:
    metrics = ctx.audit.metrics(task, min_support=ctx.min_support).iloc[0]
    boot = ctx.boot[
        (ctx.boot["task"] == task) & (ctx.boot["by"] == "") & (ctx.boot["class"] == "")
    ].set_index("metric")
    rows = [("support", float(metrics["support"]), np.nan, np.nan)]
    for metric in _OVERALL_METRICS:
        b = boot.loc[metric]
        rows.append((metric, float(metrics[metric]), float(b["lower"]), float(b["upper"])))
    frame = pd.DataFrame(rows, columns=["metric", "estimate", "CI low", "CI high"])
    frame["estimate"] = frame["estimate"].astype(object)
    frame.loc[0, "estimate"] = int(metrics["support"])
    return frame_to_html(
        frame,
        caption=(
            f"Overall metrics of {task} (CI: {ctx.level} exact interval for accuracy and the "
            f"error rate, {ctx.ci} for the other metrics; the interval column names it)"
        ),
        table_id=f"table-{tid}-overall",
        column_formats={"estimate": "{:.4f}"},
    )


def _groups(ctx: ReportContext, task: str, tid: str) -> dict[str, Any]:
    tables = []
    for attribute in ctx.attributes:
        frame = ctx.audit.metrics(task, by=attribute, min_support=ctx.min_support)
        accuracy = ctx.rate_table(task, attribute)  # groups in the order of ``frame``
        shown = pd.DataFrame({attribute: [str(v) for v in frame[attribute]]})
        for metric in _GROUP_METRICS:
            shown[metric] = frame[metric].to_numpy()
            if metric == "accuracy":
                shown["accuracy CI low"] = accuracy["lower"].to_numpy()
                shown["accuracy CI high"] = accuracy["upper"].to_numpy()
        shown["status"] = frame["status"].to_numpy()
        tables.append(
            frame_to_html(
                shown,
                caption=f"{task} by {attribute} (accuracy CI: {ctx.level} exact interval)",
                table_id=ctx.unique_id(f"table-{tid}-by-{attribute}"),
                sortable=len(shown) > 8,
                row_classes=status_classes(shown["status"]),
            )
        )
    result: dict[str, Any] = {"group_tables": tables}
    if len(ctx.attributes) > 1:
        by = tuple(ctx.attributes)
        frame = ctx.audit.metrics(task, by=by, min_support=ctx.min_support)
        for attribute in by:
            frame[attribute] = frame[attribute].astype(str)
        result["intersection_table"] = frame_to_html(
            frame,
            caption=f"{task} in every intersectional slice ({' x '.join(by)})",
            table_id=ctx.unique_id(f"table-{tid}-intersections"),
            sortable=True,
            css_class="wide",
            row_classes=status_classes(frame["status"]),
        )
    else:
        result["intersection_table"] = None
    return result


def _per_class(ctx: ReportContext, task: str, tid: str) -> markupsafe.Markup:
    frame = ctx.audit.per_class(task, min_support=ctx.min_support)
    frame["class"] = frame["class"].astype(str)
    return frame_to_html(
        frame.drop(columns=["status"]),
        caption=f"Per-class scores of {task}, all rows (one-vs-rest)",
        table_id=f"table-{tid}-per-class",
    )


def _confusion(ctx: ReportContext, task: str, tid: str) -> dict[str, Any]:
    # (title, counts, row shares): the shares are AuditResult's normalize="true"; the
    # tables are coloured by the shares (a figure of the same shares would repeat them)
    panels = [
        (
            "all rows",
            _plain_matrix(ctx.audit.confusion_matrix(task)),
            _plain_matrix(ctx.audit.confusion_matrix(task, normalize="true")),
        )
    ]
    for attribute in ctx.confusion_by:
        grouped = ctx.audit.confusion_matrix(task, by=attribute)
        shares = ctx.audit.confusion_matrix(task, by=attribute, normalize="true")
        for group in ctx.audit.attributes[attribute].classes:
            panels.append(
                (
                    f"{attribute} = {group}",
                    _plain_matrix(grouped.xs(group, level=attribute)),
                    _plain_matrix(shares.xs(group, level=attribute)),
                )
            )
    tables = []
    for k, (name, counts, row_shares) in enumerate(panels):
        tables.append(
            frame_to_html(
                counts,
                caption=(
                    f"Confusion counts of {task}, {name} (rows: true class, columns: "
                    "predicted class; colour: share of the true row)"
                ),
                table_id=f"table-{tid}-confusion-{k}",
                heat_columns=list(counts.columns),
                heat_values=row_shares,
                heat_range=(0.0, 1.0),
            )
        )
    return {"overall_table": tables[0], "group_tables": tables[1:]}


def _heatmap(ctx: ReportContext, task: str, tid: str, pair: tuple[str, str]) -> dict[str, Any]:
    rows, columns = pair
    values = ctx.audit.table(task, rows=rows, columns=columns, metric="accuracy")
    support = ctx.audit.table(task, rows=rows, columns=columns, metric="support")
    long = ctx.audit.metrics(task, by=pair, min_support=ctx.min_support)
    view = ctx.rate_table(task, pair)
    detail = pd.DataFrame(
        {
            rows: long[rows].astype(str).to_numpy(),
            columns: long[columns].astype(str).to_numpy(),
            "support": long["support"].to_numpy(),
            "accuracy": long["accuracy"].to_numpy(),
            "accuracy CI low": view["lower"].to_numpy(),
            "accuracy CI high": view["upper"].to_numpy(),
            "status": long["status"].to_numpy(),
        }
    )
    wide = values.copy()
    wide.index = pd.Index([str(v) for v in wide.index], name=rows)
    wide.columns = [str(c) for c in wide.columns]
    key = f"{rows}-{columns}"
    return {
        "title": f"{task} accuracy by {rows} x {columns}",
        "table": frame_to_html(
            wide,
            caption=(
                f"{task} accuracy by {rows} (rows) x {columns} (columns); colour: from the "
                f"lowest to the highest cell of at least {ctx.min_support} rows (smaller "
                "cells: see the detail table)"
            ),
            table_id=ctx.unique_id(f"table-{tid}-heatmap-{key}"),
            heat_columns=list(wide.columns),
            heat_range=_judged_range(values, support, ctx.min_support),
            cell_classes=_small_cells(support, ctx.min_support, wide),
        ),
        "detail_table": frame_to_html(
            detail,
            caption=(
                f"{task} accuracy by {rows} x {columns} with n and its {ctx.level} exact interval"
            ),
            table_id=ctx.unique_id(f"table-{tid}-heatmap-{key}-detail"),
            sortable=True,
            row_classes=status_classes(detail["status"]),
        ),
    }


def _judged_range(
    values: pd.DataFrame, support: pd.DataFrame, min_support: int
) -> tuple[float, float] | None:
    """Colour range of a heat table: the cells with enough rows (None: every cell)."""
    v = values.to_numpy(dtype=float)
    judged = v[(support.to_numpy() >= max(min_support, 1)) & np.isfinite(v)]
    return (float(judged.min()), float(judged.max())) if judged.size else None


def _small_cells(support: pd.DataFrame, min_support: int, like: pd.DataFrame) -> pd.DataFrame:
    """``"small"`` where a pivot-table cell has rows but fewer than ``min_support``."""
    n = support.to_numpy()
    marks = np.where((n > 0) & (n < min_support), "small", "")
    return pd.DataFrame(marks, index=like.index, columns=like.columns)


def _plain_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.to_numpy(), columns=[str(c) for c in frame.columns])
    out.index = pd.Index([str(v) for v in frame.index.get_level_values(-1)], name="true \\ pred")
    return out
