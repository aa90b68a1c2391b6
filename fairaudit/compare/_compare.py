"""Comparing model versions audited on the same data: every metric and gap, changed how much.

:func:`compare_audits` takes two or more :class:`~fairaudit.metrics.AuditResult`
objects (or saved audit files) of versions of a model on the same labelled rows,
and measures, for every task, metric and slice, the change of each candidate from
the first audit (the baseline), with an interval and a test:

- **unpaired** (the default): each audit is bootstrapped on its own (multinomial
  resampling of its count tensor, as :func:`fairaudit.metrics.bootstrap_audit`
  does, from independent streams of one seed); the interval of the change is the
  percentile interval of the difference of the replicates, and the p-value a
  Wald test with the bootstrap standard error of that difference;
- **paired** (given :class:`PairedCounts` of the two versions on the same rows):
  accuracy, error rate and per-class recall changes use the paired 2x2 tables:
  Newcombe's square-and-add interval and McNemar's exact test. Other metrics and
  the gaps stay unpaired (the pairs hold correctness, not the predicted classes).

Within each family (candidate, task, metric, grouping: one table of the report)
p-values are Holm-adjusted; a change is *significant* when the adjusted p-value is
below ``1 - confidence``, its interval excludes 0 and it rests on at least
``min_support`` rows (``n``: for a gap, the rows of its smallest group).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _stats
from tqdm.auto import tqdm

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.compare._wording import (
    conditions_text,
    finding_sentence,
    subject,
)
from fairaudit.exceptions import DataValidationError
from fairaudit.functional import (
    CLASS_METRICS,
    GAP_METRICS,
    METRICS,
    SLICE_METRICS,
    class_metric_values,
    gap_values,
    group_sum,
    holm,
    multinomial_replicates,
    normalize_by,
    percentile_interval,
    slice_metric_values,
)
from fairaudit.metrics import DEFAULT_MIN_SUPPORT, AuditResult, PairedCounts
from fairaudit.vocab import Vocabulary

__all__ = [
    "COMPARISON_FORMAT",
    "COMPARISON_FORMAT_VERSION",
    "DEFAULT_METRICS",
    "Comparison",
    "compare_audits",
]

#: Metrics compared by default.
DEFAULT_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "recall",
    "precision",
    "f1",
    *GAP_METRICS,
)
#: Metrics whose change uses the paired tables when pairs are given.
PAIRED_METRICS = frozenset({"accuracy", "error_rate", "recall"})

#: Name and version of the saved form of a comparison (``Comparison.save``).
COMPARISON_FORMAT = "fairaudit-comparison"
COMPARISON_FORMAT_VERSION = 1

_CHANGE_COLUMNS = [
    "baseline",
    "candidate",
    "task",
    "metric",
    "kind",
    "by",
    "slice",
    "class",
    "where",
    "subject",
    "n",
    "status",
    "value_a",
    "value_b",
    "change",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "test",
    "paired",
    "significant",
    "higher_is_better",
    "direction",
]


# ----------------------------------------------------------------- inputs
def _load_audits(
    audits: Sequence[AuditResult | str | os.PathLike[str]], names: Sequence[str] | None
) -> tuple[list[AuditResult], list[str]]:
    if isinstance(audits, AuditResult | str | os.PathLike):
        raise DataValidationError("compare_audits needs a sequence of at least two audits")
    items = list(audits)
    if len(items) < 2:
        raise DataValidationError(
            f"a comparison needs at least two audits (a baseline and a candidate), got {len(items)}"
        )
    loaded, defaults = [], []
    for i, item in enumerate(items):
        if isinstance(item, AuditResult):
            loaded.append(item)
            model = item.metadata.get("model") or item.metadata.get("name")
            defaults.append(str(model) if isinstance(model, str) and model else f"v{i + 1}")
        elif isinstance(item, str | os.PathLike):
            loaded.append(AuditResult.load(item))
            defaults.append(Path(item).stem)
        else:
            raise DataValidationError(
                f"audit {i + 1} is a {type(item).__name__}, not an AuditResult or a file path"
            )
    if names is None:
        names = []
        for i, name in enumerate(defaults):
            names.append(name if defaults.count(name) == 1 else f"{name} ({i + 1})")
    names = [str(n) for n in names]
    if len(names) != len(loaded):
        raise DataValidationError(f"{len(names)} name(s) given for {len(loaded)} audits")
    if len(set(names)) != len(names) or not all(names):
        raise DataValidationError(f"version names must be unique and non-empty, got {names}")
    return loaded, names


def _describe(vocabs: Mapping[str, Vocabulary]) -> str:
    return "[" + ", ".join(f"{k}({len(v)})" for k, v in vocabs.items()) + "]"


def _check_compatible(
    audits: Sequence[AuditResult], names: Sequence[str], tasks: Sequence[str] | None
) -> list[str]:
    """The tasks to compare; refuses other tasks, classes, attributes or data."""
    base, base_name = audits[0], names[0]
    if tasks is None:
        task_names = list(base.tasks)
    else:
        task_names = [tasks] if isinstance(tasks, str) else list(tasks)
    for audit, name in zip(audits[1:], names[1:], strict=True):
        pair = f"audits {base_name!r} and {name!r}"
        if tasks is None and base.tasks != audit.tasks:
            raise DataValidationError(
                f"cannot compare {pair}: they cover other tasks or classes "
                f"({base_name}: {_describe(base.tasks)}, {name}: {_describe(audit.tasks)}); "
                "pass tasks=[...] to compare the tasks they share"
            )
        for task in task_names:
            for label, one in ((base_name, base), (name, audit)):
                if task not in one.tasks:
                    raise DataValidationError(
                        f"cannot compare {pair}: {label!r} has no task {task!r} "
                        f"(it has {list(one.tasks)})"
                    )
            if base.tasks[task] != audit.tasks[task]:
                raise DataValidationError(
                    f"cannot compare {pair}: task {task!r} has other classes "
                    f"({list(base.tasks[task].classes)} vs {list(audit.tasks[task].classes)})"
                )
        if list(base.attributes.items()) != list(audit.attributes.items()):  # cell order too
            detail = (
                ", ".join(f"{a}: {list(v.classes)}" for a, v in base.attributes.items()) or "none"
            )
            other = (
                ", ".join(f"{a}: {list(v.classes)}" for a, v in audit.attributes.items()) or "none"
            )
            raise DataValidationError(
                f"cannot compare {pair}: they slice by other sensitive attributes "
                f"({base_name}: {detail}; {name}: {other})"
            )
        for task in task_names:
            rows_a = base.counts[task].sum(axis=2)
            rows_b = audit.counts[task].sum(axis=2)
            if not np.array_equal(rows_a, rows_b):
                bad = np.argwhere(rows_a != rows_b)
                cell, k = int(bad[0, 0]), int(bad[0, 1])
                where = base.group_names(tuple(base.attributes))[cell]
                raise DataValidationError(
                    f"cannot compare {pair}: they were not audited on the same data "
                    f"(task {task!r}: {int(rows_a.sum())} vs {int(rows_b.sum())} rows; the rows "
                    f"per cell and true class differ in {len(bad)} place(s), e.g. {where}, true "
                    f"{base.tasks[task].classes[k]}: {int(rows_a[cell, k])} vs "
                    f"{int(rows_b[cell, k])}). Audit every version on the same labelled rows."
                )
    return task_names


def _resolve_groupings(
    by: str | Sequence[str | Sequence[str]] | None, names: Sequence[str]
) -> list[tuple[str, ...]]:
    """Overall, each attribute and each pair by default; else the groupings asked for."""
    if by is None:
        groupings: list[tuple[str, ...]] = [(), *((n,) for n in names)]
        groupings += list(itertools.combinations(names, 2))
        return groupings
    items = [by] if isinstance(by, str) else list(by)
    out = []
    for item in items:
        if item is None or item == "overall" or (not isinstance(item, str) and len(item) == 0):
            out.append(())
        else:
            out.append(normalize_by(item, names))
    return list(dict.fromkeys(out))


def _check_metrics(metrics: Sequence[str]) -> list[str]:
    known = [*SLICE_METRICS, *CLASS_METRICS, *GAP_METRICS]
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise DataValidationError(f"unknown metric(s) {unknown}; choose from {known}")
    if not metrics:
        raise DataValidationError("metrics must name at least one metric")
    return list(dict.fromkeys(metrics))


def _match_paired(
    paired: PairedCounts | Sequence[PairedCounts] | None,
    audits: Sequence[AuditResult],
    names: Sequence[str],
    tasks: Sequence[str],
) -> dict[int, PairedCounts]:
    """For each candidate, the pairs of (baseline, candidate), oriented baseline first."""
    if paired is None:
        return {}
    items = [paired] if isinstance(paired, PairedCounts) else list(paired)
    found: dict[int, PairedCounts] = {}
    for item in items:
        if not isinstance(item, PairedCounts):
            raise DataValidationError(
                f"paired must hold PairedCounts objects, got {type(item).__name__}"
            )
        shared = [t for t in tasks if t in item.tasks]
        if not shared:
            raise DataValidationError(
                f"paired counts {item.names[0]!r} vs {item.names[1]!r} have tasks "
                f"{list(item.tasks)}, none of the compared tasks {list(tasks)}"
            )
        errors = []
        matched = False
        # try candidates whose name the pairs carry first, then any candidate
        order = sorted(range(1, len(audits)), key=lambda j: names[j] not in item.names)
        for j in order:
            for oriented in (item, item.swapped()):
                try:
                    oriented.check_audits(
                        audits[0], audits[j], tasks=shared, names=(names[0], names[j])
                    )
                except DataValidationError as exc:
                    errors.append(str(exc))
                    continue
                found.setdefault(j, oriented)
                matched = True
                break
            if matched:
                break
        if not matched:
            raise DataValidationError(
                f"paired counts {item.names[0]!r} vs {item.names[1]!r} do not belong to the "
                f"baseline {names[0]!r} and any candidate: {errors[0]}"
            )
    return found


# ------------------------------------------------------------- statistics
@dataclass(frozen=True)
class _Block:
    kind: str  # "slice", "class" or "gap"
    by: tuple[str, ...]
    metric: str


class _TaskStatistics:
    """Every compared statistic of one task, for point estimates and bootstrap replicates."""

    def __init__(
        self,
        audit: AuditResult,
        task: str,
        groupings: Sequence[tuple[str, ...]],
        metrics: Sequence[str],
    ) -> None:
        self.task = task
        self.vocab = audit.tasks[task]
        self.shape = audit.shape
        self.attributes = audit.attributes
        self.names = list(audit.attributes)
        self.groupings = list(groupings)
        self.slice_metrics = [m for m in metrics if m in SLICE_METRICS]
        self.class_metrics = [m for m in metrics if m in CLASS_METRICS]
        self.gap_metrics = [m for m in metrics if m in GAP_METRICS]
        self.blocks: list[_Block] = []
        for by_t in self.groupings:
            self.blocks += [_Block("slice", by_t, m) for m in self.slice_metrics]
            if not self._own(by_t):
                # per-class scores inside a slice of the task's own label are degenerate
                self.blocks += [_Block("class", by_t, m) for m in self.class_metrics]
            if by_t:
                self.blocks += [_Block("gap", by_t, m) for m in self._gaps(by_t)]

    def _gaps(self, by_t: tuple[str, ...]) -> list[str]:
        """Gap metrics of a grouping.

        Grouped by the task's own true label, the selection rate, TPR and FPR of a
        group follow from the grouping (a better model widens the demographic
        parity gap): only the accuracy gaps (the spread of per-class recall) are
        disparities there, as in the audit report.
        """
        if not self._own(by_t):
            return self.gap_metrics
        return [m for m in self.gap_metrics if GAP_METRICS[m].rate == "accuracy"]

    def _own(self, by_t: tuple[str, ...]) -> bool:
        """Whether the grouping holds the task's own true label (same classes)."""
        return self.task in by_t and self.attributes[self.task].classes == self.vocab.classes

    def values(self, counts: np.ndarray) -> np.ndarray:
        """Statistics ``(R, S)`` of counts ``(R, n_cells, C, C)``."""
        n_rep, n_classes = counts.shape[0], len(self.vocab)
        out = []
        for by_t in self.groupings:
            cm = group_sum(counts, self.shape, self.names, by_t, n_trailing=2).reshape(
                n_rep, -1, n_classes, n_classes
            )
            if self.slice_metrics:
                values = slice_metric_values(cm, self.slice_metrics)
                out += list(values.values())
            if not self._own(by_t) and self.class_metrics:
                values = class_metric_values(cm, self.class_metrics, zero_division=np.nan)
                out += [v.reshape(n_rep, -1) for v in values.values()]
            gap_metrics = self._gaps(by_t) if by_t else []
            if gap_metrics:
                out += [v.reshape(n_rep, 1) for v in gap_values(cm, gap_metrics).values()]
        return np.concatenate(out, axis=1)

    def describe(self) -> pd.DataFrame:
        """One row per statistic: kind, by, metric, slice, class, where, subject."""
        rows: list[dict[str, Any]] = []
        for block in self.blocks:
            by_t = block.by
            combos = list(itertools.product(*(self.attributes[b].classes for b in by_t)))
            by_text = " x ".join(by_t) if by_t else "overall"
            if block.kind == "gap":
                rows.append(
                    {
                        "kind": "gap",
                        "by": by_text,
                        "metric": block.metric,
                        "slice": "all",
                        "class": "",
                        "where": "all",
                        "subject": subject(self.task, block.metric, "gap", conditions={}, by=by_t),
                    }
                )
                continue
            for combo in combos:
                conditions = dict(zip(by_t, combo, strict=True))
                slice_name = " & ".join(combo) if combo else "all"
                if block.kind == "slice":
                    ordered = self._ordered(conditions)
                    rows.append(
                        {
                            "kind": "slice",
                            "by": by_text,
                            "metric": block.metric,
                            "slice": slice_name,
                            "class": "",
                            "where": conditions_text(ordered),
                            "subject": subject(
                                self.task, block.metric, "slice", conditions=ordered, by=by_t
                            ),
                        }
                    )
                    continue
                key = self.task if self.task not in conditions else f"true {self.task}"
                for cls in self.vocab.classes:
                    ordered = self._ordered({**conditions, key: cls})
                    rows.append(
                        {
                            "kind": "class",
                            "by": by_text,
                            "metric": block.metric,
                            "slice": slice_name,
                            "class": cls,
                            "where": conditions_text(ordered),
                            "subject": subject(
                                self.task,
                                block.metric,
                                "class",
                                conditions=self._ordered(conditions),
                                by=by_t,
                                cls=cls,
                                class_key=key,
                            ),
                        }
                    )
        return pd.DataFrame(rows)

    def supports(self, counts: np.ndarray) -> np.ndarray:
        """Rows behind each statistic of counts ``(n_cells, C, C)``, shape ``(S,)``.

        A slice metric: the slice's rows. A per-class score: the rows its
        denominator counts (true rows of the class for recall and F1, rows predicted
        as the class for precision, the other rows for the false positive rate, the
        slice's rows for the selection rate). A gap: the rows of its smallest
        non-empty group.
        """
        out = []
        n_classes = len(self.vocab)
        for block in self.blocks:
            cm = group_sum(counts, self.shape, self.names, block.by, n_trailing=2).reshape(
                -1, n_classes, n_classes
            )
            rows = cm.sum(axis=(1, 2))
            if block.kind == "slice":
                out.append(rows)
            elif block.kind == "gap":
                present = rows[rows > 0]
                out.append(np.array([present.min() if present.size else 0]))
            else:
                true, predicted = cm.sum(axis=2), cm.sum(axis=1)
                by_metric = {
                    "recall": true,
                    "f1": true,
                    "precision": predicted,
                    "fpr": rows[:, None] - true,
                    "selection_rate": np.repeat(rows[:, None], n_classes, axis=1),
                }
                out.append(by_metric[block.metric].ravel())
        return np.concatenate(out).astype(np.int64)

    def _ordered(self, conditions: Mapping[str, str]) -> dict[str, str]:
        """Conditions in the audit's attribute order (the task's class last if not one)."""
        out = {n: conditions[n] for n in self.names if n in conditions}
        out.update({k: v for k, v in conditions.items() if k not in out})
        return out


def _bootstrap(
    stats: _TaskStatistics,
    counts: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    batch_size: int,
    bar: Any,
) -> np.ndarray:
    blocks = []
    done = 0
    while done < n_resamples:
        size = min(batch_size, n_resamples - done)
        blocks.append(stats.values(multinomial_replicates(counts, size, rng)))
        done += size
        bar.update(size)
    return np.concatenate(blocks, axis=0)


def _paired_values(
    pairs: PairedCounts, stats: _TaskStatistics, confidence: float
) -> dict[_Block, pd.DataFrame]:
    """McNemar tables of the blocks that have a paired version (accuracy, error rate, recall)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in stats.blocks:
            if block.metric not in PAIRED_METRICS or block.kind == "gap":
                continue
            table = pairs.mcnemar(
                stats.task,
                by=block.by,
                per_class=block.kind == "class",
                confidence=confidence,
                min_support=0,
            )
            if block.metric == "error_rate":
                table = table.assign(
                    accuracy_a=1 - table["accuracy_a"],
                    accuracy_b=1 - table["accuracy_b"],
                    difference=-table["difference"],
                    ci_low=-table["ci_high"],
                    ci_high=-table["ci_low"],
                )
            out[block] = table
    return out


def compare_audits(
    audits: Sequence[AuditResult | str | os.PathLike[str]],
    *,
    names: Sequence[str] | None = None,
    paired: PairedCounts | Sequence[PairedCounts] | None = None,
    tasks: Sequence[str] | None = None,
    by: str | Sequence[str | Sequence[str]] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    random_state: int | None = 0,
    min_support: int = DEFAULT_MIN_SUPPORT,
    batch_size: int = 250,
    progress: bool = True,
) -> Comparison:
    """Compare model versions audited on the same data, metric by metric and slice by slice.

    Parameters
    ----------
    audits : sequence of AuditResult or path
        Two or more audits (or saved audit files); the first is the baseline, every
        other one a candidate compared with it.
    names : sequence of str, optional
        Version names (default: the file names without suffix, the audit's
        ``metadata["model"]``, or ``v1``, ``v2``, ...).
    paired : PairedCounts or sequence of PairedCounts, optional
        Pairs of the baseline and a candidate on the same rows
        (:func:`~fairaudit.compare.paired_counts`); each is checked against the two
        audits and matched to its candidate. Accuracy, error-rate and recall
        changes of that candidate then use paired statistics.
    tasks : sequence of str, optional
        Tasks to compare (default: all; the audits must then have the same tasks).
    by : str or sequence, optional
        Groupings: an attribute, a tuple of attributes, ``"overall"`` or ``()``.
        Default: overall, each attribute, and each pair of attributes.
    metrics : sequence of str, default=DEFAULT_METRICS
        Per-slice metrics (:data:`SLICE_METRICS`), per-class scores
        (:data:`CLASS_METRICS`) and gaps (:data:`GAP_METRICS`).
    confidence : float, default=0.95
        Coverage of the intervals; ``1 - confidence`` is the significance level.
    n_resamples : int, default=1000
        Bootstrap replicates of each audit.
    random_state : int, optional
        Seed; each audit draws from its own stream spawned from it
        (``numpy.random.SeedSequence(random_state).spawn``), so the same seed gives
        the same comparison.
    min_support : int, default=30
        Slices with fewer rows are marked ``"small"`` and never flagged significant.
    batch_size : int, default=250
        Replicates drawn at once.
    progress : bool, default=True
        Show a tqdm progress bar.

    Returns
    -------
    Comparison

    Raises
    ------
    DataValidationError
        Fewer than two audits; audits with other tasks, classes or attributes, or
        made on other data (other rows per cell and true class); paired counts that
        match no (baseline, candidate) pair; unknown metrics or attributes.
    """
    if not 0 < confidence < 1:
        raise DataValidationError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 2:
        raise DataValidationError(f"n_resamples must be at least 2, got {n_resamples}")
    loaded, names = _load_audits(audits, names)
    task_names = _check_compatible(loaded, names, tasks)
    metric_names = _check_metrics(metrics)
    groupings = _resolve_groupings(by, list(loaded[0].attributes))
    pairs = _match_paired(paired, loaded, names, task_names)
    alpha = 1 - confidence
    seeds = np.random.SeedSequence(random_state).spawn(len(loaded))
    rngs = [np.random.default_rng(s) for s in seeds]
    frames = []
    total = n_resamples * len(loaded) * len(task_names)
    with tqdm(total=total, desc="compare", unit="replicate", disable=not progress) as bar:
        for task in task_names:
            stats = _TaskStatistics(loaded[0], task, groupings, metric_names)
            description = stats.describe()
            points, replicates, supports = [], [], []
            for audit, rng in zip(loaded, rngs, strict=True):
                counts = audit.counts[task]
                points.append(stats.values(counts[None])[0])
                supports.append(stats.supports(counts))
                replicates.append(_bootstrap(stats, counts, n_resamples, rng, batch_size, bar))
            for j in range(1, len(loaded)):
                frame = description.copy()
                frame["baseline"], frame["candidate"], frame["task"] = names[0], names[j], task
                frame["n"] = np.minimum(supports[0], supports[j])
                frame["value_a"], frame["value_b"] = points[0], points[j]
                frame["change"] = points[j] - points[0]
                low, high, std, _ = percentile_interval(replicates[j] - replicates[0], alpha / 2)
                frame["ci_low"], frame["ci_high"] = low, high
                with np.errstate(invalid="ignore", divide="ignore"):
                    z = np.abs(frame["change"].to_numpy()) / std
                frame["p_value"] = np.where(
                    np.isfinite(z) & (std > 0), 2 * _stats.norm.sf(z), np.nan
                )
                frame["test"] = "bootstrap"
                frame["paired"] = False
                if j in pairs and task in pairs[j].tasks:
                    _apply_pairs(frame, _paired_values(pairs[j], stats, confidence), stats)
                frames.append(frame)
    changes = pd.concat(frames, ignore_index=True)
    changes = changes[~(changes["value_a"].isna() & changes["value_b"].isna())]
    changes = changes.reset_index(drop=True)
    _finish(changes, alpha=alpha, min_support=min_support)
    settings = {
        "confidence": confidence,
        "n_resamples": n_resamples,
        "random_state": random_state,
        "min_support": min_support,
        "tasks": task_names,
        "by": [" x ".join(g) if g else "overall" for g in groupings],
        "metrics": metric_names,
    }
    return Comparison(
        changes=changes[_CHANGE_COLUMNS],
        names=names,
        audits=loaded,
        paired={names[j]: p for j, p in pairs.items()},
        settings=settings,
    )


def _apply_pairs(
    frame: pd.DataFrame, tables: Mapping[_Block, pd.DataFrame], stats: _TaskStatistics
) -> None:
    """Replace the bootstrap interval and test of paired blocks by the paired ones."""
    start = 0
    for block in stats.blocks:
        size = _block_size(block, stats)
        if block in tables:
            table = tables[block]
            index = frame.index[start : start + size]
            values_a = table["accuracy_a"].to_numpy()
            values_b = table["accuracy_b"].to_numpy()
            # the pairs were checked against both audits: the values agree exactly
            if not (
                np.allclose(values_a, frame.loc[index, "value_a"], equal_nan=True, atol=1e-12)
                and np.allclose(values_b, frame.loc[index, "value_b"], equal_nan=True, atol=1e-12)
            ):
                raise AssertionError(f"paired values disagree with the audits for {block}")
            frame.loc[index, "ci_low"] = table["ci_low"].to_numpy()
            frame.loc[index, "ci_high"] = table["ci_high"].to_numpy()
            frame.loc[index, "p_value"] = table["p_value"].to_numpy()
            frame.loc[index, "test"] = "mcnemar"
            frame.loc[index, "paired"] = True
        start += size


def _block_size(block: _Block, stats: _TaskStatistics) -> int:
    if block.kind == "gap":
        return 1
    groups = int(np.prod([len(stats.attributes[b]) for b in block.by])) if block.by else 1
    return groups * (len(stats.vocab) if block.kind == "class" else 1)


def _finish(changes: pd.DataFrame, *, alpha: float, min_support: int) -> None:
    """Status, Holm-adjusted p-values per family, significance and direction (in place)."""
    n = changes["n"].to_numpy()
    changes["status"] = np.where(n == 0, "empty", np.where(n < min_support, "small", "ok"))
    p_holm = np.full(len(changes), np.nan)
    p = changes["p_value"].to_numpy(dtype=np.float64)
    families = changes.groupby(["candidate", "task", "metric", "by"], sort=False).indices
    for index in families.values():
        sub = p[index]
        defined = ~np.isnan(sub)
        adjusted = np.full(sub.shape, np.nan)
        adjusted[defined] = holm(sub[defined])
        p_holm[index] = adjusted
    changes["p_holm"] = p_holm
    low = changes["ci_low"].to_numpy(dtype=np.float64)
    high = changes["ci_high"].to_numpy(dtype=np.float64)
    excludes_zero = (low > 0) | (high < 0)
    changes["significant"] = (
        (np.nan_to_num(p_holm, nan=1.0) < alpha) & excludes_zero & (changes["status"] == "ok")
    )
    higher = changes["metric"].map({m: spec.higher_is_better for m, spec in METRICS.items()})
    changes["higher_is_better"] = higher
    change = changes["change"].to_numpy(dtype=np.float64)
    direction = np.full(len(changes), "no clear change", dtype=object)
    sig = changes["significant"].to_numpy()
    for i in np.flatnonzero(sig):
        better = higher.iloc[i]
        if better is None:
            direction[i] = "changed"
        else:
            direction[i] = "improved" if (change[i] > 0) == better else "regressed"
    changes["direction"] = direction
    changes["paired"] = changes["paired"].astype(bool)


class Comparison:
    """Changes of every metric between a baseline and one or more candidate versions.

    Attributes
    ----------
    names : list of str
        Version names; ``names[0]`` is the baseline.
    changes : pandas.DataFrame
        One row per candidate, task, metric, grouping, slice (and class):
        ``baseline``, ``candidate``, ``task``, ``metric``, ``kind`` (``"slice"``,
        ``"class"`` for a per-class score, ``"gap"`` between groups), ``by``,
        ``slice`` (group name, ``"all"`` for overall and gaps), ``class``,
        ``where`` (canonical conditions, the class included), ``subject`` (plain
        words), ``n`` (rows behind the value, the smaller of the two versions':
        the slice's rows; for a per-class score the rows of its denominator, e.g.
        true rows of the class for recall, predicted rows for precision; for a
        gap the rows of its smallest non-empty group), ``status`` (``ok``,
        ``small``, ``empty``), ``value_a`` (baseline), ``value_b`` (candidate),
        ``change`` (``value_b - value_a``), ``ci_low``, ``ci_high``,
        ``p_value``, ``p_holm`` (Holm within candidate, task, metric and
        grouping), ``test`` (``"mcnemar"`` or ``"bootstrap"``), ``paired``,
        ``significant``, ``higher_is_better``, ``direction`` (``"improved"``,
        ``"regressed"``, ``"no clear change"``).
    audits : list of AuditResult
        The compared audits, in order.
    paired : dict of str to PairedCounts
        Pairs used per candidate name (oriented baseline first).
    settings : dict
        Confidence, resamples, seed, minimum support, tasks, groupings, metrics.
    """

    def __init__(
        self,
        *,
        changes: pd.DataFrame,
        names: Sequence[str],
        audits: Sequence[AuditResult],
        paired: Mapping[str, PairedCounts],
        settings: Mapping[str, Any],
    ) -> None:
        self.changes = changes
        self.names = list(names)
        self.audits = list(audits)
        self.paired = dict(paired)
        self.settings = dict(settings)

    def __repr__(self) -> str:
        counts = self.changes["direction"].value_counts()
        return (
            f"Comparison(baseline={self.baseline!r}, candidates={self.candidates}, "
            f"improved={int(counts.get('improved', 0))}, "
            f"regressed={int(counts.get('regressed', 0))})"
        )

    @property
    def baseline(self) -> str:
        """Name of the baseline version."""
        return self.names[0]

    @property
    def candidates(self) -> list[str]:
        """Names of the versions compared with the baseline."""
        return self.names[1:]

    def is_paired(self, candidate: str) -> bool:
        """Whether the changes of ``candidate`` use paired statistics for accuracy and recall."""
        if candidate not in self.candidates:
            raise DataValidationError(f"unknown candidate {candidate!r}; have {self.candidates}")
        return candidate in self.paired

    def pairing_notes(self) -> list[str]:
        """One plain sentence per candidate: paired or unpaired, and what that means."""
        notes = []
        for candidate in self.candidates:
            if candidate in self.paired:
                pairs = self.paired[candidate]
                tasks = [t for t in self.settings["tasks"] if t in pairs.tasks]
                unpaired = [t for t in self.settings["tasks"] if t not in pairs.tasks]
                notes.append(
                    f"{candidate} vs {self.baseline}: paired on the {pairs.n_rows:,} rows both "
                    f"versions predicted (tasks {', '.join(tasks)}); accuracy, error rate and "
                    "per-class recall changes use McNemar's exact test and Newcombe's paired "
                    "interval, other metrics and the gaps compare independent bootstraps "
                    "(unpaired)."
                    + (f" Tasks {', '.join(unpaired)} are unpaired." if unpaired else "")
                )
            else:
                notes.append(
                    f"{candidate} vs {self.baseline}: unpaired. No per-row pairing of the two "
                    "versions was given, so every change compares independent bootstraps of "
                    "the two audits; with paired counts (fairaudit.compare.paired_counts) "
                    "accuracy and recall changes would get tighter paired intervals."
                )
        return notes

    def _select(self, direction: str, candidate: str | None) -> pd.DataFrame:
        frame = self.changes[self.changes["direction"] == direction]
        if candidate is not None:
            self.is_paired(candidate)
            frame = frame[frame["candidate"] == candidate]
        order = frame["change"].abs().sort_values(ascending=False, kind="stable").index
        return frame.loc[order].reset_index(drop=True)

    def improved(self, *, candidate: str | None = None) -> pd.DataFrame:
        """Significant changes for the better, largest first."""
        return self._select("improved", candidate)

    def regressed(self, *, candidate: str | None = None) -> pd.DataFrame:
        """Significant changes for the worse, largest first."""
        return self._select("regressed", candidate)

    def summary(self) -> pd.DataFrame:
        """Per candidate and task: rows compared, improved, regressed, no clear change."""
        frame = self.changes
        table = (
            frame.groupby(["candidate", "task"], sort=False)["direction"]
            .value_counts()
            .unstack(fill_value=0)
        )
        for column in ("improved", "regressed", "no clear change"):
            if column not in table.columns:
                table[column] = 0
        table["compared"] = table[["improved", "regressed", "no clear change"]].sum(axis=1)
        table = table.reset_index()
        table["paired"] = [
            c in self.paired and t in self.paired[c].tasks
            for c, t in zip(table["candidate"], table["task"], strict=True)
        ]
        return table[
            ["candidate", "task", "compared", "improved", "regressed", "no clear change", "paired"]
        ]

    def findings(self, *, limit: int | None = 10, candidate: str | None = None) -> list[str]:
        """Plain sentences for the significant changes, largest first.

        A per-class recall that is the same number as a slice accuracy (the recall
        of class Black among women is the accuracy on Black women) is told once.

        Parameters
        ----------
        limit : int, optional
            At most this many sentences (None: all).
        candidate : str, optional
            Only this candidate's changes.
        """
        frame = self.changes[self.changes["significant"]]
        if candidate is not None:
            self.is_paired(candidate)
            frame = frame[frame["candidate"] == candidate]
        preference = {"slice": 0, "class": 1, "gap": 2}
        frame = frame.assign(
            _size=-frame["change"].abs().round(12),
            _pref=frame["kind"].map(preference),
        ).sort_values(["_size", "_pref"], kind="stable")
        seen = set()
        sentences = []
        many = len(self.candidates) > 1
        for row in frame.itertuples(index=False):
            if row.metric in ("accuracy", "recall"):
                key = (row.candidate, row.task, row.where, round(row.change, 12))
                if key in seen:
                    continue
                seen.add(key)
            sentences.append(
                finding_sentence(
                    subject_text=row.subject,
                    value_a=row.value_a,
                    value_b=row.value_b,
                    change=row.change,
                    ci_low=row.ci_low,
                    ci_high=row.ci_high,
                    p_value=row.p_value,
                    p_holm=row.p_holm,
                    paired=bool(row.paired),
                    direction=row.direction,
                    confidence=self.settings["confidence"],
                    versions=f"{row.candidate} vs {row.baseline}" if many else "",
                )
            )
            if limit is not None and len(sentences) >= limit:
                break
        return sentences

    # -------------------------------------------------------------- save
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form: versions, their metadata, settings, notes, changes."""
        changes = self.changes.astype(object).where(self.changes.notna(), None)
        return {
            "format": COMPARISON_FORMAT,
            "format_version": COMPARISON_FORMAT_VERSION,
            "library_version": __version__,
            "saved": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "baseline": self.baseline,
            "names": self.names,
            "versions": [
                {"name": n, "n_rows": a.n_rows, "metadata": a.metadata}
                for n, a in zip(self.names, self.audits, strict=True)
            ],
            "paired": {c: self.paired[c].metadata.get("join") for c in self.paired},
            "settings": self.settings,
            "notes": self.pairing_notes(),
            "findings": self.findings(limit=None),
            "changes": changes.to_dict(orient="records"),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON, atomically; returns the path."""
        return atomic_write_text(Path(path), json.dumps(self.to_dict(), default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
