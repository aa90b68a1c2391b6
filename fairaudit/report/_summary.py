"""The report's summary: ranked disparities, slices too small to judge, four-fifths failures.

Every number is taken from the audit's own methods (:meth:`AuditResult.fairness`,
:meth:`~AuditResult.bootstrap`, :meth:`~AuditResult.significance`,
:meth:`~AuditResult.disparate_impact`, :meth:`~AuditResult.metrics`); this module
only selects, joins and ranks them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairaudit.metrics import SmallSliceWarning

if TYPE_CHECKING:
    from fairaudit.metrics import AuditResult

__all__ = [
    "RANKED_GAPS",
    "cell_supports",
    "four_fifths_failures",
    "is_own_attribute",
    "rank_disparities",
    "small_slices",
]

#: Gaps ranked in the summary: fairness metric -> the rate its significance tests test.
#: (Equalized odds is the larger of the TPR and FPR gaps, already in the list.)
RANKED_GAPS: dict[str, str] = {
    "accuracy_difference": "accuracy",
    "demographic_parity_difference": "selection_rate",
    "equal_opportunity_difference": "tpr",
    "fpr_difference": "fpr",
}


def is_own_attribute(audit: AuditResult, task: str, attribute: str) -> bool:
    """Whether ``attribute`` is the true label of ``task`` (same name and classes).

    Grouped by its own true label, a task's selection rate, TPR and FPR per group
    follow from the grouping and are not disparities; only its accuracy gap is.
    """
    return (
        attribute == task
        and attribute in audit.attributes
        and audit.attributes[attribute].classes == audit.tasks[task].classes
    )


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
    from fairaudit.exceptions import DataValidationError

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


def cell_supports(audit: AuditResult) -> dict[str, np.ndarray]:
    """Rows of each cell, per source: every task's counts, and the detector's images.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{task: rows per cell}`` (counts summed over true and predicted classes)
        and, when the audit holds a detector audit, ``{"detection": images per
        cell}``; each of shape ``(n_cells,)``.
    """
    out = {task: counts.sum(axis=(-2, -1)) for task, counts in audit.counts.items()}
    if getattr(audit, "has_detection", False):
        out["detection"] = np.asarray(audit.detection)[:, 0]
    return out


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
    from fairaudit.metrics import group_sum

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
