"""What a report says, outside the HTML: the findings as CSV and a terminal summary.

- :func:`findings_table` / :func:`write_findings_csv`: every ranked disparity
  (:func:`fairaudit.findings.rank_disparities`) with its rank, for a spreadsheet;
- :func:`terminal_summary`: a few lines for the terminal, the three largest
  supported disparities of each task, after ``fairaudit report`` and ``audit``.

Every number is :func:`~fairaudit.findings.rank_disparities`'s; nothing is
recomputed here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text
from fairaudit.findings import rank_disparities, verdict_sentences
from fairaudit.functional._registry import GAP_METRICS
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT

__all__ = ["findings_table", "terminal_summary", "write_findings_csv"]


def findings_table(
    audit: AuditResult,
    *,
    min_support: int = DEFAULT_MIN_SUPPORT,
    confidence: float = 0.95,
    disparities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every ranked disparity with its rank: :func:`rank_disparities` plus ``rank``.

    ``disparities``: an already ranked table (the report's own), else it is ranked.
    """
    if disparities is None:
        disparities = rank_disparities(audit, min_support=min_support, confidence=confidence)
    table = disparities.copy()
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.insert(table.columns.get_loc("level") + 1, "false_discovery_rate", 1 - confidence)
    return table


def write_findings_csv(
    audit: AuditResult,
    path: str | os.PathLike[str],
    *,
    min_support: int = DEFAULT_MIN_SUPPORT,
    confidence: float = 0.95,
    disparities: pd.DataFrame | None = None,
) -> Path:
    """Write :func:`findings_table` as CSV (UTF-8, full precision), atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    table = findings_table(
        audit, min_support=min_support, confidence=confidence, disparities=disparities
    )
    return atomic_write_text(Path(path), table.to_csv(index=False))


def terminal_summary(
    audit: AuditResult,
    *,
    min_support: int = DEFAULT_MIN_SUPPORT,
    confidence: float = 0.95,
    per_task: int = 3,
    disparities: pd.DataFrame | None = None,
) -> str:
    """A short text for the terminal: per task, its largest supported disparities.

    Parameters
    ----------
    audit : AuditResult
    min_support : int, default=30
        Rows a group needs to take part (as in the report).
    confidence : float, default=0.95
        Simultaneous coverage of the gap intervals.
    per_task : int, default=3
        Disparities shown per task: the supported ones (interval above 0) with the
        largest lower bound, in :func:`rank_disparities` order.
    disparities : pandas.DataFrame, optional
        An already ranked table (e.g. the report's), else it is ranked here.

    Returns
    -------
    str
        Lines without colour codes, e.g.::

            gender: 4 of 6 gaps supported (95% simultaneous intervals, groups >= 30 rows)
              1. true positive rate of Female by age: 0-2 0.500 vs 30-39 0.963,
                 gap 0.463 [0.230, 0.688], at least 0.230

        A task with no supported gap says so; a task ranked only by its own label
        (nothing to rank) is named too.
    """
    if disparities is None:
        disparities = rank_disparities(audit, min_support=min_support, confidence=confidence)
    level = float(disparities["level"].iloc[0]) if len(disparities) else confidence
    verdict = verdict_sentences(disparities, tasks=list(audit.tasks))
    lines = (
        ["verdict:"]
        + [f"  - {sentence}" for sentence in verdict]
        + [
            f"largest supported disparities (false discovery rate {1 - confidence:.0%}, "
            f"simultaneous intervals at {level:.1%}, groups of at least {min_support} rows; "
            "ranked by the smallest gap the data support):"
        ]
    )
    for task in audit.tasks:
        rows = disparities[disparities["task"] == task]
        supported = rows[rows["supported"]]
        if rows.empty:
            lines.append(f"{task}: no gap to rank (grouped only by its own label)")
            continue
        lines.append(f"{task}: {len(supported)} of {len(rows)} gaps supported")
        if supported.empty:
            smallest = rows["detectable"].min()
            lines.append(
                "  none: every interval includes 0"
                + (
                    f"; the best-measured groups would have shown a gap of {smallest:.3f} "
                    "or more with 80% power"
                    if np.isfinite(smallest)
                    else ""
                )
            )
        for k, row in enumerate(supported.head(per_task).itertuples(index=False), start=1):
            lines.append(f"  {k}. {_describe(row)}")
    return "\n".join(lines)


def _describe(row: object) -> str:
    spec = GAP_METRICS[row.metric]
    rate = {
        "accuracy": "accuracy",
        "selection_rate": "selection rate",
        "tpr": "true positive rate",
        "fpr": "false positive rate",
    }.get(str(spec.rate), str(spec.rate))
    cls = row._4  # the "class" column (a keyword, renamed by itertuples)
    subject = f"{rate} of {cls}" if cls else rate
    return (
        f"{subject} by {row.attribute}: {row.low_group} {row.low_rate:.3f} vs "
        f"{row.high_group} {row.high_rate:.3f}, gap {row.gap:.3f} "
        f"[{row.gap_lower:.3f}, {row.gap_upper:.3f}] ({row.low_n:,} and {row.high_n:,} rows)"
    )
