"""Section 1, the summary: ranked disparities, slices too small to judge, four-fifths failures.

Every number is taken from the audit's own methods (:meth:`AuditResult.fairness`,
:meth:`~AuditResult.bootstrap`, :meth:`~AuditResult.significance`,
:meth:`~AuditResult.disparate_impact`, :meth:`~AuditResult.metrics`); this module
only selects, joins and ranks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.findings import verdict_sentences, worst_slices
from fairaudit.findings._disparities import class_recall
from fairaudit.functional._counts import group_sum
from fairaudit.model_audit import AuditResult
from fairaudit.report._html import format_interval, format_p_value, frame_to_html
from fairaudit.report.sections._context import (
    ReportContext,
    boot_rows,
    cell_supports,
    is_own_attribute,
    status_classes,
)

__all__ = [
    "build_summary",
    "four_fifths_failures",
    "small_slices",
]

#: Rows of the disparity ranking shown in the summary (the full list follows it).
_TOP_DISPARITIES = 12


def build_summary(ctx: ReportContext) -> dict[str, Any]:
    """The summary: overall accuracy, ranked gaps, small slices, four-fifths failures."""
    audit = ctx.audit
    disparities = ctx.disparities
    table = disparities.rename(
        columns={
            "gap": "gap (estimate)",
            "gap_lower": "gap CI low",
            "gap_upper": "gap CI high",
            "p_adjusted": "p (BH)",
            "detectable": "detectable gap",
        }
    ).drop(columns=["method", "level"])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    formats = {"p_value": format_p_value, "p (BH)": format_p_value}
    row_classes = ["flag" if s else "" for s in disparities["supported"]]
    level = float(disparities["level"].iloc[0]) if len(disparities) else ctx.confidence
    ranking = (
        f"supported gaps first (Benjamini-Hochberg, false discovery rate "
        f"{1 - ctx.confidence:.0%}), ranked by the lower bound of the gap's simultaneous "
        f"interval at {level:.1%} (the false-coverage level of the selection), the smallest "
        f"gap the data support; groups of at least {ctx.min_support} rows"
    )
    # the first screen's table: what a reviewer acts on (the full table has every column)
    top_columns = [
        c for c in table.columns if c not in ("also", "p_value", "low_n", "high_n", "n_groups")
    ]
    top = frame_to_html(
        table[top_columns].head(_TOP_DISPARITIES),
        caption=f"The {min(_TOP_DISPARITIES, len(table))} best-supported gaps between groups, "
        + ranking,
        table_id="table-top-disparities",
        column_formats=formats,
        css_class="wide",
        row_classes=row_classes[:_TOP_DISPARITIES],
    )
    # the page's full ranking fits 1280 px; the findings CSV has every column
    full = frame_to_html(
        table.drop(columns=["p_value", "low_n", "high_n"]),
        caption="Every ranked gap (click a header to sort)",
        sortable=True,
        table_id="table-disparities",
        column_formats=formats,
        css_class="wide",
        row_classes=row_classes,
    )
    difficulty = [
        {
            "task": task,
            "table": frame_to_html(
                class_recall(audit, task, confidence=ctx.confidence),
                caption=(
                    f"How hard each class of {task} is: recall per true class, with "
                    f"{ctx.level} exact intervals (what grouping {task} by its own "
                    "label shows; not a disparity between people)"
                ),
                table_id=f"table-class-recall-{task}",
            ),
        }
        for task in audit.tasks
        if any(audit.is_own_grouping(task, (attribute,)) for attribute in ctx.attributes)
    ]
    groupings = [(a,) for a in ctx.attributes]
    for pairs in ctx.heatmaps.values():
        groupings += [p for p in pairs if p not in groupings]
    if len(ctx.attributes) > 1 and tuple(ctx.attributes) not in groupings:
        groupings.append(tuple(ctx.attributes))
    small = small_slices(audit, groupings, min_support=ctx.min_support)
    failures = four_fifths_failures(audit, attributes=ctx.attributes)
    overall = []
    for task in audit.tasks:
        row = boot_rows(ctx.boot, task, (), "accuracy").loc["all"]
        overall.append(
            {
                "task": task,
                "text": format_interval(row["estimate"], row["lower"], row["upper"]),
                "n_classes": len(audit.tasks[task]),
            }
        )
    detection_gaps = None
    if getattr(audit, "has_detection", False) and ctx.attributes:
        gaps = pd.concat(
            [
                audit.detection_gaps(by=attribute, min_support=ctx.min_support)
                for attribute in ctx.attributes
            ],
            ignore_index=True,
        ).sort_values("difference", ascending=False, na_position="last", kind="stable")
        detection_gaps = frame_to_html(
            gaps.reset_index(drop=True),
            caption=(
                "Face detection: gap between the groups detected least and most often, "
                f"per attribute (groups of at least {ctx.min_support} images; p: "
                "chi-square test of homogeneity)"
            ),
            table_id="table-summary-detection-gaps",
            column_formats={"p_value": format_p_value},
        )
    slices = _worst_slices(ctx)
    verdict = verdict_sentences(
        disparities,
        tasks=list(audit.tasks),
        slices={item["task"]: item.pop("frame") for item in slices},
    )
    return {
        "verdict": verdict,
        "overall": overall,
        "detection_gaps": detection_gaps,
        "n_disparities": len(disparities),
        "n_supported": int(disparities["supported"].sum()),
        "largest": (
            disparities.iloc[0].to_dict()
            if len(disparities) and disparities["supported"].iloc[0]
            else None
        ),
        "smallest_detectable": (
            float(disparities["detectable"].min())
            if len(disparities) and disparities["detectable"].notna().any()
            else None
        ),
        "ranking": ranking,
        "worst_slices": slices,
        "difficulty": difficulty,
        "top_table": top,
        "full_table": full,
        "n_small": int((small["status"] == "small").sum()),
        "n_empty": int((small["status"] == "empty").sum()),
        "small_table": frame_to_html(
            small,
            caption=(
                f"Slices with fewer than {ctx.min_support} rows (small: too few to "
                "judge; empty: no row), per grouping"
            ),
            sortable=True,
            table_id="table-small-slices",
            row_classes=status_classes(small["status"]),
        ),
        "n_four_fifths": len(failures),
        "four_fifths_table": frame_to_html(
            failures,
            caption=(
                "Four-fifths-rule failures: a group's selection rate of a class below "
                "0.8 x that of the group with the highest rate (ratio < 0.8)"
            ),
            sortable=True,
            table_id="table-four-fifths",
            row_classes=["rule"] * len(failures),
        ),
    }


def small_slices(
    audit: AuditResult, groupings: Sequence[tuple[str, ...]], *, min_support: int
) -> pd.DataFrame:
    """Slices with fewer than ``min_support`` rows (empty ones included), per grouping.

    The rows of a slice are the same for every task (and the detector's images) of
    an audit built from one table; where the sources disagree, each is listed.

    Returns
    -------
    pandas.DataFrame
        Columns ``grouping`` (``"gender x race"``), ``slice`` (``"Female & Black"``),
        ``support``, ``status`` (``small`` or ``empty``) and ``source`` (``"all"``,
        a task name or ``"detection"``); in grouping order, then cell order.
    """
    names_all = list(audit.attributes)
    supports = cell_supports(audit)
    records = []
    for by in groupings:
        names = audit.group_names(by)
        grouped = {
            source: group_sum(n, audit.shape, names_all, tuple(by), n_trailing=0).ravel()
            for source, n in supports.items()
        }
        first = next(iter(grouped.values()))
        same = all(np.array_equal(first, g) for g in grouped.values())
        for source, support in ({"all": first} if same else grouped).items():
            for name, n in zip(names, support, strict=True):
                if n < min_support:
                    records.append(
                        {
                            "grouping": " x ".join(by),
                            "slice": name,
                            "support": int(n),
                            "status": "empty" if n == 0 else "small",
                            "source": source,
                        }
                    )
    return pd.DataFrame.from_records(
        records, columns=["grouping", "slice", "support", "status", "source"]
    )


def four_fifths_failures(
    audit: AuditResult, *, attributes: Sequence[str], threshold: float = 0.8
) -> pd.DataFrame:
    """Groups whose selection rate of a class is under ``threshold`` x the highest group's.

    Uses :meth:`AuditResult.disparate_impact` (reference: the group with the highest
    selection rate of each class) for every task and attribute, except a task
    grouped by its own true label (see :func:`is_own_attribute`). Groups with an
    undefined ratio (empty group, or no group selecting the class) are not failures.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``attribute``, ``class``, ``group``, ``support``,
        ``selection_rate``, ``reference_group``, ``reference_rate``, ``ratio``;
        sorted by ratio ascending.
    """
    frames = []
    for task in audit.tasks:
        for attribute in attributes:
            if is_own_attribute(audit, task, attribute):
                continue
            table = audit.disparate_impact(task, by=attribute, threshold=threshold)
            rates = dict(
                zip(
                    zip(table["group"], table["class"].astype(str), strict=True),
                    table["selection_rate"],
                    strict=True,
                )
            )
            failing = table[table["ratio"].notna() & (table["ratio"] < threshold)].copy()
            if failing.empty:
                continue
            failing["reference_rate"] = [
                rates[(ref, str(cls))]
                for ref, cls in zip(failing["reference_group"], failing["class"], strict=True)
            ]
            failing.insert(0, "attribute", attribute)
            failing.insert(0, "task", task)
            failing["class"] = failing["class"].astype(str)
            frames.append(failing)
    columns = [
        "task",
        "attribute",
        "class",
        "group",
        "support",
        "selection_rate",
        "reference_group",
        "reference_rate",
        "ratio",
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    return out.sort_values("ratio", kind="stable").reset_index(drop=True)


#: Attributes combined per slice, and discoveries shown per task, in the summary.
_SLICE_ORDER = 2
_SLICES_SHOWN = 5


def _worst_slices(ctx: ReportContext) -> list[dict[str, Any]]:
    """Per task, the slices of lowest accuracy against the rest (FDR-controlled)."""
    out = []
    for task in ctx.audit.tasks:
        if not ctx.attributes:
            break
        table = worst_slices(
            ctx.audit,
            task,
            max_order=_SLICE_ORDER,
            attributes=[a for a in ctx.attributes if not ctx.audit.is_own_grouping(task, (a,))],
            min_support=ctx.min_support,
            fdr=1 - ctx.confidence,
        )
        kept = table[table["discovered"] & (table["pruned_by"] == "")]
        out.append(
            {
                "task": task,
                "frame": table,
                "n_tested": len(table),
                "n_found": len(kept),
                "detectable": float(table["detectable"].min()) if len(table) else float("nan"),
                "table": frame_to_html(
                    kept.head(_SLICES_SHOWN).drop(columns=["discovered", "pruned_by"]),
                    caption=(
                        f"{task}: the {min(_SLICES_SHOWN, len(kept))} slice(s) of lowest "
                        f"accuracy against the rest, of {len(kept)} found among {len(table)} "
                        f"tested (one-sided exact square-and-add tests, Benjamini-Hochberg FDR "
                        f"{1 - ctx.confidence:.0%}; effect = the rest's accuracy minus the "
                        "slice's, with its interval at the false-coverage level; ranked by its "
                        "lower bound)"
                    ),
                    table_id=f"table-worst-slices-{task}",
                    column_formats={"p_value": format_p_value, "q_value": format_p_value},
                )
                if len(kept)
                else None,
            }
        )
    return out
