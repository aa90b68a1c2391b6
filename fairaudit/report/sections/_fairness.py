"""A task's fairness: gaps between the groups of each attribute, their tests, four-fifths.

Per attribute: the summary gap of each fairness metric (its worst class) with its
simultaneous interval, the per-class gaps, the significance tests of the gaps and the
four-fifths-rule table. A task grouped by its own true label
(:meth:`~fairaudit.model_audit.AuditResult.is_own_grouping`) shows only its accuracy gap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fairaudit.claims import GapInference
from fairaudit.claims._gaps import gap_p_values
from fairaudit.report._html import format_p_value, frame_to_html
from fairaudit.report.sections._context import ReportContext, is_own_attribute

__all__ = ["build_fairness"]


def build_fairness(ctx: ReportContext, task: str, tid: str, attribute: str) -> dict[str, Any]:
    """The fairness of ``task`` between the groups of ``attribute`` (``tid``: the task's id)."""
    own = is_own_attribute(ctx.audit, task, attribute)
    frame = ctx.fairness_of(task, attribute)
    if own:
        frame = frame[frame["metric"].str.startswith("accuracy_")]
    summary = frame[frame["class"] == "all"].copy()
    cm = ctx.audit.grouped_counts(task, by=attribute)
    claims = [GapInference(cm, metric, min_support=ctx.min_support) for metric in summary["metric"]]
    alpha = 1 - ctx.confidence
    bounds = [claim.interval(alpha) for claim in claims]
    at = summary.columns.get_loc("value") + 1
    summary.insert(at, "CI low", [b[0] for b in bounds])
    summary.insert(at + 1, "CI high", [b[1] for b in bounds])
    summary.insert(at + 2, "p_value", gap_p_values(claims))
    summary = summary.drop(columns=["task", "by", "class"])
    per_class = frame[frame["class"] != "all"].drop(columns=["task", "by", "from_class"])
    per_class["class"] = per_class["class"].astype(str)
    slug = f"{tid}-fairness-{attribute}"
    out: dict[str, Any] = {
        "attribute": attribute,
        "own": own,
        "summary_table": frame_to_html(
            summary,
            caption=(
                f"Fairness of {task} between the {attribute} groups of at least "
                f"{ctx.min_support} rows: worst class (from_class) of each metric, with its "
                f"{ctx.gap_ci} and that interval's own p-value, for this gap alone; which gaps "
                "the data support across the audit is the ranking's verdict (Benjamini-Hochberg, "
                "in the summary)"
            ),
            table_id=ctx.unique_id(f"table-{slug}"),
            column_formats={"p_value": format_p_value},
        ),
        "per_class_table": (
            frame_to_html(
                per_class,
                caption=f"Fairness of {task} between the {attribute} groups, per class",
                table_id=ctx.unique_id(f"table-{slug}-per-class"),
                sortable=True,
            )
            if len(per_class)
            else None
        ),
        "tests_table": None,
        "four_fifths_table": None,
    }
    tests = ctx.significance_of(task, attribute)
    if tests is not None:
        if own:
            tests = tests[tests["rate"] == "accuracy"]
        tests = tests.drop(columns=["task", "by"])
        out["tests_table"] = frame_to_html(
            tests,
            caption=(
                f"The gap of each rate of {task} between the {attribute} groups (lowest vs "
                "highest judged group, with its simultaneous interval; p_adjusted: "
                "Benjamini-Hochberg over this table, intervals at the matching level)"
            ),
            table_id=ctx.unique_id(f"table-{slug}-tests"),
            sortable=True,
            column_formats={"p_value": format_p_value, "p_adjusted": format_p_value},
            row_classes=["small" if s else "" for s in tests["small"]],
        )
    if not own:
        impact = ctx.audit.disparate_impact(task, by=attribute)
        impact["class"] = impact["class"].astype(str)
        out["four_fifths_table"] = frame_to_html(
            impact,
            caption=(
                f"Four-fifths rule for {task} between the {attribute} groups: selection "
                "rate / the reference group's (passes: ratio >= 0.8)"
            ),
            table_id=ctx.unique_id(f"table-{slug}-four-fifths"),
            sortable=True,
            row_classes=[
                "rule" if (not p and np.isfinite(r)) else ""
                for p, r in zip(impact["passes"], impact["ratio"], strict=True)
            ],
        )
    return out
