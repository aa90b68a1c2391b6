"""Section 1, the summary: ranked disparities, slices too small to judge, four-fifths failures.

Every number is taken from the audit's own methods (:meth:`AuditResult.fairness`,
:meth:`~AuditResult.bootstrap`, :meth:`~AuditResult.significance`,
:meth:`~AuditResult.disparate_impact`, :meth:`~AuditResult.metrics`); this module
only selects, joins and ranks them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.functional import GAP_METRICS, group_sum
from fairaudit.metrics import AuditResult, SmallSliceWarning
from fairaudit.report._html import format_interval, format_p_value, frame_to_html
from fairaudit.report.sections._context import (
    ReportContext,
    boot_rows,
    cell_supports,
    is_own_attribute,
    status_classes,
)

__all__ = [
    "RANKED_GAPS",
    "build_summary",
    "four_fifths_failures",
    "rank_disparities",
    "small_slices",
]

#: Gaps ranked in the summary: fairness metric -> the rate its significance tests test
#: (the registry's :attr:`~fairaudit.functional.MetricSpec.rate`). Equalized odds is
#: the larger of the TPR and FPR gaps, already in the list.
RANKED_GAPS: dict[str, str] = {
    name: GAP_METRICS[name].rate
    for name in (
        "accuracy_difference",
        "demographic_parity_difference",
        "equal_opportunity_difference",
        "fpr_difference",
    )
}
#: Rows of the disparity ranking shown in the summary (the full list follows it).
_TOP_DISPARITIES = 12


def build_summary(ctx: ReportContext) -> dict[str, Any]:
    """The summary: overall accuracy, ranked gaps, small slices, four-fifths failures."""
    audit = ctx.audit
    disparities = rank_disparities(
        audit,
        ctx.boot,
        attributes=ctx.attributes,
        min_support=ctx.min_support,
        fairness_of=ctx.fairness_of,
        significance_of=ctx.significance_of,
    )
    table = disparities.rename(
        columns={
            "gap": "gap (estimate)",
            "gap_lower": "gap CI low",
            "gap_upper": "gap CI high",
            "p_chi2_holm": "p (chi2, Holm)",
            "p_z_holm": "p (z, Holm)",
        }
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    formats = {"p (chi2, Holm)": format_p_value, "p (z, Holm)": format_p_value}
    row_classes = ["flag" if s else "" for s in disparities["significant"]]
    top = frame_to_html(
        table.head(_TOP_DISPARITIES),
        caption=(
            f"The {min(_TOP_DISPARITIES, len(table))} largest gaps between groups, "
            f"ranked by the estimate (gap CI: {ctx.ci}; p: Holm-adjusted)"
        ),
        table_id="table-top-disparities",
        column_formats=formats,
        row_classes=row_classes[:_TOP_DISPARITIES],
    )
    full = frame_to_html(
        table,
        caption="Every ranked gap (click a header to sort)",
        sortable=True,
        table_id="table-disparities",
        column_formats=formats,
        row_classes=row_classes,
    )
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
    return {
        "overall": overall,
        "detection_gaps": detection_gaps,
        "n_disparities": len(disparities),
        "n_significant": int(disparities["significant"].sum()),
        "largest": disparities.iloc[0].to_dict() if len(disparities) else None,
        "largest_significant": (
            disparities[disparities["significant"]].iloc[0].to_dict()
            if disparities["significant"].any()
            else None
        ),
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
            row_classes=["fail"] * len(failures),
        ),
    }


def rank_disparities(
    audit: AuditResult,
    boot: pd.DataFrame,
    *,
    attributes: Sequence[str],
    min_support: int,
    alpha: float = 0.05,
    fairness_of: Callable[[str, str], pd.DataFrame] | None = None,
    significance_of: Callable[[str, str], pd.DataFrame | None] | None = None,
) -> pd.DataFrame:
    """Every gap of :data:`RANKED_GAPS` per task and attribute, largest first.

    Parameters
    ----------
    audit : AuditResult
    boot : pandas.DataFrame
        :meth:`AuditResult.bootstrap` output holding the groupings ``(attribute,)``.
    attributes : sequence of str
        Attributes whose groups are compared (one at a time).
    min_support : int
        Groups with fewer rows count in ``small_groups``.
    alpha : float, default=0.05
        Level of the ``significant`` column (on the Holm-adjusted chi2 p-value).
    fairness_of, significance_of : callable, optional
        ``(task, attribute) -> table``: :meth:`AuditResult.fairness` and
        :meth:`AuditResult.significance` (None when nothing can be tested) computed
        once by a caller that shows them too. Default: computed here.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``attribute``, ``metric``, ``class`` (the class the gap
        comes from; empty for accuracy), ``gap`` (the fairness value), ``gap_lower``,
        ``gap_upper`` (bootstrap), ``low_group``, ``low_rate``, ``high_group``,
        ``high_rate``, ``p_chi2_holm``, ``p_z_holm``, ``significant``,
        ``small_groups``, ``n_groups``; sorted by ``gap`` descending (undefined last).
    """
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSliceWarning)
        for task in audit.tasks:
            for attribute in attributes:
                own = is_own_attribute(audit, task, attribute)
                if fairness_of is None:
                    fairness = audit.fairness(task, by=attribute, min_support=min_support)
                else:
                    fairness = fairness_of(task, attribute)
                if significance_of is None:
                    tests = _significance(audit, task, attribute, alpha, min_support)
                else:
                    tests = significance_of(task, attribute)
                if tests is None:
                    tests = pd.DataFrame(columns=["rate", "class", "test", "p_adjusted"])
                summary = fairness[fairness["class"] == "all"].set_index("metric")
                for metric, rate in RANKED_GAPS.items():
                    if own and rate != "accuracy":
                        continue
                    row = summary.loc[metric]
                    cls = "all" if rate == "accuracy" else str(row["from_class"])
                    interval = _interval(boot, task, attribute, metric)
                    p_chi, p_z = _p_values(tests, rate, cls)
                    records.append(
                        {
                            "task": task,
                            "attribute": attribute,
                            "metric": metric,
                            "class": "" if rate == "accuracy" else cls,
                            "gap": float(row["value"]),
                            "gap_lower": interval[0],
                            "gap_upper": interval[1],
                            "low_group": row["low_group"],
                            "low_rate": float(row["low_value"]),
                            "high_group": row["high_group"],
                            "high_rate": float(row["high_value"]),
                            "p_chi2_holm": p_chi,
                            "p_z_holm": p_z,
                            "significant": bool(np.isfinite(p_chi) and p_chi < alpha),
                            "small_groups": int(row["small_groups"]),
                            "n_groups": int(row["n_groups"]),
                        }
                    )
    frame = pd.DataFrame.from_records(records, columns=_DISPARITY_COLUMNS)
    return frame.sort_values("gap", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


_DISPARITY_COLUMNS = [
    "task",
    "attribute",
    "metric",
    "class",
    "gap",
    "gap_lower",
    "gap_upper",
    "low_group",
    "low_rate",
    "high_group",
    "high_rate",
    "p_chi2_holm",
    "p_z_holm",
    "significant",
    "small_groups",
    "n_groups",
]


def _significance(
    audit: AuditResult, task: str, attribute: str, alpha: float, min_support: int
) -> pd.DataFrame:
    try:
        return audit.significance(task, by=attribute, alpha=alpha, min_support=min_support)
    except DataValidationError:  # fewer than two non-empty groups: nothing to test
        return pd.DataFrame(columns=["rate", "class", "test", "p_adjusted"])


def _interval(boot: pd.DataFrame, task: str, attribute: str, metric: str) -> tuple[float, float]:
    rows = boot[
        (boot["task"] == task)
        & (boot["by"] == attribute)
        & (boot["group"] == "all")
        & (boot["metric"] == metric)
        & (boot["class"] == "all")
    ]
    if rows.empty:
        return float("nan"), float("nan")
    return float(rows["lower"].iloc[0]), float(rows["upper"].iloc[0])


def _p_values(tests: pd.DataFrame, rate: str, cls: str) -> tuple[float, float]:
    rows = tests[(tests["rate"] == rate) & (tests["class"] == cls)]
    out = []
    for test in ("chi2", "z"):
        picked = rows[rows["test"] == test]
        out.append(float(picked["p_adjusted"].iloc[0]) if not picked.empty else float("nan"))
    return out[0], out[1]


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
