"""Section 4, the face detector, per group.

Face detection rates (exact intervals) and gaps per grouping, when the audit holds
a detector audit.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pandas as pd

from fairaudit.report._charts import ChartRow, dot_interval_chart
from fairaudit.report._html import format_p_value, frame_to_html
from fairaudit.report.sections._context import (
    ReportContext,
    group_label,
    status_classes,
)

__all__ = ["NO_DETECTOR", "build_detection", "detector_name"]

#: What the report says when the audit does not name its detector.
NO_DETECTOR = (
    "not recorded in the audit (it was made from a detections table; name the detector "
    "with audit_detection(..., detector=NAME))"
)


def detector_name(audit: Any) -> str:
    """The detector of an audit's face-detection counts, as the report names it.

    ``metadata["detection"]["detector_name"]`` (the short name ``fairaudit
    audit-detector`` records) with its ``detector`` (the repr or the name given to
    :func:`~fairaudit.model_audit.audit_detection`) in brackets when both are there,
    else whichever is; :data:`NO_DETECTOR` when neither is.
    """
    detection = audit.metadata.get("detection") or {}
    short = str(detection.get("detector_name") or "").strip()
    full = str(detection.get("detector") or "").strip()
    if short and full and short != full:
        return f"{short} ({full})"
    return short or full or NO_DETECTOR


def build_detection(ctx: ReportContext) -> dict[str, Any] | None:
    """Face detection rates and gaps per grouping; None without a detector audit."""
    audit = ctx.audit
    if not getattr(audit, "has_detection", False):
        return None
    groupings: list[tuple[str, ...]] = [(a,) for a in ctx.attributes]
    groupings += [p for p in combinations(ctx.attributes, 2)]
    if len(ctx.attributes) > 2:
        groupings.append(tuple(ctx.attributes))
    rate_tables, panels, gaps = [], [], []
    overall = audit.detection_rates(by=None, confidence=ctx.confidence, min_support=ctx.min_support)
    rate_tables.append(
        frame_to_html(
            overall,
            caption=f"Face detection rate, all faces ({ctx.level} exact interval)",
            table_id="table-detection-overall",
        )
    )
    for by in groupings:
        rates = audit.detection_rates(
            by=list(by), confidence=ctx.confidence, min_support=ctx.min_support
        )
        for attribute in by:
            rates[attribute] = rates[attribute].astype(str)
        name = " x ".join(by)
        rate_tables.append(
            frame_to_html(
                rates,
                caption=(f"Face detection rate by {name} ({ctx.level} exact interval)"),
                table_id=ctx.unique_id(f"table-detection-{'-'.join(by)}"),
                sortable=len(rates) > 8,
                row_classes=status_classes(rates["status"]),
            )
        )
        if len(by) == 1:
            n_column = "n" if "n" in rates.columns else "support"
            panels.append(
                (
                    by[0],
                    [
                        ChartRow(
                            group=g,
                            estimate=float(r),
                            lower=float(lo),
                            upper=float(hi),
                            n=int(n),
                            small=st != "ok",
                        )
                        for g, r, lo, hi, n, st in zip(
                            group_label(rates, by),
                            rates["rate"],
                            rates["ci_low"],
                            rates["ci_high"],
                            rates[n_column],
                            rates["status"],
                            strict=True,
                        )
                        if st != "empty"
                    ],
                )
            )
        gap = audit.detection_gaps(by=list(by), min_support=ctx.min_support)
        gaps.append(gap)
    gap_frame = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame()
    detector = detector_name(audit)
    figure = None
    if panels:
        figure = {
            "svg": dot_interval_chart(
                panels,
                label="Face detection rate per group of each attribute, with exact intervals",
                metric="detection rate",
                overall=float(overall["rate"].iloc[0]),
                interval=f"({ctx.level} exact interval)",
            ),
            "caption": (
                f"Share of faces detected by {detector} per group, with its {ctx.level} exact "
                f"interval; hollow grey points: fewer than {ctx.min_support} faces; dashed: "
                "all faces."
            ),
        }
    return {
        "detector": detector,
        "rate_tables": rate_tables,
        "figure": figure,
        "gaps_table": frame_to_html(
            gap_frame,
            caption=(
                "Detection gaps: lowest vs highest group of each grouping "
                "(difference, ratio, p-value of the test between them)"
            ),
            table_id="table-detection-gaps",
            sortable=True,
            column_formats={"p_value": format_p_value},
        ),
    }
