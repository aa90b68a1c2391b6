"""Ranking of disparities by what the data support, and per-class recall of a task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.claims import GapInference, fdr_select
from fairaudit.claims._gaps import gap_p_values
from fairaudit.functional._fairness import rate_counts, rate_rows
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT
from fairaudit.model_audit._views import group_rate_table

__all__ = ["RANKED_GAPS", "class_recall", "rank_disparities"]

#: Gaps ranked: the differences of the rates that describe errors (equalized odds is
#: the larger of the TPR and FPR gaps, and ratios restate differences, so neither is
#: ranked apart). Demographic parity is not ranked: a gap in selection rates restates
#: a gap in the groups' true base rates unless the model amplifies it.
RANKED_GAPS: tuple[str, ...] = (
    "accuracy_difference",
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
    "level",
    "method",
    "p_value",
    "p_adjusted",
    "supported",
    "detectable",
    "low_group",
    "low_rate",
    "low_n",
    "high_group",
    "high_rate",
    "high_n",
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
    are listed in ``groups_left_out``) and judged by the one gap procedure of
    :class:`fairaudit.claims.GapInference`: a p-value of "no gap" by inversion of the
    simultaneous interval, Benjamini-Hochberg over every gap of the audit (the
    family a reviewer searches), and every interval at the matching
    false-coverage-statement level, so that ``supported``, ``p_adjusted <= 1 -
    confidence`` and ``gap_lower > 0`` are one statement. Gaps of one task, attribute
    and class between the same two groups are one finding: the metric with the
    largest lower bound leads, the others are named in ``also``.

    Parameters
    ----------
    audit : AuditResult
    attributes : sequence of str, optional
        Attributes whose groups are compared, one at a time (default: all).
    min_support : int, default=30
        Rows a group's rate needs to take part.
    confidence : float, default=0.95
        ``1 - confidence`` is the false discovery rate of the ranking.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``gap`` with ``gap_lower`` / ``gap_upper`` (at
        ``level``, by ``method``), ``p_value`` (the gap's own, Bonferroni over its
        pairs of groups) and ``p_adjusted`` (Benjamini-Hochberg over the table),
        ``supported``, ``detectable`` (the smallest gap its two largest groups
        detect with 80% power at that level: what "not supported" could have
        shown), the two groups with their rates and rows, ``n_groups`` judged.
        Sorted with the supported gaps first, by ``gap_lower``, then ``gap``,
        descending; undefined gaps (fewer than two groups with enough rows) last.
    """
    names = list(audit.attributes) if attributes is None else list(attributes)
    records = []
    claims: list[GapInference] = []
    for task, vocab in audit.tasks.items():
        for attribute in names:
            if audit.is_own_grouping(task, (attribute,)):
                continue
            cm = audit.grouped_counts(task, by=attribute)
            counts = rate_counts(cm)
            groups = audit.group_names(attribute)
            rows = cm.sum(axis=(1, 2))
            for metric in RANKED_GAPS:
                claim = GapInference(cm, metric, min_support=min_support)
                k = claim.class_index
                totals = counts[claim_rate(metric)][1]
                column = 0 if k < 0 else k
                judged = totals[:, column] >= max(int(min_support), 1)
                defined = claim.defined
                claims.append(claim)
                records.append(
                    {
                        "task": task,
                        "attribute": attribute,
                        "metric": metric,
                        "also": "",
                        "class": "" if k < 0 else vocab.classes[k],
                        "gap": claim.estimate,
                        "method": claim.method,
                        "p_value": np.nan,  # below, all at once
                        "low_group": groups[claim.low_group] if defined else "",
                        "low_rate": claim.low,
                        "low_n": int(totals[claim.low_group, column]) if defined else 0,
                        "high_group": groups[claim.high_group] if defined else "",
                        "high_rate": claim.high,
                        "high_n": int(totals[claim.high_group, column]) if defined else 0,
                        "n_groups": claim.n_groups,
                        "groups_left_out": "; ".join(
                            f"{g} ({int(t):,} {rate_rows(claim_rate(metric), vocab.classes, k)}"
                            f", under {min_support})"
                            for g, t, n, ok in zip(
                                groups, totals[:, column], rows, judged, strict=True
                            )
                            if not ok and n > 0
                        ),
                    }
                )
    frame = pd.DataFrame.from_records(
        records, columns=[c for c in COLUMNS if c in records[0]] if records else COLUMNS
    )
    frame["p_value"] = gap_p_values(claims)
    alpha_family = 1 - confidence
    q, discovered, alpha = fdr_select(frame["p_value"].to_numpy(dtype=np.float64), alpha_family)
    bounds = [claim.interval(alpha) for claim in claims]
    frame["gap_lower"] = [b[0] for b in bounds]
    frame["gap_upper"] = [b[1] for b in bounds]
    frame["level"] = 1 - alpha
    frame["p_adjusted"] = q
    frame["supported"] = discovered & (frame["gap_lower"].to_numpy() > 0)
    frame["detectable"] = [claim.detectable(alpha) for claim in claims]
    frame = _merge_duplicates(frame.reindex(columns=COLUMNS))
    frame = frame.sort_values(
        ["supported", "gap_lower", "gap"], ascending=False, na_position="last", kind="stable"
    )
    return frame[COLUMNS].reset_index(drop=True)


def claim_rate(metric: str) -> str:
    """The rate whose rows judge a ranked gap's groups (TPR for equalized odds' halves)."""
    from fairaudit.functional._registry import GAP_METRICS

    rate = GAP_METRICS[metric].rate
    return "tpr" if rate == "tpr+fpr" else rate


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
    merged = pd.DataFrame(kept, columns=ordered.columns).sort_values("_order", kind="stable")
    return merged.drop(columns="_order").reset_index(drop=True)


def class_recall(audit: AuditResult, task: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per-class recall of ``task`` over all rows, with exact intervals: how hard each class is.

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
    view = group_rate_table(audit, task, rate="tpr", confidence=confidence)
    return pd.DataFrame(
        {
            "class": list(vocab.classes),
            "support": view["n"].to_numpy(),
            "recall": view["rate"].to_numpy(),
            "ci_low": view["lower"].to_numpy(),
            "ci_high": view["upper"].to_numpy(),
        }
    )
