"""Every compared statistic of one task, computed by the metric core, and its bootstrap."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.compare._constants import PAIRED_METRICS
from fairaudit.compare._paired import PairedCounts
from fairaudit.compare._wording import (
    conditions_text,
    subject,
)
from fairaudit.functional import class_metric_values, gap_values, slice_metric_values
from fairaudit.functional._counts import group_sum, group_sums
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS
from fairaudit.functional._resampling import multinomial_replicates
from fairaudit.model_audit import AuditResult

__all__ = ["Block", "TaskStatistics", "bootstrap_statistics", "paired_values"]

#: Per-slice metrics that keep their meaning inside a slice of the task's own true
#: label (one true class): the share of rows predicted right, or wrong.
_OWN_SLICE_METRICS = frozenset({"accuracy", "error_rate", "recall_weighted"})


@dataclass(frozen=True)
class Block:
    kind: str  # "slice", "class" or "gap"
    by: tuple[str, ...]
    metric: str


class TaskStatistics:
    """Every compared statistic of one task, for point estimates and bootstrap replicates."""

    def __init__(
        self,
        audit: AuditResult,
        task: str,
        groupings: Sequence[tuple[str, ...]],
        metrics: Sequence[str],
        *,
        min_support: int = 0,
    ) -> None:
        self.audit = audit
        self.min_support = int(min_support)
        self.task = task
        self.vocab = audit.tasks[task]
        self.shape = audit.shape
        self.attributes = audit.attributes
        self.names = list(audit.attributes)
        self.groupings = list(groupings)
        self.slice_metrics = [m for m in metrics if m in SLICE_METRICS]
        self.class_metrics = [m for m in metrics if m in CLASS_METRICS]
        self.gap_metrics = [m for m in metrics if m in GAP_METRICS]
        self.blocks: list[Block] = []
        for by_t in self.groupings:
            # inside a slice of the task's own label every row has one true class:
            # averages over classes (balanced accuracy, macro scores) are degenerate
            slice_metrics = (
                [m for m in self.slice_metrics if m in _OWN_SLICE_METRICS]
                if self._own(by_t)
                else self.slice_metrics
            )
            self.blocks += [Block("slice", by_t, m) for m in slice_metrics]
            if not self._own(by_t):
                # per-class scores inside a slice of the task's own label are degenerate
                self.blocks += [Block("class", by_t, m) for m in self.class_metrics]
            if by_t:
                self.blocks += [Block("gap", by_t, m) for m in self._gaps(by_t)]

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
        """Whether the grouping holds the task's own true label (see ``AuditResult``)."""
        return self.audit.is_own_grouping(self.task, by_t)

    def values(self, counts: np.ndarray, blocks: Sequence[Block] | None = None) -> np.ndarray:
        """Statistics ``(R, S)`` of counts ``(R, n_cells, C, C)``.

        ``blocks``: only these blocks' statistics, in the order of :attr:`blocks`
        (default: every block's).
        """
        n_rep, n_classes = counts.shape[0], len(self.vocab)
        wanted = set(self.blocks if blocks is None else blocks)

        def metrics(kind: str, by_t: tuple[str, ...]) -> list[str]:
            return [
                b.metric for b in self.blocks if b.kind == kind and b.by == by_t and b in wanted
            ]

        groupings = [g for g in self.groupings if any(b.by == g for b in wanted)]
        sums = group_sums(counts, self.shape, self.names, groupings, n_trailing=2)
        out = []
        for by_t in groupings:
            cm = sums[by_t].reshape(n_rep, -1, n_classes, n_classes)
            slice_metrics = metrics("slice", by_t)
            if slice_metrics:
                values = slice_metric_values(cm, slice_metrics)
                out += list(values.values())
            class_metrics = metrics("class", by_t)
            if class_metrics:
                values = class_metric_values(cm, class_metrics, zero_division=np.nan)
                out += [v.reshape(n_rep, -1) for v in values.values()]
            gap_metrics = metrics("gap", by_t)
            if gap_metrics:
                values = gap_values(cm, gap_metrics, min_support=self.min_support)
                out += [v.reshape(n_rep, 1) for v in values.values()]
        return np.concatenate(out, axis=1) if out else np.zeros((n_rep, 0))

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
                present = rows[rows >= max(self.min_support, 1)]
                out.append(np.array([present.min() if present.size >= 2 else 0]))
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


def bootstrap_statistics(
    stats: TaskStatistics,
    counts: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    batch_size: int,
    bar: Any,
    blocks: Sequence[Block] | None = None,
) -> np.ndarray:
    """Replicates ``(n_resamples, S)`` of the statistics of ``blocks`` (default: all).

    The draws do not depend on ``blocks``: the same seed gives each statistic the
    same replicates whatever else is resampled.
    """
    parts = []
    done = 0
    while done < n_resamples:
        size = min(batch_size, n_resamples - done)
        parts.append(stats.values(multinomial_replicates(counts, size, rng), blocks))
        done += size
        bar.update(size)
    return np.concatenate(parts, axis=0)


def paired_values(
    pairs: PairedCounts, stats: TaskStatistics, confidence: float
) -> dict[Block, pd.DataFrame]:
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
