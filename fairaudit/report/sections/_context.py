"""What every section of a report shares: its settings, the bootstrap, the table ids.

:class:`ReportContext` holds the audit, the report's options, the bootstrap
intervals of every task (drawn once) and the audit tables two sections show
(fairness and significance, computed once); the section modules read it and build
their part of the template context. The helpers here are the small rules the
sections share (a task grouped by its own label, rows per cell, unique ids).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.functional import MetricSpec
from fairaudit.functional._classification import support
from fairaudit.model_audit import AuditResult
from fairaudit.model_audit._views import group_rate_table
from fairaudit.report._html import figure_to_data_uri, frame_to_html

__all__ = [
    "ReportContext",
    "attribute_tables",
    "boot_rows",
    "cell_supports",
    "group_label",
    "is_own_attribute",
    "registered",
    "report_figure",
    "slug",
    "status_classes",
    "task_random_state",
]


def registered(registry: Mapping[str, MetricSpec], *names: str) -> tuple[str, ...]:
    """``names``, each checked to be a metric of ``registry`` (fails at import if not).

    A report's selection of metrics names metrics of the one registry
    (:mod:`fairaudit.functional`); a name the registry does not know is a bug.
    """
    unknown = [name for name in names if name not in registry]
    if unknown:
        raise KeyError(f"metric(s) {unknown} are not registered; known: {list(registry)}")
    return names


def task_random_state(random_state: int | None, index: int) -> np.random.Generator:
    """The generator that resamples the ``index``-th task (in audit order) of a report.

    ``numpy.random.default_rng([random_state, index])``: the same seed gives the same
    intervals, and tasks draw independent streams. ``None``: fresh entropy.
    """
    if random_state is None:
        return np.random.default_rng()
    return np.random.default_rng([int(random_state), index])


def is_own_attribute(audit: AuditResult, task: str, attribute: str) -> bool:
    """Whether ``attribute`` is the true label of ``task`` (same name and classes).

    Grouped by its own true label, a task's selection rate, TPR and FPR per group
    follow from the grouping and are not disparities; only its accuracy gap is.
    The rule is :meth:`AuditResult.is_own_grouping` of the grouping ``(attribute,)``.
    """
    return audit.is_own_grouping(task, (attribute,))


def cell_supports(audit: AuditResult) -> dict[str, np.ndarray]:
    """Rows of each cell, per source: every task's counts, and the detector's images.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{task: rows per cell}`` (:func:`fairaudit.functional.support` of the
        task's counts) and, when the audit holds a detector audit, ``{"detection":
        images per cell}``; each of shape ``(n_cells,)``.
    """
    out = {task: support(counts) for task, counts in audit.counts.items()}
    if getattr(audit, "has_detection", False):
        out["detection"] = np.asarray(audit.detection)[:, 0]
    return out


def slug(text: str, taken: set[str]) -> str:
    """An id made of ``text`` that is not in ``taken`` (added to it)."""
    base = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"
    candidate, i = base, 2
    while candidate in taken:
        candidate, i = f"{base}-{i}", i + 1
    taken.add(candidate)
    return candidate


def group_label(frame: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """Readable group names (``"Female & 20-29"``) of the ``by`` columns of ``frame``."""
    return [" & ".join(str(v) for v in row) for row in frame[list(by)].itertuples(index=False)]


def status_classes(status: pd.Series) -> list[str]:
    """CSS class of each row from its slice status (``small``, ``empty`` or none)."""
    return [s if s in ("small", "empty") else "" for s in status.astype(str)]


def attribute_tables(
    ctx: ReportContext,
    view: Callable[[str], pd.DataFrame],
    *,
    caption: str,
    table_id: str,
) -> list[str]:
    """One table per attribute of a view grouped by it, small and empty slices marked.

    ``caption`` and ``table_id`` are formatted with ``attribute``.
    """
    tables = []
    for attribute in ctx.attributes:
        frame = view(attribute)
        frame[attribute] = frame[attribute].astype(str)
        tables.append(
            frame_to_html(
                frame,
                caption=caption.format(attribute=attribute),
                table_id=ctx.unique_id(table_id.format(attribute=attribute)),
                row_classes=status_classes(frame["status"]),
            )
        )
    return tables


def boot_rows(boot: pd.DataFrame, task: str, by: Sequence[str], metric: str) -> pd.DataFrame:
    """Bootstrap rows of one task, grouping and slice metric, indexed by group."""
    rows = boot[
        (boot["task"] == task)
        & (boot["by"] == " x ".join(by))
        & (boot["metric"] == metric)
        & (boot["class"] == "")
    ]
    return rows.set_index("group")


def report_figure(fig: Any, alt: str, caption: str) -> dict[str, str]:
    """A figure of the template: its ``data:`` URI, alternative text and caption."""
    return {"src": figure_to_data_uri(fig), "alt": alt, "caption": caption}


class ReportContext:
    """The state one report's sections share (one instance per render)."""

    def __init__(
        self,
        audit: AuditResult,
        *,
        confusion_by: Sequence[str],
        heatmaps: dict[str, list[tuple[str, str]]],
        n_resamples: int,
        confidence: float,
        random_state: int | None,
        min_support: int,
    ) -> None:
        self.audit = audit
        self.attributes = list(audit.attributes)
        self.confusion_by = list(confusion_by)
        self.heatmaps = heatmaps
        self.n_resamples = n_resamples
        self.confidence = confidence
        self.random_state = random_state
        self.min_support = min_support
        self.level = f"{100 * confidence:g}%"
        self.ci = f"{self.level} bootstrap interval ({n_resamples:,} replicates)"
        self.gap_ci = (
            f"{self.level} simultaneous interval (exact square-and-add per pair of groups, "
            "Bonferroni over the pairs)"
        )
        self.ids: set[str] = set()
        self._disparities: pd.DataFrame | None = None
        self._names: dict[tuple[str, ...], list[str]] = {}
        self._fairness_cache: dict[tuple[str, str], pd.DataFrame] = {}
        self._tests_cache: dict[tuple[str, str], pd.DataFrame | None] = {}
        self._rate_cache: dict[tuple, pd.DataFrame] = {}
        self.boot = self._bootstrap()

    @property
    def disparities(self) -> pd.DataFrame:
        """:func:`fairaudit.findings.rank_disparities` of the audit (computed once)."""
        if self._disparities is None:
            from fairaudit.findings import rank_disparities

            self._disparities = rank_disparities(
                self.audit,
                attributes=self.attributes,
                min_support=self.min_support,
                confidence=self.confidence,
            )
        return self._disparities

    def unique_id(self, text: str) -> str:
        """An element id made of ``text``, unique in the report."""
        return slug(text, self.ids)

    # -- audit tables shown twice (summary and task sections), computed once
    def fairness_of(self, task: str, attribute: str) -> pd.DataFrame:
        """:meth:`AuditResult.fairness` of ``task`` between the groups of ``attribute``."""
        key = (task, attribute)
        if key not in self._fairness_cache:
            self._fairness_cache[key] = self.audit.fairness(
                task, by=attribute, min_support=self.min_support
            )
        return self._fairness_cache[key]

    def significance_of(self, task: str, attribute: str) -> pd.DataFrame | None:
        """:meth:`AuditResult.significance`, or None when no gap can be tested."""
        key = (task, attribute)
        if key not in self._tests_cache:
            try:
                self._tests_cache[key] = self.audit.significance(
                    task, by=attribute, min_support=self.min_support
                )
            except DataValidationError:  # fewer than two non-empty groups
                self._tests_cache[key] = None
        return self._tests_cache[key]

    def rate_table(
        self,
        task: str,
        by: str | Sequence[str],
        rate: str = "accuracy",
        of_class: str | None = None,
    ) -> pd.DataFrame:
        """:func:`~fairaudit.model_audit._views.group_rate_table` at the report's level (once).

        The table is shared: read it, do not modify it.
        """
        key = (task, (by,) if isinstance(by, str) else tuple(by), rate, of_class)
        if key not in self._rate_cache:
            self._rate_cache[key] = group_rate_table(
                self.audit, task, by=by, rate=rate, of_class=of_class, confidence=self.confidence
            )
        return self._rate_cache[key]

    # -- uncertainty
    def task_groupings(self, task: str) -> list[tuple[str, ...]]:
        """Groupings resampled for ``task``: all rows only.

        Per group the report shows rates (accuracy, error rate, a class's rates),
        proportions with exact intervals on their counts (:meth:`rate_table`); only
        the overall metrics that are not proportions (balanced accuracy, F1, ...)
        take their interval from the bootstrap. Resampling the groups too would
        triple its cost for no number shown (the draws are those of all rows
        either way).
        """
        return [()]

    def group_names(self, by: str | Sequence[str] | None) -> list[str]:
        """:meth:`AuditResult.group_names`, computed once per grouping."""
        key = (by,) if isinstance(by, str) else tuple(by or ())
        if key not in self._names:
            self._names[key] = self.audit.group_names(list(key) or None)
        return self._names[key]

    def _bootstrap(self) -> pd.DataFrame:
        frames = [pd.DataFrame(columns=["task", "by", "group", "metric", "class"])]
        tasks = list(self.audit.tasks)
        # each task draws from its own stream, so side by side (numpy's reductions
        # release the GIL) the intervals are those of one task after another
        with ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1) or 1) as pool:
            futures = [
                pool.submit(
                    self.audit.bootstrap,
                    n_resamples=self.n_resamples,
                    confidence=self.confidence,
                    random_state=task_random_state(self.random_state, i),
                    tasks=[task],
                    by=self.task_groupings(task),
                    progress=False,
                )
                for i, task in enumerate(tasks)
            ]
            frames += [future.result() for future in futures]
        return pd.concat(frames, ignore_index=True)
