"""The fairness gate: thresholds on an audit's gaps and worst slices, for CI.

Each check reads one number of an :class:`~fairaudit.metrics.AuditResult` and
compares it with a threshold:

- a **fairness metric** (:data:`FAIRNESS_GATE_METRICS`, those of
  :meth:`AuditResult.fairness`): the summary value (``class="all"``: the worst
  class of a multiclass task, the positive class of a binary one) between the
  groups of one grouping, over the rates whose denominator has at least
  ``min_support`` rows (see :func:`fairaudit.functional.group_rates`; with ``min_support=0``
  exactly :meth:`AuditResult.fairness`);
- a **per-slice metric** (:data:`SLICE_GATE_METRICS`, columns of
  :meth:`AuditResult.metrics`): its worst value over the slices of the grouping
  with at least ``min_support`` rows: the lowest for a ``min`` threshold, the
  highest for a ``max`` threshold.

A ``max`` check passes when ``value <= threshold``, a ``min`` check when
``value >= threshold``. Groups under ``min_support`` rows are left out and listed;
a check with fewer than two judged rates (no judged slice for a per-slice metric)
is "not judged": reported, and a failure only with ``strict=True``. Grouped by a task's own
true label, only the accuracy gaps and per-slice metrics apply (the selection rate,
TPR and FPR of a group follow from the grouping); the default groupings leave the
task's own attribute out.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import ConfigurationError
from fairaudit.functional import (
    GAP_METRICS,
    SLICE_METRICS,
    fairness_arrays,
    normalize_by,
    slice_metric_values,
)
from fairaudit.gate._config import GateConfig, config_from_mapping, load_gate_config
from fairaudit.metrics import DEFAULT_MIN_SUPPORT, AuditResult

__all__ = [
    "FAIRNESS_GATE_METRICS",
    "GATE_METRICS",
    "SLICE_GATE_METRICS",
    "GateResult",
    "check_audit",
]

#: Fairness metrics a gate can bound (:meth:`AuditResult.fairness`).
FAIRNESS_GATE_METRICS: tuple[str, ...] = tuple(GAP_METRICS)
#: Per-slice metrics a gate can bound through their worst slice (:meth:`AuditResult.metrics`).
SLICE_GATE_METRICS: tuple[str, ...] = tuple(SLICE_METRICS)
_RATE_WORDS = {
    "selection_rate": "selection rates",
    "tpr": "true positive rates",
    "fpr": "false positive rates",
    "tpr+fpr": "true and false positive rates",
}
#: Every metric name a gate accepts.
GATE_METRICS: tuple[str, ...] = FAIRNESS_GATE_METRICS + SLICE_GATE_METRICS

#: Small groups named per grouping in :meth:`GateResult.format` (all are in ``checks``).
_SHOWN_GROUPS = 8

_CHECK_COLUMNS = [
    "task",
    "by",
    "metric",
    "kind",
    "threshold",
    "value",
    "status",
    "passed",
    "worst",
    "groups_judged",
    "not_judged",
    "note",
]


class GateResult:
    """Outcome of a fairness gate.

    Attributes
    ----------
    checks : pandas.DataFrame
        One row per task, grouping, metric and bound: ``task``, ``by``,
        ``metric``, ``kind`` (``"max"`` or ``"min"``), ``threshold``, ``value``
        (NaN when not judged), ``status`` (``"pass"``, ``"fail"``,
        ``"not judged"``: too few rows; ``"not applicable"``: a gap of a task
        grouped by its own true label, see the module docstring), ``passed``
        (``status == "pass"``), ``worst`` (the groups behind the value:
        ``"low vs high"`` for a gap, the worst slice for a per-slice metric),
        ``groups_judged``, ``not_judged`` (groups under ``min_support`` rows with
        their row counts, separated by ``"; "``), ``note`` (why a check was not
        judged or does not apply).
    min_support : int
        Groups with fewer rows were left out.
    strict : bool
        Whether "not judged" counts as a failure.
    source : str
        What was checked (a file name), quoted in the summary.
    """

    def __init__(
        self, checks: pd.DataFrame, *, min_support: int, strict: bool, source: str = "audit"
    ) -> None:
        self.checks = checks
        self.min_support = int(min_support)
        self.strict = bool(strict)
        self.source = source

    @property
    def violations(self) -> pd.DataFrame:
        """Checks that failed (and, with ``strict``, checks that could not be judged)."""
        bad = self.checks["status"].eq("fail")
        if self.strict:
            bad |= self.checks["status"].eq("not judged")
        return self.checks[bad].reset_index(drop=True)

    @property
    def passed(self) -> bool:
        """True when no check failed (with ``strict``, also none left unjudged)."""
        return self.violations.empty

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        counts = self.checks["status"].value_counts()
        return (
            f"GateResult(passed={self.passed}, checks={len(self.checks)}, "
            f"failed={int(counts.get('fail', 0))}, not_judged={int(counts.get('not judged', 0))})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary: outcome, counts, settings and every check."""
        counts = self.checks["status"].value_counts()
        records = self.checks.astype(object).where(self.checks.notna(), None)
        return {
            "passed": self.passed,
            "source": self.source,
            "n_checks": len(self.checks),
            "n_failed": int(counts.get("fail", 0)),
            "n_not_judged": int(counts.get("not judged", 0)),
            "n_not_applicable": int(counts.get("not applicable", 0)),
            "min_support": self.min_support,
            "strict": self.strict,
            "checks": [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in records.to_dict(orient="records")
            ],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path."""
        from fairaudit._io import atomic_write_text

        return atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    def format(self) -> str:
        """Readable summary: the outcome, then every failure, then every other check."""
        n = len(self.checks)
        failed = self.checks[self.checks["status"] == "fail"]
        unjudged = self.checks[self.checks["status"] == "not judged"]
        judged = int(self.checks["status"].isin(["pass", "fail"]).sum())
        if self.passed:
            head = f"PASSED: all {judged} judged check(s) within thresholds"
        else:
            head = f"FAILED: {len(self.violations)} of {n} check(s) violated"
        if len(unjudged):
            head += f"; {len(unjudged)} not judged" + (
                " (strict: counted as failures)" if self.strict else ""
            )
        lines = [f"fairness gate on {self.source}: {head}"]
        passed = self.checks[self.checks["status"] == "pass"]
        order = pd.concat([failed, unjudged, passed]).itertuples(index=False)
        for row in order:
            sign = "<=" if row.kind == "max" else ">="
            label = {
                "fail": "FAIL",
                "pass": "pass",
                "not judged": "n/a ",
            }[row.status]
            where = f"{row.task} by {row.by}: {row.metric}"
            if row.status == "not judged":
                lines.append(
                    f"  {label} {where} (needs {sign} {row.threshold:g}): {row.status}, {row.note}"
                )
                continue
            text = f"  {label} {where} = {row.value:.4f} (needs {sign} {row.threshold:g})"
            if row.worst:
                text += f"; {row.worst}"
            lines.append(text)
        moot = self.checks[self.checks["status"] == "not applicable"]
        if len(moot):
            lines.append(
                "not applicable (a task grouped by its own true label: its selection rate, "
                "TPR and FPR per group follow from the grouping):"
            )
            for (task, by), group in moot.groupby(["task", "by"], sort=False):
                lines.append(f"  {task} by {by}: {', '.join(dict.fromkeys(group['metric']))}")
        skipped = self.checks[self.checks["not_judged"] != ""].drop_duplicates("by")
        if len(skipped):
            lines.append(f"groups under {self.min_support} rows, left out of the checks:")
        for row in skipped.itertuples(index=False):
            groups = row.not_judged.split("; ")
            shown = ", ".join(groups[:_SHOWN_GROUPS])
            more = len(groups) - _SHOWN_GROUPS
            lines.append(f"  by {row.by}: {shown}" + (f" and {more} more" if more > 0 else ""))
        return "\n".join(lines)


def _resolve_config(
    config: GateConfig | Mapping[str, Any] | str | os.PathLike[str] | None,
) -> GateConfig:
    if config is None:
        return GateConfig()
    if isinstance(config, GateConfig):
        return config
    if isinstance(config, Mapping):
        return config_from_mapping(config)
    return load_gate_config(config)


def _groupings(
    by: str | Sequence[str | Sequence[str]] | None, audit: AuditResult, task: str
) -> list[tuple[str, ...]]:
    names = list(audit.attributes)
    if by is None:
        # a task's own true attribute splits the rows by true class: its selection-rate
        # gaps measure the class balance of the data, not fairness
        return [(n,) for n in names if n != task]
    items = [by] if isinstance(by, str) else list(by)
    out = []
    for item in items:
        parts = tuple(p.strip() for p in item.split("*")) if isinstance(item, str) else tuple(item)
        out.append(normalize_by(parts, names))
    return list(dict.fromkeys(out))


def _thresholds(
    bounds: Mapping[str, float], kind: str, audit: AuditResult, tasks: Sequence[str]
) -> dict[str, dict[str, float]]:
    """``{task: {metric: threshold}}``; a task's own threshold wins over the general one."""
    general: dict[str, float] = {}
    specific: dict[str, dict[str, float]] = {}
    for key, value in bounds.items():
        task, sep, metric = key.rpartition(":")
        if metric not in GATE_METRICS:
            raise ConfigurationError(
                f"unknown metric {metric!r} in {kind} threshold {key!r}; valid metrics: "
                f"fairness {list(FAIRNESS_GATE_METRICS)}, worst slice {list(SLICE_GATE_METRICS)}"
            )
        if sep:
            if task not in audit.tasks:
                raise ConfigurationError(
                    f"unknown task {task!r} in {kind} threshold {key!r}; the audit has "
                    f"{list(audit.tasks)}"
                )
            specific.setdefault(task, {})[metric] = float(value)
        else:
            general[metric] = float(value)
    return {t: {**general, **specific.get(t, {})} for t in tasks}


def check_audit(
    audit: AuditResult | str | os.PathLike[str],
    *,
    max: Mapping[str, float] | None = None,
    min: Mapping[str, float] | None = None,
    config: GateConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    tasks: Sequence[str] | None = None,
    by: str | Sequence[str | Sequence[str]] | None = None,
    min_support: int | None = None,
    strict: bool | None = None,
    pos_label: Mapping[str, str] | None = None,
) -> GateResult:
    """Check an audit against fairness thresholds.

    Parameters
    ----------
    audit : AuditResult or path
        The audit, or a saved audit file.
    max, min : mapping of str to float, optional
        Upper and lower bounds: ``{"equalized_odds_difference": 0.1}`` for every
        task, ``{"race:accuracy": 0.6}`` for one task (wins over the general
        bound). Metric names: :data:`GATE_METRICS`.
    config : GateConfig, mapping, or path to a .toml / .json file, optional
        Thresholds and options (see :mod:`fairaudit.gate._config`); ``max``,
        ``min``, ``by``, ``min_support`` and ``strict`` given here win over it.
    tasks : sequence of str, optional
        Tasks to check (default: every task of the audit).
    by : str or sequence, optional
        Groupings: attribute names, ``"gender*race"`` or a tuple for an
        intersection. Default: each attribute except the task's own (grouping a
        task by its own true class measures the data's class balance).
    min_support : int, optional
        Rows a rate's denominator (a slice, for a per-slice metric) needs to be
        judged; smaller groups are listed (default 30; 0 judges every defined
        rate, as :meth:`AuditResult.fairness` does).
    strict : bool, optional
        Count checks that cannot be judged as failures (default False).
    pos_label : mapping of str to str, optional
        Positive class of binary tasks (default: their second class).

    Returns
    -------
    GateResult

    Raises
    ------
    ConfigurationError
        Unknown metric (the message lists the valid ones) or task, no threshold.
    DataValidationError
        Unreadable audit or configuration file, unknown attribute.
    """
    source = "audit"
    if not isinstance(audit, AuditResult):
        source = str(audit)
        audit = AuditResult.load(audit)
    cfg = _resolve_config(config)
    upper = {**cfg.max, **dict(max or {})}
    lower = {**cfg.min, **dict(min or {})}
    if not upper and not lower:
        raise ConfigurationError(
            "no thresholds: give --max/--min METRIC=VALUE or a configuration file; "
            f"metrics: {list(GATE_METRICS)}"
        )
    by = by if by is not None else cfg.by
    min_support = min_support if min_support is not None else cfg.min_support
    min_support = DEFAULT_MIN_SUPPORT if min_support is None else int(min_support)
    if min_support < 0:
        raise ConfigurationError(f"min_support must be non-negative, got {min_support}")
    strict = bool(strict if strict is not None else (cfg.strict or False))
    task_names = list(audit.tasks) if tasks is None else list(tasks)
    for task in task_names:
        audit.task_vocabulary(task)
    bounds = {
        "max": _thresholds(upper, "max", audit, task_names),
        "min": _thresholds(lower, "min", audit, task_names),
    }
    pos_label = dict(pos_label or {})
    rows = []
    for task in task_names:
        pos_index = audit.pos_index(task, pos_label.get(task))
        for by_t in _groupings(by, audit, task):
            rows += _check_grouping(audit, task, by_t, bounds, min_support, pos_index)
    if not rows:
        raise ConfigurationError(
            f"nothing to check: no grouping of tasks {task_names} (the audit's attributes are "
            f"{list(audit.attributes)}, and a task is not grouped by its own label by default); "
            "pass by=[...]"
        )
    checks = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
    return GateResult(checks, min_support=min_support, strict=strict, source=source)


def _check_grouping(
    audit: AuditResult,
    task: str,
    by_t: tuple[str, ...],
    bounds: Mapping[str, Mapping[str, Mapping[str, float]]],
    min_support: int,
    pos_index: int | None,
) -> list[dict[str, Any]]:
    n_classes = len(audit.tasks[task])
    cm = audit.grouped_counts(task, by=by_t).reshape(-1, n_classes, n_classes)
    names = np.array(audit.group_names(by_t), dtype=object)
    n = cm.sum(axis=(1, 2))
    judged = (n >= min_support) & (n > 0)
    left_out = "; ".join(f"{g} ({k} rows)" for g, k in zip(names[~judged], n[~judged], strict=True))
    fairness = fairness_arrays(cm, pos_index=pos_index, min_support=min_support)
    classes = audit.tasks[task].classes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        slice_values = slice_metric_values(cm)
    own = audit.is_own_grouping(task, by_t)
    rows = []
    for kind in ("max", "min"):
        for metric, threshold in bounds[kind][task].items():
            note = ""
            if own and metric in GAP_METRICS and GAP_METRICS[metric].rate != "accuracy":
                value, worst = float("nan"), ""
                rate_words = _RATE_WORDS[GAP_METRICS[metric].rate]
                note = (
                    f"grouped by its own true label, the {rate_words} of "
                    "each group follow from the grouping and are not a disparity"
                )
            elif metric in FAIRNESS_GATE_METRICS:
                summary = fairness[metric]["summary"]
                value = float(summary["value"])
                worst = ""
                if not np.isnan(value):
                    k = int(fairness[metric]["class_index"])
                    worst = (
                        f"{names[int(summary['low_group'])]} vs {names[int(summary['high_group'])]}"
                    )
                    worst = f"class {classes[k]}: {worst}" if k >= 0 else worst
            else:
                column = np.asarray(slice_values[metric], dtype=np.float64)
                candidates = np.where(judged & ~np.isnan(column))[0]
                if candidates.size:
                    pick = candidates[
                        np.argmax(column[candidates])
                        if kind == "max"
                        else np.argmin(column[candidates])
                    ]
                    value, worst = float(column[pick]), f"worst slice {names[pick]}"
                else:
                    value, worst = float("nan"), ""
            if note:
                status = "not applicable"
            elif np.isnan(value):
                status = "not judged"
                note = (
                    f"fewer than two groups whose rate rests on at least {min_support} rows"
                    if metric in FAIRNESS_GATE_METRICS
                    else f"no slice with at least {min_support} rows"
                )
            elif kind == "max":
                status = "pass" if value <= threshold else "fail"
            else:
                status = "pass" if value >= threshold else "fail"
            rows.append(
                {
                    "task": task,
                    "by": " x ".join(by_t),
                    "metric": metric,
                    "kind": kind,
                    "threshold": float(threshold),
                    "value": value,
                    "status": status,
                    "passed": status == "pass",
                    "worst": worst,
                    "groups_judged": int(judged.sum()),
                    "not_judged": left_out,
                    "note": note,
                }
            )
    return rows
