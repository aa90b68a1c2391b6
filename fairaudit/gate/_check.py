"""The fairness gate: thresholds on an audit's gaps and worst slices, for CI.

Each check reads one number of an :class:`~fairaudit.model_audit.AuditResult` and
compares it with a threshold:

- a **fairness metric** (:data:`FAIRNESS_GATE_METRICS`, those of
  :meth:`AuditResult.fairness`): the summary value (``class="all"``: the worst
  class of a multiclass task, the positive class of a binary one) between the
  groups of one grouping, over the rates whose denominator has at least
  ``min_support`` rows (:func:`fairaudit.functional.fairness_arrays`; with
  ``min_support=0`` exactly :meth:`AuditResult.fairness`);
- a **per-slice metric** (:data:`SLICE_GATE_METRICS`, columns of
  :meth:`AuditResult.metrics`): its worst value over the slices of the grouping
  with at least ``min_support`` rows: the lowest for a ``min`` or ``max_decrease``
  bound, the highest for a ``max`` or ``max_increase`` bound.

Bounds: ``max`` passes when ``value <= threshold``, ``min`` when ``value >=
threshold``; relative to a baseline audit (the same number, computed the same way),
``max_increase`` passes when ``value - baseline_value <= threshold`` and
``max_decrease`` when ``baseline_value - value <= threshold``.

Every value comes from :mod:`fairaudit.functional`, and NaN means "cannot be
judged": an undefined metric, fewer than two groups whose rate rests on
``min_support`` rows, a single group, half an equalized odds. Such a check has
status ``"not judged"`` and fails the gate (exit status 3 of ``fairaudit check``)
unless ``allow_unjudged=True``. Grouped by a task's own true label, only the
accuracy gaps and per-slice metrics apply (the selection rate, TPR and FPR of a
group follow from the grouping): the other gaps are ``"not applicable"``, never
failing; the default groupings leave the task's own attribute out.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fairaudit.claims import GapInference, threshold_verdict
from fairaudit.claims._changes import gap_change_interval
from fairaudit.claims._levels import rows_to_settle
from fairaudit.claims._thresholds import worst_rate_interval
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.functional import fairness_arrays, slice_metric_values
from fairaudit.functional._counts import normalize_by
from fairaudit.functional._fairness import group_rates, rate_counts, rate_rows
from fairaudit.functional._registry import GAP_METRICS, SLICE_METRICS
from fairaudit.gate._config import (
    BOUND_KINDS,
    RELATIVE_KINDS,
    GateConfig,
    config_from_mapping,
    load_gate_config,
)
from fairaudit.gate._result import GateResult
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT, AuditResult

__all__ = [
    "FAIRNESS_GATE_METRICS",
    "GATE_METRICS",
    "SLICE_GATE_METRICS",
    "check_audit",
]

#: Fairness metrics a gate can bound (:meth:`AuditResult.fairness`).
FAIRNESS_GATE_METRICS: tuple[str, ...] = tuple(GAP_METRICS)
#: Per-slice metrics a gate can bound through their worst slice (:meth:`AuditResult.metrics`).
SLICE_GATE_METRICS: tuple[str, ...] = tuple(SLICE_METRICS)
#: Every metric name a gate accepts.
GATE_METRICS: tuple[str, ...] = FAIRNESS_GATE_METRICS + SLICE_GATE_METRICS

_RATE_WORDS = {
    "selection_rate": "selection rates",
    "tpr": "true positive rates",
    "fpr": "false positive rates",
    "tpr+fpr": "true and false positive rates",
}
_RATE_SHORT = {"selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR"}
#: Relative checks allow for the rounding of ``value - baseline_value``.
_TOLERANCE = 1e-12
#: Per-slice metrics that are proportions, judged on exact intervals: the hits behind
#: each (``correct``: the rows predicted right, ``wrong``: the others).
_RATE_SLICE_METRICS = {"accuracy": "correct", "recall_weighted": "correct", "error_rate": "wrong"}
#: How a check can be decided.
DECISIONS = ("interval", "point")


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
    bounds: Mapping[str, float], kind: str, known: Sequence[str], tasks: Sequence[str]
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
            if task not in known:
                raise ConfigurationError(
                    f"unknown task {task!r} in {kind} threshold {key!r}; the audit has "
                    f"{list(known)}"
                )
            specific.setdefault(task, {})[metric] = float(value)
        else:
            general[metric] = float(value)
    return {t: {**general, **specific.get(t, {})} for t in tasks}


def _describe_vocabularies(vocabs: Mapping[str, Any]) -> str:
    return "; ".join(f"{name}: {list(v.classes)}" for name, v in vocabs.items()) or "none"


def _check_comparable(
    audit: AuditResult, baseline: AuditResult, task_names: Sequence[str], all_tasks: bool, name: str
) -> None:
    """Refuse a baseline with other tasks, classes or sensitive attributes."""
    where = f"baseline {name} is not comparable with the audit"
    if all_tasks and baseline.tasks != audit.tasks:
        message = (
            f"{where}: other tasks or classes (audit: {_describe_vocabularies(audit.tasks)}; "
            f"baseline: {_describe_vocabularies(baseline.tasks)})"
        )
        raise DataValidationError(
            f"{message}; pass tasks=[...] (--tasks) to check the tasks they share",
            cli=f"{message}; name the tasks they share with --tasks TASK ...",
        )
    for task in task_names:
        if task not in baseline.tasks:
            raise DataValidationError(
                f"{where}: it has no task {task!r} (it has {list(baseline.tasks)})"
            )
        if baseline.tasks[task] != audit.tasks[task]:
            raise DataValidationError(
                f"{where}: task {task!r} has other classes ({list(audit.tasks[task].classes)} "
                f"vs {list(baseline.tasks[task].classes)})"
            )
    if list(baseline.attributes.items()) != list(audit.attributes.items()):
        raise DataValidationError(
            f"{where}: other sensitive attributes (audit: "
            f"{_describe_vocabularies(audit.attributes)}; baseline: "
            f"{_describe_vocabularies(baseline.attributes)})"
        )


def check_audit(
    audit: AuditResult | str | os.PathLike[str],
    *,
    max: Mapping[str, float] | None = None,
    min: Mapping[str, float] | None = None,
    max_increase: Mapping[str, float] | None = None,
    max_decrease: Mapping[str, float] | None = None,
    baseline: AuditResult | str | os.PathLike[str] | None = None,
    config: GateConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    tasks: Sequence[str] | None = None,
    by: str | Sequence[str | Sequence[str]] | None = None,
    min_support: int | None = None,
    allow_unjudged: bool | None = None,
    pos_label: Mapping[str, str] | None = None,
    confidence: float = 0.95,
    decide: str = "interval",
) -> GateResult:
    """Check an audit against fairness thresholds, absolute or relative to a baseline.

    Parameters
    ----------
    audit : AuditResult or path
        The audit, or a saved audit file (a published one: :func:`check_published`).
    max, min : mapping of str to float, optional
        Upper and lower bounds: ``{"equalized_odds_difference": 0.1}`` for every
        task, ``{"race:accuracy": 0.6}`` for one task (wins over the general
        bound). Metric names: :data:`GATE_METRICS`.
    max_increase, max_decrease : mapping of str to float, optional
        Bounds relative to ``baseline``, keyed the same way: the value may exceed
        the baseline's value by at most ``max_increase``, fall below it by at most
        ``max_decrease`` (``{"equalized_odds_difference": 0.02}``,
        ``{"accuracy": 0.01}``).
    baseline : AuditResult or path, optional
        The audit relative bounds compare with (e.g. the last release's), with the
        same tasks, classes and sensitive attributes; its values are computed the
        same way (same grouping, ``min_support`` and positive class).
    config : GateConfig, mapping, or path to a .toml / .json file, optional
        Thresholds and options (see :mod:`fairaudit.gate._config`); thresholds,
        ``baseline``, ``by``, ``min_support`` and ``allow_unjudged`` given here win
        over it.
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
    allow_unjudged : bool, optional
        Let checks that cannot be judged pass (default False: they fail the gate).
    pos_label : mapping of str to str, optional
        Positive class of binary tasks (default: their second class).
    confidence : float, default=0.95
        Decided on intervals, the gate fails a model whose every true value is
        within its threshold with probability at most ``1 - confidence``: each of
        the ``k`` judged checks gets an interval at level ``1 - (1 - confidence) /
        k`` (:mod:`fairaudit.claims`).
    decide : {"interval", "point"}, default="interval"
        ``"interval"``: a check fails when its interval lies beyond the threshold,
        passes when it lies within, and is ``"inconclusive"`` otherwise (exit
        status 4, with the rows per group that would settle it). ``"point"``: the
        point estimate alone decides, noise included (pass or fail).

    Returns
    -------
    GateResult

    Raises
    ------
    ConfigurationError
        Unknown metric (the message lists the valid ones) or task, no threshold,
        relative thresholds without a baseline (or a baseline without them).
    DataValidationError
        Unreadable audit, baseline or configuration file, unknown attribute, a
        baseline with other tasks, classes or attributes.
    """
    source = "audit"
    if not isinstance(audit, AuditResult):
        source = str(audit)
        audit = AuditResult.load(audit)
    cfg = _resolve_config(config)
    given = {"max": max, "min": min, "max_increase": max_increase, "max_decrease": max_decrease}
    merged = {kind: {**cfg.bounds(kind), **dict(given[kind] or {})} for kind in BOUND_KINDS}
    if not any(merged.values()):
        raise ConfigurationError(
            "no thresholds: give --max/--min METRIC=VALUE (or --max-increase/--max-decrease "
            f"with --baseline) or a configuration file; metrics: {list(GATE_METRICS)}"
        )
    task_names = list(audit.tasks) if tasks is None else list(tasks)
    for task in task_names:
        audit.task_vocabulary(task)
    bounds = {
        kind: _thresholds(merged[kind], kind, list(audit.tasks), task_names) for kind in BOUND_KINDS
    }
    relative = any(merged[kind] for kind in RELATIVE_KINDS)
    baseline = baseline if baseline is not None else cfg.baseline
    if relative and baseline is None:
        raise ConfigurationError(
            "max_increase / max_decrease thresholds compare with a baseline audit: give "
            "baseline=AUDIT (--baseline AUDIT, or baseline in the configuration file)"
        )
    if baseline is not None and not relative:
        raise ConfigurationError(
            "a baseline audit is only read by max_increase / max_decrease thresholds, and "
            "none is given (e.g. --max-increase equalized_odds_difference=0.02)"
        )
    by = by if by is not None else cfg.by
    min_support = min_support if min_support is not None else cfg.min_support
    min_support = DEFAULT_MIN_SUPPORT if min_support is None else int(min_support)
    if min_support < 0:
        raise ConfigurationError(f"min_support must be non-negative, got {min_support}")
    if allow_unjudged is None:
        allow_unjudged = cfg.allow_unjudged
    allow_unjudged = bool(allow_unjudged)
    baseline_source = None
    if baseline is not None:
        baseline_source = "baseline audit"
        if not isinstance(baseline, AuditResult):
            baseline_source = str(baseline)
            baseline = AuditResult.load(baseline)
        _check_comparable(audit, baseline, task_names, tasks is None, baseline_source)
    if decide not in DECISIONS:
        raise ConfigurationError(f"decide must be one of {list(DECISIONS)}, got {decide!r}")
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence must lie in (0, 1), got {confidence!r}")
    pos_label = dict(pos_label or {})
    rows = []
    for task in task_names:
        pos_index = audit.pos_index(task, pos_label.get(task))
        for by_t in _groupings(by, audit, task):
            rows += _check_grouping(audit, baseline, task, by_t, bounds, min_support, pos_index)
    _decide(rows, alpha=1 - confidence, decide=decide)
    if not rows:
        message = (
            f"nothing to check: no grouping of tasks {task_names} (the audit's attributes are "
            f"{list(audit.attributes)}, and a task is not grouped by its own label by default)"
        )
        raise ConfigurationError(
            f"{message}; pass by=[...]", cli=f"{message}; name the groupings with --by ATTRIBUTE"
        )
    return GateResult(
        rows,
        min_support=min_support,
        allow_unjudged=allow_unjudged,
        source=source,
        baseline=baseline_source,
        confidence=confidence,
        decide=decide,
    )


def _decide(rows: list[dict[str, Any]], *, alpha: float, decide: str) -> None:
    """Give every judged check its interval (Bonferroni over the checks) and verdict."""
    quantities = [row for row in rows if row.get("_interval") is not None]
    k = max(len(quantities), 1)
    level = 1 - alpha / k
    for row in rows:
        interval = row.pop("_interval", None)
        settle = row.pop("_settle", None)
        row.setdefault("lower", float("nan"))
        row.setdefault("upper", float("nan"))
        row.setdefault("level", float("nan"))
        row.setdefault("method", "")
        row.setdefault("rows_to_settle", float("nan"))
        if interval is None:
            continue
        sign = -1.0 if row["kind"] == "max_decrease" else 1.0
        bound = "min" if row["kind"] == "min" else "max"
        estimate = (
            row["value"] - row["baseline_value"]
            if row["kind"] in RELATIVE_KINDS
            else (row["value"])
        )
        if decide == "point" or interval == "point":
            low = high = sign * estimate
            row["method"] = (
                "point estimate"
                if decide == "point"
                else ("point estimate (no interval for this metric)")
            )
        else:
            low, high, method = interval(alpha / k)
            if sign < 0:
                low, high = -high, -low
            row["method"] = method
            row["level"] = level
        row["lower"], row["upper"] = (low, high) if sign > 0 else (-high, -low)
        tolerance = _TOLERANCE if row["kind"] in RELATIVE_KINDS else 0.0
        status = threshold_verdict(low - tolerance, high - tolerance, row["threshold"], bound=bound)
        row["status"] = status
        row["passed"] = status == "pass"
        if status == "inconclusive" and settle is not None:
            row["rows_to_settle"] = settle(row["threshold"], alpha / k)


class _Grouping:
    """One audit's values for one task and grouping, all from :mod:`fairaudit.functional`."""

    def __init__(
        self,
        audit: AuditResult,
        task: str,
        by_t: tuple[str, ...],
        min_support: int,
        pos_index: int | None,
    ) -> None:
        n_classes = len(audit.tasks[task])
        cm = audit.grouped_counts(task, by=by_t).reshape(-1, n_classes, n_classes)
        self.names = np.array(audit.group_names(by_t), dtype=object)
        self.classes = audit.tasks[task].classes
        self.binary = n_classes == 2
        self.min_support = min_support
        self.n = cm.sum(axis=(1, 2))
        self.judged = (self.n >= min_support) & (self.n > 0)
        self.cm = cm
        self.pos_index = pos_index
        self._gaps: dict[str, GapInference] = {}
        self.fairness = fairness_arrays(cm, pos_index=pos_index, min_support=min_support)
        # which group rates are judged: only to explain a value that is not
        self.rates = group_rates(cm, min_support=min_support)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.slices = slice_metric_values(cm)

    def gap(self, metric: str) -> GapInference:
        """The inference on one gap of this grouping (cached)."""
        if metric not in self._gaps:
            self._gaps[metric] = GapInference(
                self.cm, metric, pos_index=self.pos_index, min_support=self.min_support
            )
        return self._gaps[metric]

    def worst_interval(self, metric: str, highest: bool, alpha: float) -> tuple[float, float]:
        """Simultaneous interval of the worst judged slice's rate (a proportion metric)."""
        correct = np.trace(self.cm, axis1=1, axis2=2)
        hits = correct if _RATE_SLICE_METRICS[metric] == "correct" else self.n - correct
        keep = self.judged
        return worst_rate_interval(hits[keep], self.n[keep], alpha, highest=highest)

    def excluded(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """``(out, rows)``: the groups a check leaves out, and what each one's rows are.

        A slice metric, an accuracy gap or a selection-rate gap rests on a group's
        rows; a TPR (FPR) gap on the rows behind its rate of the class behind the
        gap's value (:func:`~fairaudit.functional._fairness.rate_counts`), so a large
        group with few of them is left out too. ``rows`` names, for each group left
        out, how many it has, in the words of the ranked findings (``rate_rows``; for
        an equalized odds, the half it falls short in, the TPR's first).
        """
        rate = GAP_METRICS[metric].rate if metric in GAP_METRICS else "accuracy"
        value = float(self.fairness[metric]["summary"]["value"]) if rate != "accuracy" else 0.0
        rows = np.array([f"{m} rows" for m in self.n], dtype=object)
        if rate in ("accuracy", "selection_rate") or (np.isnan(value) and not self.binary):
            # (a multiclass gap that is not judged has no class behind it: its note says why)
            return ~self.judged, rows
        k = int(self.fairness[metric]["class_index"])
        counts = rate_counts(self.cm)
        out = np.zeros(len(self.names), dtype=bool)
        for half in ("fpr", "tpr") if rate == "tpr+fpr" else (rate,):  # a TPR's words win
            short = np.isnan(self.rates[half][:, k])
            out |= short
            words = rate_rows(half, self.classes, k)
            rows[short] = [f"{m} {words}" for m in counts[half][1][short, k]]
        return out, rows

    def left_out(self, metric: str) -> tuple[int, str]:
        """``(judged, text)``: groups taking part in the check, and the others with their
        rows (:meth:`excluded`), ``"; "``-separated."""
        out, rows = self.excluded(metric)
        text = "; ".join(f"{g} ({why})" for g, why in zip(self.names[out], rows[out], strict=True))
        return int((~out).sum()), text

    def read(self, metric: str, highest: bool) -> tuple[float, str, str]:
        """``(value, worst, why)``: ``why`` says why the value is NaN (else "")."""
        if metric in FAIRNESS_GATE_METRICS:
            return self._gap(metric)
        column = np.asarray(self.slices[metric], dtype=np.float64)
        candidates = np.where(self.judged & ~np.isnan(column))[0]
        if not candidates.size:
            why = f"no slice with at least {self.min_support} rows"
            if self.judged.any():
                why += f" has a defined {metric}"
            return float("nan"), "", why
        pick = candidates[
            np.argmax(column[candidates]) if highest else np.argmin(column[candidates])
        ]
        return float(column[pick]), f"worst slice {self.names[pick]}", ""

    def _gap(self, metric: str) -> tuple[float, str, str]:
        entry = self.fairness[metric]
        summary = entry["summary"]
        value = float(summary["value"])
        if np.isnan(value):
            return value, "", self._why_gap(metric)
        low, high = int(summary["low_group"]), int(summary["high_group"])
        if low == high:  # every judged group has the same rate (ties go to the first)
            worst = f"all {int(summary['n_groups'])} judged groups equal"
        else:
            worst = f"{self.names[low]} vs {self.names[high]}"
        k = int(entry["class_index"])
        return value, (f"class {self.classes[k]}: {worst}" if k >= 0 else worst), ""

    def _rests(self) -> str:
        return (
            "is defined" if self.min_support <= 1 else f"rests on at least {self.min_support} rows"
        )

    def _why_gap(self, metric: str) -> str:
        with_rows = self.n > 0
        if len(self.names) == 1:
            return f"only one group ({self.names[0]}): nothing to compare"
        if with_rows.sum() < 2:
            if not with_rows.any():
                return "no rows"
            only = int(np.argmax(with_rows))
            return f"only one group has rows ({self.names[only]}, {self.n[only]} rows)"
        if self.judged.sum() < 2:
            return f"fewer than two groups with at least {self.min_support} rows"
        rate = GAP_METRICS[metric].rate
        halves = ["tpr", "fpr"] if rate == "tpr+fpr" else [rate]
        judged = {r: ~np.isnan(self.rates[r]) for r in halves}  # (G, C)
        if not self.binary:
            counts = {r: judged[r].sum(axis=0) for r in halves}  # judged groups per class
            least = np.minimum.reduce([counts[r] for r in halves])
            total = np.add.reduce([counts[r] for r in halves])
            k = int(np.lexsort((-total, -least))[0])  # most groups judged in both halves
            words = " and an ".join(_RATE_SHORT[r] for r in halves)
            rests = "is defined" if self.min_support <= 1 else f"at least {self.min_support} rows"
            closest = ", ".join(f"{_RATE_SHORT[r]} in {int(counts[r][k])}" for r in halves)
            return (
                f"for no class do two groups have a {words} resting on {rests} (closest: "
                f"class {self.classes[k]}, judged {closest} of {len(self.names)} groups)"
            )
        words = " and ".join(_RATE_SHORT[r] for r in halves)
        k = int(self.fairness[metric]["class_index"])
        parts, fine = [], []
        for r in halves:
            groups = self.names[judged[r][:, k]]
            if len(groups) >= 2:
                fine.append(f"its {_RATE_SHORT[r]} is judged in {len(groups)} groups")
                continue
            where = f"only in {groups[0]}" if len(groups) else "in no group"
            parts.append(
                f"fewer than two groups whose {_RATE_SHORT[r]} of class {self.classes[k]} "
                f"{self._rests()} (judged {where})"
            )
        why = "; ".join(parts) or f"no two groups with a judged {words}"
        if fine:
            why += f"; {fine[0]}, but half an equalized odds is no verdict"
        return why


def _status(kind: str, threshold: float, value: float, base: float) -> str:
    if kind == "max":
        ok = value <= threshold
    elif kind == "min":
        ok = value >= threshold
    elif kind == "max_increase":
        ok = value - base <= threshold + _TOLERANCE
    else:
        ok = base - value <= threshold + _TOLERANCE
    return "pass" if ok else "fail"


def _check_grouping(
    audit: AuditResult,
    baseline: AuditResult | None,
    task: str,
    by_t: tuple[str, ...],
    bounds: Mapping[str, Mapping[str, Mapping[str, float]]],
    min_support: int,
    pos_index: int | None,
) -> list[dict[str, Any]]:
    candidate = _Grouping(audit, task, by_t, min_support, pos_index)
    base = None
    if baseline is not None and any(bounds[kind][task] for kind in RELATIVE_KINDS):
        base = _Grouping(baseline, task, by_t, min_support, pos_index)
    own = audit.is_own_grouping(task, by_t)
    rows = []
    for kind in BOUND_KINDS:
        highest = kind in ("max", "max_increase")
        for metric, threshold in bounds[kind][task].items():
            base_value, note = float("nan"), ""
            quantity: tuple[Any, Any] = (None, None)
            if own and metric in GAP_METRICS and GAP_METRICS[metric].rate != "accuracy":
                value, worst = float("nan"), ""
                status = "not applicable"
                note = (
                    f"grouped by its own true label, the {_RATE_WORDS[GAP_METRICS[metric].rate]} "
                    "of each group follow from the grouping and are not a disparity"
                )
            else:
                value, worst, why = candidate.read(metric, highest)
                reasons = [why] if why else []
                if kind in RELATIVE_KINDS and base is not None:
                    base_value, base_worst, base_why = base.read(metric, highest)
                    if reasons:
                        reasons = [f"audit: {why}"]
                    if base_why:
                        reasons.append(f"baseline: {base_why}")
                    if base_worst:
                        worst = f"{worst} (baseline: {base_worst})" if worst else worst
                if reasons:
                    status, note = "not judged", "; ".join(reasons)
                else:
                    status = _status(kind, float(threshold), value, base_value)
                    quantity = _quantity(candidate, base, metric, kind, highest)
            judged, left_out = candidate.left_out(metric)
            rows.append(
                {
                    "task": task,
                    "by": " x ".join(by_t),
                    "metric": metric,
                    "kind": kind,
                    "threshold": float(threshold),
                    "value": value,
                    "baseline_value": base_value,
                    "status": status,
                    "passed": status == "pass",
                    "worst": worst,
                    "groups_judged": judged,
                    "not_judged": left_out,
                    "note": note,
                    "_interval": quantity[0],
                    "_settle": quantity[1],
                }
            )
    return rows


def _quantity(
    candidate: _Grouping, base: _Grouping | None, metric: str, kind: str, highest: bool
) -> tuple[Any, Any]:
    """``(interval, settle)`` of a judged check: functions of the level, or ``"point"``.

    ``interval(alpha)`` gives ``(lower, upper, method)`` of the checked quantity (the
    value, or for a relative check the change from the baseline); ``settle(threshold,
    alpha)`` the rows per group that would settle an inconclusive check (or None).
    """
    relative = kind in RELATIVE_KINDS
    if metric in GAP_METRICS:
        gap = candidate.gap(metric)
        if not relative:
            return (lambda a: (*gap.interval(a), gap.method)), gap.rows_to_settle
        base_gap = base.gap(metric)

        def change(a: float) -> tuple[float, float, str]:
            low, high = gap_change_interval(base_gap, gap, a)
            return low, high, "both gap intervals at alpha/2 (projection)"

        return change, None
    if metric not in _RATE_SLICE_METRICS:
        return "point", None
    if not relative:

        def worst(a: float) -> tuple[float, float, str]:
            return (*candidate.worst_interval(metric, highest, a), _WORST_METHOD)

        def settle(threshold: float, a: float) -> float:
            low, high = candidate.worst_interval(metric, highest, a)
            rate = (low + high) / 2
            return rows_to_settle(rate * (1 - rate), abs(rate - threshold), a)

        return worst, settle

    def worst_change(a: float) -> tuple[float, float, str]:
        lb, ub = candidate.worst_interval(metric, highest, a / 2)
        la, ua = base.worst_interval(metric, highest, a / 2)
        return lb - ua, ub - la, f"{_WORST_METHOD}, both versions at alpha/2 (projection)"

    return worst_change, None


_WORST_METHOD = "exact per slice, Bonferroni over slices"
