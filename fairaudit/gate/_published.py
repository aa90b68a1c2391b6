"""The fairness gate on a published (redacted) audit: judged on what it publishes.

A :class:`~fairaudit.publish.PublishedAudit` keeps, per published grouping with metrics,
each cell's size and each task's accuracy (so its hits), nothing finer. From those, two
kinds of check are judged exactly as on the full audit, through the same inference
layer: the accuracy gap between the cells of a grouping (``accuracy_difference``,
:class:`fairaudit.claims.GapInference`) and the worst cell's accuracy or error rate
(``accuracy``, ``error_rate``, :func:`fairaudit.claims._thresholds.worst_rate_interval`),
each decided on its interval with Bonferroni over the judged checks. Every other
metric, and a grouping whose accuracies were withheld or suppressed, is ``"not
judged"`` with the reason: the gate never reads a number the file does not publish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fairaudit.claims import GapInference
from fairaudit.claims._thresholds import worst_rate_interval
from fairaudit.exceptions import ConfigurationError
from fairaudit.gate._check import _WORST_METHOD, DECISIONS, _decide, _status, _thresholds
from fairaudit.gate._result import GateResult
from fairaudit.publish._redact import PublishedAudit

__all__ = ["PUBLISHED_GATE_METRICS", "check_published"]

#: Metrics a published audit's numbers (cell sizes and accuracies) determine.
PUBLISHED_GATE_METRICS: tuple[str, ...] = ("accuracy_difference", "accuracy", "error_rate")


def check_published(
    published: PublishedAudit,
    *,
    max: Mapping[str, float] | None = None,
    min: Mapping[str, float] | None = None,
    by: str | Sequence[str] | None = None,
    min_support: int | None = None,
    allow_unjudged: bool = False,
    confidence: float = 0.95,
    decide: str = "interval",
    source: str = "published audit",
) -> GateResult:
    """Check a published audit's gaps and worst cells against thresholds.

    Parameters
    ----------
    published : PublishedAudit
    max, min : mapping of str to float, optional
        Bounds as for :func:`fairaudit.gate.check_audit` (``{"accuracy_difference":
        0.1}``, ``{"race:accuracy": 0.6}``); only :data:`PUBLISHED_GATE_METRICS` can be
        judged, any other metric is reported as not judged.
    by : str or sequence of str, optional
        Published groupings (``"race"``, ``"gender x race"``, or ``"gender*race"``);
        default: every published single-attribute grouping except a task's own.
    min_support : int, optional
        Cells judged; default the file's ``min_count`` (every published cell).
    allow_unjudged, confidence, decide
        As :func:`fairaudit.gate.check_audit`.
    source : str
        The file's name, for the summary.

    Returns
    -------
    GateResult
    """
    bounds = {"max": dict(max or {}), "min": dict(min or {})}
    if not any(bounds.values()):
        raise ConfigurationError(
            "no thresholds: give --max/--min METRIC=VALUE; a published audit judges "
            f"{list(PUBLISHED_GATE_METRICS)}"
        )
    if decide not in DECISIONS:
        raise ConfigurationError(f"decide must be one of {list(DECISIONS)}, got {decide!r}")
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must lie in (0, 1), got {confidence!r}")
    # the saved form's rows, not its tables: a check needs no pandas
    tasks = list(dict.fromkeys(row["task"] for row in published.saved_rows("metrics")))
    min_support = published.min_count if min_support is None else int(min_support)
    rows: list[dict[str, Any]] = []
    for kind, given in bounds.items():
        for task, thresholds in _thresholds(given, kind, tasks, tasks).items():
            for metric, threshold in thresholds.items():
                for grouping in _groupings(published, task, by):
                    rows.append(
                        _check(published, task, grouping, metric, kind, threshold, min_support)
                    )
    _decide(rows, alpha=1 - confidence, decide=decide)
    return GateResult(
        rows,
        min_support=min_support,
        allow_unjudged=allow_unjudged,
        source=source,
        confidence=confidence,
        decide=decide,
    )


def _groupings(published: PublishedAudit, task: str, by: str | Sequence[str] | None) -> list[str]:
    """Grouping labels to check: those named, or each published single attribute."""
    if by is not None:
        items = [by] if isinstance(by, str) else list(by)
        return [
            " x ".join(p.strip() for p in item.replace("*", " x ").split(" x ")) for item in items
        ]
    labels = dict.fromkeys(row["grouping"] for row in published.saved_rows("counts"))
    return [g for g in labels if g != "overall" and " x " not in g and g != task]


def _check(
    published: PublishedAudit,
    task: str,
    grouping: str,
    metric: str,
    kind: str,
    threshold: float,
    min_support: int,
) -> dict[str, Any]:
    cells = [
        r
        for r in published.saved_rows("metrics")
        if r["task"] == task and r["grouping"] == grouping
    ]
    row: dict[str, Any] = {
        "task": task,
        "by": grouping,
        "metric": metric,
        "kind": kind,
        "threshold": float(threshold),
        "value": float("nan"),
        "baseline_value": float("nan"),
        "status": "not judged",
        "passed": False,
        "worst": "",
        "groups_judged": 0,
        "not_judged": "",
        "note": "",
    }
    if metric not in PUBLISHED_GATE_METRICS:
        row["note"] = (
            f"not published: a published audit gives each cell's accuracy only, which "
            f"determines {list(PUBLISHED_GATE_METRICS)}"
        )
        return row
    if not cells:
        reasons = [
            r["reason"] for r in published.saved_rows("suppressed") if r["grouping"] == grouping
        ]
        reason = reasons[0] if reasons else "not in the file"
        row["note"] = f"grouping {grouping!r} not published with accuracies ({reason})"
        return row
    n = np.array([r["n"] for r in cells], dtype=np.int64)
    accuracy = np.array([r["accuracy"] for r in cells], dtype=np.float64)
    hits = np.round(accuracy * n).astype(np.int64)
    names = np.array([r["cell"] for r in cells], dtype=object)
    judged = n >= min_support
    row["groups_judged"] = int(judged.sum())
    row["not_judged"] = "; ".join(f"{g} ({k} rows)" for g, k in zip(names[~judged], n[~judged]))
    if metric == "accuracy_difference":
        cm = np.zeros((len(n), 2, 2), dtype=np.int64)  # per cell: hits and misses
        cm[:, 0, 0], cm[:, 0, 1] = hits, n - hits
        gap = GapInference(cm, metric, min_support=min_support)
        if np.isnan(gap.estimate):
            row["note"] = f"fewer than two cells with at least {min_support} rows"
            return row
        row["value"] = float(gap.estimate)
        row["_interval"] = lambda a: (*gap.interval(a), gap.method)
        row["_settle"] = gap.rows_to_settle
    else:
        wrong = metric == "error_rate"
        counted = (n - hits if wrong else hits)[judged]
        rates = counted / n[judged]
        if not len(rates):
            row["note"] = f"no cell with at least {min_support} rows"
            return row
        highest = kind == "max"
        pick = int(np.argmax(rates) if highest else np.argmin(rates))
        row["value"] = float(rates[pick])
        row["worst"] = f"worst cell {names[judged][pick]}"

        def interval(a: float) -> tuple[float, float, str]:
            low, high = worst_rate_interval(counted, n[judged], a, highest=highest)
            return low, high, _WORST_METHOD

        row["_interval"] = interval
    row["status"] = _status(kind, float(threshold), row["value"], float("nan"))
    row["passed"] = row["status"] == "pass"
    return row
