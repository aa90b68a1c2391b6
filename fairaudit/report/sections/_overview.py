"""The first screen of a report: per task, who the model gets right, at a glance.

Per task: a dot-and-interval chart of the accuracy of every group of every attribute
(exact intervals on the audit's counts, an axis zoomed to the data, the overall
accuracy marked, small groups hollow), the same for the task's main fairness rate
(the rate behind its best-supported ranked disparity), and an intersection grid in
the spirit of Gender Shades (the task's accuracy across its own label x another
attribute, small cells marked). Every number is an :class:`AuditResult` view or a
:mod:`fairaudit.functional` function of its counts; nothing is recomputed here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fairaudit.functional._fairness import group_rates
from fairaudit.functional._registry import GAP_METRICS
from fairaudit.model_audit import AuditResult
from fairaudit.report._charts import ChartRow, dot_interval_chart, intersection_grid
from fairaudit.report.sections._context import ReportContext

__all__ = ["build_overview", "default_grids"]

_RATE_LABELS = {
    "accuracy": "accuracy",
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
}


def default_grids(audit: AuditResult) -> dict[str, tuple[str, str] | None]:
    """The attribute pair of each task's intersection grid (rows, columns).

    A task that is also an attribute is crossed with the last other attribute
    (FairFace: gender x race, age x race, race x age); other tasks get the first two
    attributes. The attribute with the shorter class names runs across the columns
    (race down the rows, gender across). Fewer than two attributes: no grid.
    """
    attributes = list(audit.attributes)
    out: dict[str, tuple[str, str] | None] = {}
    for task in audit.tasks:
        if len(attributes) < 2:
            out[task] = None
            continue
        own = [a for a in attributes if audit.is_own_grouping(task, (a,))]
        if own:
            others = [a for a in attributes if a != own[0]]
            pair = (own[0], others[-1])
        else:
            pair = (attributes[0], attributes[1])
        # the attribute with the shorter class names across: the grid stays narrow
        width = {a: sum(len(str(c)) + 3 for c in audit.attributes[a].classes) for a in pair}
        out[task] = pair if width[pair[1]] <= width[pair[0]] else (pair[1], pair[0])
    return out


def _rate_rows(
    audit: AuditResult, task: str, attribute: str, rate: str, k: int, ctx: ReportContext
) -> list[ChartRow]:
    of_class = None if rate == "accuracy" else audit.task_vocabulary(task).classes[k]
    view = ctx.rate_table(task, attribute, rate, of_class)
    names = ctx.group_names(attribute)
    return [
        ChartRow(
            group=str(name),
            estimate=float(v),
            lower=float(lo),
            upper=float(hi),
            n=int(t),
            small=bool(t < ctx.min_support),
        )
        for name, v, lo, hi, t in zip(
            names, view["rate"], view["lower"], view["upper"], view["n"], strict=True
        )
        if t > 0
    ]


def _overall_rate(audit: AuditResult, task: str, rate: str, k: int) -> float:
    values = group_rates(audit.grouped_counts(task)[None])[rate][0]
    return float(values if rate == "accuracy" else values[k])


def build_overview(ctx: ReportContext, disparities: pd.DataFrame) -> list[dict[str, Any]]:
    """Per task: overall accuracy, the accuracy chart, the main rate chart, the grid."""
    audit = ctx.audit
    exact = f"{ctx.level} exact interval"
    grids = default_grids(audit)
    out = []
    for task in audit.tasks:
        overall = _overall_rate(audit, task, "accuracy", 0)
        item: dict[str, Any] = {"task": task, "id": ctx.unique_id(f"overview-{task}")}
        panels = [
            (attribute, _rate_rows(audit, task, attribute, "accuracy", 0, ctx))
            for attribute in ctx.attributes
        ]
        item["accuracy_chart"] = (
            dot_interval_chart(
                panels,
                label=f"{task}: accuracy per group of each attribute, with {exact}s",
                metric=f"{task} accuracy",
                overall=overall,
                interval=f"({exact})",
            )
            if panels
            else None
        )
        item["rate_chart"] = None
        item["rate_title"] = ""
        item["rate_caption"] = ""
        ranked = disparities[
            (disparities["task"] == task)
            & (disparities["metric"] != "accuracy_difference")
            & (disparities["low_group"] != "")
        ]
        if len(ranked):
            lead = ranked.iloc[0]
            spec = GAP_METRICS[str(lead["metric"])]
            vocab = audit.task_vocabulary(task)
            k = vocab.classes.index(lead["class"]) if lead["class"] else 0
            rate_label = _RATE_LABELS.get(str(spec.rate), str(spec.rate))
            subject = f"{rate_label} of {lead['class']}" if lead["class"] else rate_label
            rate_panels = [
                (attribute, _rate_rows(audit, task, attribute, str(spec.rate), k, ctx))
                for attribute in ctx.attributes
                if not audit.is_own_grouping(task, (attribute,))
            ]
            item["rate_chart"] = dot_interval_chart(
                rate_panels,
                label=f"{task}: {subject} per group, with {exact}s",
                metric=f"{task}: {subject}",
                overall=_overall_rate(audit, task, str(spec.rate), k),
                interval=f"({exact})",
            )
            item["rate_title"] = f"{subject[0].upper()}{subject[1:]} per group ({spec.label})"
            item["rate_caption"] = (
                f"{task}: {subject} per group (the rate behind its best-supported "
                f"ranked gap, {spec.label}), with {exact}s; dashed: all rows."
            )
        pair = grids.get(task)
        item["grid"] = None
        if pair is not None:
            rows, columns = pair
            view = ctx.rate_table(task, pair)
            shape = (len(audit.attributes[rows]), len(audit.attributes[columns]))
            item["grid"] = intersection_grid(
                view["rate"].to_numpy(dtype=float).reshape(shape),
                view["n"].to_numpy().reshape(shape),
                row_names=[str(c) for c in audit.attributes[rows].classes],
                column_names=[str(c) for c in audit.attributes[columns].classes],
                row_title=rows,
                column_title=columns,
                caption=(
                    f"{task} accuracy by {rows} x {columns}: brown below all rows' "
                    f"{overall:.3f}, teal above; * grey hatched: under "
                    f"{ctx.min_support} rows, not judged"
                ),
                centre=overall,
                min_support=ctx.min_support,
                table_id=ctx.unique_id(f"grid-{task}-{rows}-{columns}"),
                lower=view["lower"].to_numpy().reshape(shape),
                upper=view["upper"].to_numpy().reshape(shape),
            )
        item["overall"] = overall
        out.append(item)
    return out
