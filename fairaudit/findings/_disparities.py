"""Ranking of disparities by what the data support, and per-class recall of a task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.functional import (
    GAP_METRICS,
    chi2_homogeneity,
    fairness_arrays,
    gap_intervals,
    holm,
    rate_counts,
    wilson_interval,
)
from fairaudit.metrics import DEFAULT_MIN_SUPPORT, AuditResult

__all__ = ["RANKED_GAPS", "class_recall", "rank_disparities"]

#: Gaps ranked: the differences of the four rates (equalized odds is the larger of
#: the TPR and FPR gaps, and ratios restate differences, so neither is ranked apart).
RANKED_GAPS: tuple[str, ...] = (
    "accuracy_difference",
    "demographic_parity_difference",
    "equal_opportunity_difference",
    "fpr_difference",
)

COLUMNS = [
    "task",
    "attribute",
    "metric",
    "also",
    "class",
    "gap",
    "gap_lower",
    "gap_upper",
    "supported",
    "low_group",
    "low_rate",
    "high_group",
    "high_rate",
    "p_chi2",
    "p_chi2_holm",
    "n_groups",
    "groups_left_out",
]


def rank_disparities(
    audit: AuditResult,
    *,
    attributes: Sequence[str] | None = None,
    min_support: int = DEFAULT_MIN_SUPPORT,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Gaps between the groups of each attribute, ranked by the smallest gap the data support.

    For every task and attribute (except the task's own true label, see
    :func:`class_recall`), each gap of :data:`RANKED_GAPS` is computed over the groups
    whose rate rests on at least ``min_support`` rows (smaller groups take no part and
    are listed in ``groups_left_out``), with its simultaneous interval
    (:func:`fairaudit.functional.gap_intervals`). Gaps of one task, attribute and class
    between the same two groups are one finding: the metric with the largest lower
    bound leads, the others are named in ``also``.

    Parameters
    ----------
    audit : AuditResult
    attributes : sequence of str, optional
        Attributes whose groups are compared, one at a time (default: all).
    min_support : int, default=30
        Rows a group's rate needs to take part.
    confidence : float, default=0.95
        Simultaneous coverage of the intervals.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``gap`` with ``gap_lower`` / ``gap_upper``,
        ``supported`` (the interval excludes 0), the two groups and their rates,
        ``p_chi2`` (chi-square test of homogeneity of the rate over the judged
        groups) and ``p_chi2_holm`` (Holm over the table), ``n_groups`` judged.
        Sorted by ``gap_lower``, then ``gap``, descending; undefined gaps (fewer
        than two groups with enough rows) last.
    """
    names = list(audit.attributes) if attributes is None else list(attributes)
    records = []
    for task, vocab in audit.tasks.items():
        for attribute in names:
            if audit.is_own_grouping(task, (attribute,)):
                continue
            cm = audit.grouped_counts(task, by=attribute)
            pos_index = None
            values = fairness_arrays(cm, pos_index=pos_index, min_support=min_support)
            bounds = gap_intervals(
                cm, confidence=confidence, pos_index=pos_index, min_support=min_support
            )
            counts = rate_counts(cm)
            groups = audit.group_names(attribute)
            rows = cm.sum(axis=(1, 2))
            for metric in RANKED_GAPS:
                spec = GAP_METRICS[metric]
                summary = values[metric]["summary"]
                k = int(values[metric]["class_index"])
                hits, totals = counts[spec.rate]
                column = 0 if k < 0 else k
                judged = totals[:, column] >= max(int(min_support), 1)
                defined = int(summary["n_groups"]) >= 2
                p = (
                    chi2_homogeneity(hits[judged, column], totals[judged, column])[1]
                    if judged.sum() >= 2
                    else np.nan
                )
                lower, upper = (float(b) for b in bounds[metric]["summary"])
                records.append(
                    {
                        "task": task,
                        "attribute": attribute,
                        "metric": metric,
                        "also": "",
                        "class": "" if k < 0 else vocab.classes[k],
                        "gap": float(summary["value"]),
                        "gap_lower": lower,
                        "gap_upper": upper,
                        "supported": bool(defined and lower > 0),
                        "low_group": groups[int(summary["low_group"])] if defined else "",
                        "low_rate": float(summary["low"]),
                        "high_group": groups[int(summary["high_group"])] if defined else "",
                        "high_rate": float(summary["high"]),
                        "p_chi2": p,
                        "n_groups": int(summary["n_groups"]),
                        "groups_left_out": "; ".join(
                            f"{g} ({int(n)} rows)"
                            for g, n, ok in zip(groups, rows, judged, strict=True)
                            if not ok and n > 0
                        ),
                    }
                )
    frame = pd.DataFrame.from_records(records, columns=[c for c in COLUMNS if c != "p_chi2_holm"])
    frame = _merge_duplicates(frame)
    p = frame["p_chi2"].to_numpy(dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    adjusted[tested] = holm(p[tested])
    frame["p_chi2_holm"] = adjusted
    frame = frame.sort_values(
        ["gap_lower", "gap"], ascending=False, na_position="last", kind="stable"
    )
    return frame[COLUMNS].reset_index(drop=True)


def _merge_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """One finding per task, attribute, class and pair of groups: the best-supported leads."""
    if frame.empty:
        return frame
    key = ["task", "attribute", "class", "low_group", "high_group"]
    ordered = frame.assign(_order=np.arange(len(frame))).sort_values(
        ["gap_lower", "gap"], ascending=False, na_position="last", kind="stable"
    )
    kept = []
    for _, group in ordered.groupby(key, sort=False, dropna=False):
        lead = group.iloc[0].copy()
        if lead["low_group"] != "":  # undefined gaps are not duplicates of each other
            lead["also"] = ", ".join(group["metric"].iloc[1:])
            kept.append(lead)
        else:
            kept.extend(row for _, row in group.iterrows())
    merged = pd.DataFrame(kept).sort_values("_order", kind="stable")
    return merged.drop(columns="_order").reset_index(drop=True)


def class_recall(audit: AuditResult, task: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per-class recall of ``task`` over all rows, with Wilson intervals: how hard each class is.

    Grouped by its own true label, a task's accuracy per group is exactly this
    recall, so the "gap" between its groups measures the task's difficulty per
    class, not a disparity between people; reports show it here instead.

    Returns
    -------
    pandas.DataFrame
        Columns ``class``, ``support`` (true rows), ``recall``, ``ci_low``,
        ``ci_high``; sorted as the task's classes.
    """
    vocab = audit.task_vocabulary(task)
    cm = audit.grouped_counts(task)
    hits, totals = rate_counts(cm[None])["tpr"]
    low, high = wilson_interval(hits[0], totals[0], confidence=confidence)
    recall = audit.per_class(task, min_support=0)["recall"].to_numpy()
    return pd.DataFrame(
        {
            "class": list(vocab.classes),
            "support": totals[0].astype(np.int64),
            "recall": np.where(totals[0] > 0, recall, np.nan),
            "ci_low": low,
            "ci_high": high,
        }
    )
