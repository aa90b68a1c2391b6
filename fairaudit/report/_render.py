"""The self-contained HTML bias report of an audit: :func:`render_report`, :func:`write_report`.

One HTML file, opened from disk: CSS and the table sorter inline, figures as
``data:`` URIs, a Content-Security-Policy that forbids any request. Its sections:

1. summary: the largest disparities ranked by size with bootstrap intervals and
   Holm-adjusted p-values, slices too small to judge, four-fifths-rule failures;
2. dataset: the audited rows' label distributions, imbalance statistics and joint
   counts (:mod:`fairaudit.audit`, from the audit's per-cell support);
3. one section per task: overall metrics, metrics per group with intervals,
   per-class scores, confusion matrices (overall and per chosen attribute),
   accuracy heatmaps across attribute pairs with intervals, fairness metrics and
   their tests, four-fifths table, calibration per group;
4. face detection (when the audit holds a detector audit), regression targets;
5. the model card, the audit metadata and a glossary of every metric.

Every number comes from the :class:`~fairaudit.metrics.AuditResult` methods; the
tables are the figures' data, readable without them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import markupsafe
import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.exceptions import DataValidationError
from fairaudit.metrics import AuditResult, SmallSliceWarning
from fairaudit.report._card import resolve_model_card
from fairaudit.report._figures import (
    plain_text_labels,
    plot_confusion_matrices,
    plot_group_intervals,
    plot_metric_heatmap,
    plot_reliability,
)
from fairaudit.report._glossary import glossary_entries
from fairaudit.report._html import (
    environment,
    figure_to_data_uri,
    format_interval,
    format_p_value,
    frame_to_html,
)
from fairaudit.report._summary import (
    cell_supports,
    four_fifths_failures,
    is_own_attribute,
    rank_disparities,
    small_slices,
)

__all__ = ["default_heatmaps", "render_report", "task_random_state", "write_report"]

#: Slice metrics shown per group, with bootstrap intervals for accuracy.
_GROUP_METRICS = ("support", "accuracy", "balanced_accuracy", "f1_macro", "error_rate")
#: Overall metrics shown with bootstrap intervals.
_OVERALL_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)
#: Rows of the disparity ranking shown in the summary (the full list follows it).
_TOP_DISPARITIES = 12


# ------------------------------------------------------------------- options
def default_heatmaps(audit: AuditResult) -> dict[str, list[tuple[str, str]]]:
    """The attribute pairs of each task's accuracy heatmap when none are given.

    A task that is also an attribute (gender predicted, grouped by true gender)
    gets the pair of the other two attributes (gender accuracy by age x race);
    other tasks get the first two attributes. Fewer than two attributes: none.
    """
    attributes = list(audit.attributes)
    if len(attributes) < 2:
        return {task: [] for task in audit.tasks}
    out = {}
    for task in audit.tasks:
        others = [a for a in attributes if not is_own_attribute(audit, task, a)]
        pair = others[:2] if len(others) >= 2 else attributes[:2]
        out[task] = [(pair[0], pair[1])]
    return out


def _resolve_heatmaps(
    audit: AuditResult,
    heatmaps: Mapping[str, Sequence[Sequence[str]]] | Sequence[Sequence[str]] | None,
) -> dict[str, list[tuple[str, str]]]:
    if heatmaps is None:
        return default_heatmaps(audit)
    if isinstance(heatmaps, Mapping):
        unknown = [t for t in heatmaps if t not in audit.tasks]
        if unknown:
            raise DataValidationError(
                f"heatmaps name task(s) {unknown} that this audit does not have; "
                f"its tasks are {list(audit.tasks)}"
            )
        chosen = {task: list(heatmaps.get(task, ())) for task in audit.tasks}
    else:
        pairs = list(heatmaps)
        chosen = {task: pairs for task in audit.tasks}
    out: dict[str, list[tuple[str, str]]] = {}
    for task, pairs in chosen.items():
        checked = []
        for pair in pairs:
            if isinstance(pair, str) or len(pair) != 2 or pair[0] == pair[1]:
                raise DataValidationError(
                    f"a heatmap is a pair of two different attributes (rows, columns), got {pair!r}"
                )
            _check_attributes(audit, pair, "heatmaps")
            checked.append((str(pair[0]), str(pair[1])))
        out[task] = checked
    return out


def _check_attributes(audit: AuditResult, names: Sequence[str], option: str) -> None:
    unknown = [n for n in names if n not in audit.attributes]
    if unknown:
        raise DataValidationError(
            f"{option} names {unknown}, which {'is' if len(unknown) == 1 else 'are'} not "
            f"an attribute of this audit; its attributes are {list(audit.attributes)}"
        )


# ------------------------------------------------------------------- helpers
def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"
    slug, i = base, 2
    while slug in taken:
        slug, i = f"{base}-{i}", i + 1
    taken.add(slug)
    return slug


def _group_label(frame: pd.DataFrame, by: Sequence[str]) -> list[str]:
    return [" & ".join(str(v) for v in row) for row in frame[list(by)].itertuples(index=False)]


def _status_classes(status: pd.Series) -> list[str]:
    return [s if s in ("small", "empty") else "" for s in status.astype(str)]


def _boot_rows(boot: pd.DataFrame, task: str, by: Sequence[str], metric: str) -> pd.DataFrame:
    rows = boot[
        (boot["task"] == task)
        & (boot["by"] == " x ".join(by))
        & (boot["metric"] == metric)
        & (boot["class"] == "")
    ]
    return rows.set_index("group")


def _figure(fig: Any, alt: str, caption: str) -> dict[str, str]:
    return {"src": figure_to_data_uri(fig), "alt": alt, "caption": caption}


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Metadata as (key, text) rows; nested mappings become ``a.b`` keys."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows or [(prefix, "{}")]
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return [(prefix, ", ".join(str(v) for v in value))]
        return [(prefix, json.dumps(value, ensure_ascii=False, default=str))]
    if isinstance(value, float):
        return [(prefix, repr(value))]
    if isinstance(value, int) and not isinstance(value, bool):
        return [(prefix, f"{value:,}")]
    return [(prefix, "" if value is None else str(value))]


def _key_value_table(rows: Sequence[tuple[str, str]], *, caption: str, table_id: str) -> Any:
    frame = pd.DataFrame(rows, columns=["field", "value"], dtype=object)
    return frame_to_html(frame, caption=caption, table_id=table_id)


# ------------------------------------------------------------------- sections
class _Builder:
    """Builds the template context of one report (one instance per render)."""

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
        self.ids: set[str] = set()
        self._fairness_cache: dict[tuple[str, str], pd.DataFrame] = {}
        self._tests_cache: dict[tuple[str, str], pd.DataFrame | None] = {}
        self.boot = self._bootstrap()

    # -- audit tables shown twice (summary and task sections), computed once
    def fairness_of(self, task: str, attribute: str) -> pd.DataFrame:
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

    # -- uncertainty
    def task_groupings(self, task: str) -> list[tuple[str, ...]]:
        """Groupings resampled for ``task``: overall, each attribute, its heatmap pairs."""
        groupings: list[tuple[str, ...]] = [()]
        groupings += [(a,) for a in self.attributes]
        groupings += [p for p in self.heatmaps[task] if p not in groupings]
        return groupings

    def _bootstrap(self) -> pd.DataFrame:
        frames = [pd.DataFrame(columns=["task", "by", "group", "metric", "class"])]
        for i, task in enumerate(self.audit.tasks):
            rng = task_random_state(self.random_state, i)
            frames.append(
                self.audit.bootstrap(
                    n_resamples=self.n_resamples,
                    confidence=self.confidence,
                    random_state=rng,
                    tasks=[task],
                    by=self.task_groupings(task),
                    progress=False,
                )
            )
        return pd.concat(frames, ignore_index=True)

    # -- summary
    def summary(self) -> dict[str, Any]:
        audit = self.audit
        disparities = rank_disparities(
            audit,
            self.boot,
            attributes=self.attributes,
            min_support=self.min_support,
            fairness_of=self.fairness_of,
            significance_of=self.significance_of,
        )
        table = disparities.rename(
            columns={
                "gap": "gap (estimate)",
                "gap_lower": "gap CI low",
                "gap_upper": "gap CI high",
                "p_chi2_holm": "p (chi2, Holm)",
                "p_z_holm": "p (z, Holm)",
            }
        )
        table.insert(0, "rank", np.arange(1, len(table) + 1))
        formats = {"p (chi2, Holm)": format_p_value, "p (z, Holm)": format_p_value}
        row_classes = ["flag" if s else "" for s in disparities["significant"]]
        top = frame_to_html(
            table.head(_TOP_DISPARITIES),
            caption=(
                f"The {min(_TOP_DISPARITIES, len(table))} largest gaps between groups, "
                f"ranked by the estimate (gap CI: {self.ci}; p: Holm-adjusted)"
            ),
            table_id="table-top-disparities",
            column_formats=formats,
            row_classes=row_classes[:_TOP_DISPARITIES],
        )
        full = frame_to_html(
            table,
            caption="Every ranked gap (click a header to sort)",
            sortable=True,
            table_id="table-disparities",
            column_formats=formats,
            row_classes=row_classes,
        )
        groupings = [(a,) for a in self.attributes]
        for pairs in self.heatmaps.values():
            groupings += [p for p in pairs if p not in groupings]
        if len(self.attributes) > 1 and tuple(self.attributes) not in groupings:
            groupings.append(tuple(self.attributes))
        small = small_slices(audit, groupings, min_support=self.min_support)
        failures = four_fifths_failures(audit, attributes=self.attributes)
        overall = []
        for task in audit.tasks:
            row = _boot_rows(self.boot, task, (), "accuracy").loc["all"]
            overall.append(
                {
                    "task": task,
                    "text": format_interval(row["estimate"], row["lower"], row["upper"]),
                    "n_classes": len(audit.tasks[task]),
                }
            )
        detection_gaps = None
        if getattr(audit, "has_detection", False) and self.attributes:
            gaps = pd.concat(
                [
                    audit.detection_gaps(by=attribute, min_support=self.min_support)
                    for attribute in self.attributes
                ],
                ignore_index=True,
            ).sort_values("difference", ascending=False, na_position="last", kind="stable")
            detection_gaps = frame_to_html(
                gaps.reset_index(drop=True),
                caption=(
                    "Face detection: gap between the groups detected least and most often, "
                    f"per attribute (groups of at least {self.min_support} images; p: "
                    "chi-square test of homogeneity)"
                ),
                table_id="table-summary-detection-gaps",
                column_formats={"p_value": format_p_value},
            )
        return {
            "overall": overall,
            "detection_gaps": detection_gaps,
            "n_disparities": len(disparities),
            "n_significant": int(disparities["significant"].sum()),
            "largest": disparities.iloc[0].to_dict() if len(disparities) else None,
            "largest_significant": (
                disparities[disparities["significant"]].iloc[0].to_dict()
                if disparities["significant"].any()
                else None
            ),
            "top_table": top,
            "full_table": full,
            "n_small": int((small["status"] == "small").sum()),
            "n_empty": int((small["status"] == "empty").sum()),
            "small_table": frame_to_html(
                small,
                caption=(
                    f"Slices with fewer than {self.min_support} rows (small: too few to "
                    "judge; empty: no row), per grouping"
                ),
                sortable=True,
                table_id="table-small-slices",
                row_classes=_status_classes(small["status"]),
            ),
            "n_four_fifths": len(failures),
            "four_fifths_table": frame_to_html(
                failures,
                caption=(
                    "Four-fifths-rule failures: a group's selection rate of a class below "
                    "0.8 x that of the group with the highest rate (ratio < 0.8)"
                ),
                sortable=True,
                table_id="table-four-fifths",
                row_classes=["fail"] * len(failures),
            ),
        }

    # -- dataset
    def dataset(self) -> dict[str, Any] | None:
        from fairaudit.audit import (
            LabelCounts,
            audit_dataset,
            plot_distributions,
            plot_joint_heatmap,
        )
        from fairaudit.vocab import Vocabulary

        audit = self.audit
        if not self.attributes:
            return None
        supports = cell_supports(audit)
        first = next(iter(supports))
        support = supports[first].reshape(audit.shape)
        same = all(np.array_equal(n, supports[first]) for n in supports.values())
        vocabularies = tuple(
            Vocabulary(name, v.classes, v.ordered) for name, v in audit.attributes.items()
        )
        name = str(audit.metadata.get("description") or "audited rows")
        data = audit_dataset(
            LabelCounts(support, vocabularies),
            attributes=self.attributes,
            name=name,
            min_cell_count=self.min_support,
        )
        distributions = []
        for attribute in self.attributes:
            frame = data.distribution(attribute).reset_index()
            frame.columns = ["class", "count", "proportion"]
            frame.insert(0, "attribute", attribute)
            distributions.append(frame)
        distribution = pd.concat(distributions, ignore_index=True)
        distribution["class"] = distribution["class"].astype(str)
        imbalance = data.imbalance()
        joints = []
        for pair in combinations(self.attributes, 2):
            # the attribute with more classes down the rows: the figure stays legible
            rows, columns = sorted(pair, key=lambda a: -len(audit.attributes[a]))
            table = data.joint([rows, columns])
            joints.append(
                {
                    "title": f"{rows} x {columns}",
                    "table": frame_to_html(
                        table,
                        caption=f"Joint counts of {rows} (rows) x {columns} (columns)",
                        table_id=self._id(f"table-joint-{rows}-{columns}"),
                        heat_columns=list(table.columns),
                    ),
                    "figure": _figure(
                        plot_joint_heatmap(data, rows, columns),
                        alt=f"Heatmap of the joint counts of {rows} and {columns}",
                        caption=(
                            f"Joint counts of {rows} x {columns}; cells under "
                            f"{self.min_support} rows outlined in red."
                        ),
                    ),
                }
            )
        cells = data.cells()
        for attribute in self.attributes:
            cells[attribute] = cells[attribute].astype(str)
        return {
            "name": name,
            "n": data.n,
            "same_rows": same,
            "source": first,
            "distribution_table": frame_to_html(
                distribution,
                caption="Label distribution of the audited rows, per attribute",
                table_id="table-distribution",
                sortable=True,
            ),
            "distribution_figure": _figure(
                plot_distributions(data),
                alt="Bar charts of the share of each class of every attribute",
                caption="Share of each class (dashed line: a perfectly balanced attribute).",
            ),
            "imbalance_table": frame_to_html(
                imbalance,
                caption="Imbalance statistics of each attribute (see the glossary)",
                table_id="table-imbalance",
            ),
            "joints": joints,
            "cells_table": frame_to_html(
                cells,
                caption=(
                    f"Every intersectional cell: count, share, count expected under "
                    f"independence, representation; small = fewer than {self.min_support} rows"
                ),
                sortable=True,
                table_id="table-cells",
                row_classes=["small" if s else "" for s in cells["small"]],
            ),
        }

    # -- tasks
    def tasks(self) -> list[dict[str, Any]]:
        return [self.task(task) for task in self.audit.tasks]

    def task(self, task: str) -> dict[str, Any]:
        tid = self._id(f"task-{task}")
        out: dict[str, Any] = {"name": task, "id": tid, "classes": self.audit.tasks[task].classes}
        out["overall_table"] = self._overall(task, tid)
        out.update(self._groups(task, tid))
        out["per_class_table"] = self._per_class(task, tid)
        out["confusion"] = self._confusion(task, tid)
        out["heatmaps"] = [self._heatmap(task, tid, pair) for pair in self.heatmaps[task]]
        out["fairness"] = [self._fairness(task, tid, a) for a in self.attributes]
        out["calibration"] = self._calibration(task, tid)
        return out

    def _overall(self, task: str, tid: str) -> markupsafe.Markup:
        metrics = self.audit.metrics(task, min_support=self.min_support).iloc[0]
        boot = self.boot[
            (self.boot["task"] == task) & (self.boot["by"] == "") & (self.boot["class"] == "")
        ].set_index("metric")
        rows = [("support", float(metrics["support"]), np.nan, np.nan)]
        for metric in _OVERALL_METRICS:
            b = boot.loc[metric]
            rows.append((metric, float(metrics[metric]), float(b["lower"]), float(b["upper"])))
        frame = pd.DataFrame(rows, columns=["metric", "estimate", "CI low", "CI high"])
        frame["estimate"] = frame["estimate"].astype(object)
        frame.loc[0, "estimate"] = int(metrics["support"])
        return frame_to_html(
            frame,
            caption=f"Overall metrics of {task} (CI: {self.ci})",
            table_id=f"table-{tid}-overall",
            column_formats={"estimate": "{:.4f}"},
        )

    def _groups(self, task: str, tid: str) -> dict[str, Any]:
        tables, panels = [], []
        overall = float(self.audit.metrics(task, min_support=0)["accuracy"].iloc[0])
        for attribute in self.attributes:
            frame = self.audit.metrics(task, by=attribute, min_support=self.min_support)
            boot = _boot_rows(self.boot, task, (attribute,), "accuracy")
            names = self.audit.group_names(attribute)
            shown = pd.DataFrame({attribute: [str(v) for v in frame[attribute]]})
            for metric in _GROUP_METRICS:
                shown[metric] = frame[metric].to_numpy()
                if metric == "accuracy":
                    shown["accuracy CI low"] = boot.loc[names, "lower"].to_numpy()
                    shown["accuracy CI high"] = boot.loc[names, "upper"].to_numpy()
            shown["status"] = frame["status"].to_numpy()
            tables.append(
                frame_to_html(
                    shown,
                    caption=f"{task} by {attribute} (accuracy CI: {self.ci})",
                    table_id=self._id(f"table-{tid}-by-{attribute}"),
                    sortable=len(shown) > 8,
                    row_classes=_status_classes(shown["status"]),
                )
            )
            panels.append(
                (
                    attribute,
                    pd.DataFrame(
                        {
                            "group": names,
                            "estimate": frame["accuracy"].to_numpy(),
                            "lower": shown["accuracy CI low"].to_numpy(),
                            "upper": shown["accuracy CI high"].to_numpy(),
                            "small": (frame["status"] != "ok").to_numpy(),
                        }
                    ),
                )
            )
        result: dict[str, Any] = {"group_tables": tables, "group_figure": None}
        if panels:
            result["group_figure"] = _figure(
                plot_group_intervals(panels, title=f"{task}: accuracy per group", overall=overall),
                alt=f"Accuracy of {task} per group of each attribute, with intervals",
                caption=(
                    f"Accuracy of {task} per group with its {self.ci}; hollow red points: "
                    f"fewer than {self.min_support} rows; dashed line: overall accuracy."
                ),
            )
        if len(self.attributes) > 1:
            by = tuple(self.attributes)
            frame = self.audit.metrics(task, by=by, min_support=self.min_support)
            for attribute in by:
                frame[attribute] = frame[attribute].astype(str)
            result["intersection_table"] = frame_to_html(
                frame,
                caption=f"{task} in every intersectional slice ({' x '.join(by)})",
                table_id=self._id(f"table-{tid}-intersections"),
                sortable=True,
                row_classes=_status_classes(frame["status"]),
            )
        else:
            result["intersection_table"] = None
        return result

    def _per_class(self, task: str, tid: str) -> markupsafe.Markup:
        frame = self.audit.per_class(task, min_support=self.min_support)
        frame["class"] = frame["class"].astype(str)
        return frame_to_html(
            frame.drop(columns=["status"]),
            caption=f"Per-class scores of {task}, all rows (one-vs-rest)",
            table_id=f"table-{tid}-per-class",
        )

    def _confusion(self, task: str, tid: str) -> dict[str, Any]:
        panels = []
        matrix = self.audit.confusion_matrix(task)
        panels.append(("all rows", _plain_matrix(matrix)))
        for attribute in self.confusion_by:
            grouped = self.audit.confusion_matrix(task, by=attribute)
            for group in self.audit.attributes[attribute].classes:
                part = grouped.xs(group, level=attribute)
                panels.append((f"{attribute} = {group}", _plain_matrix(part)))
        tables = []
        for k, (name, counts) in enumerate(panels):
            shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
            tables.append(
                frame_to_html(
                    counts,
                    caption=(
                        f"Confusion counts of {task}, {name} (rows: true class, columns: "
                        "predicted class; colour: share of the true row)"
                    ),
                    table_id=f"table-{tid}-confusion-{k}",
                    heat_columns=list(counts.columns),
                    heat_values=shares,
                    heat_range=(0.0, 1.0),
                )
            )
        figure = _figure(
            plot_confusion_matrices(panels, title=f"{task}: confusion matrices (row shares)"),
            alt=f"Row-normalised confusion matrices of {task}, overall and per group",
            caption=(
                "Each cell: share of the true class's rows (rows: true, columns: predicted); "
                "the diagonal is each class's recall."
            ),
        )
        return {"overall_table": tables[0], "group_tables": tables[1:], "figure": figure}

    def _heatmap(self, task: str, tid: str, pair: tuple[str, str]) -> dict[str, Any]:
        rows, columns = pair
        values = self.audit.table(task, rows=rows, columns=columns, metric="accuracy")
        support = self.audit.table(task, rows=rows, columns=columns, metric="support")
        long = self.audit.metrics(task, by=pair, min_support=self.min_support)
        names = self.audit.group_names(pair)
        boot = _boot_rows(self.boot, task, pair, "accuracy")
        detail = pd.DataFrame(
            {
                rows: long[rows].astype(str).to_numpy(),
                columns: long[columns].astype(str).to_numpy(),
                "support": long["support"].to_numpy(),
                "accuracy": long["accuracy"].to_numpy(),
                "accuracy CI low": boot.loc[names, "lower"].to_numpy(),
                "accuracy CI high": boot.loc[names, "upper"].to_numpy(),
                "status": long["status"].to_numpy(),
            }
        )
        wide = values.copy()
        wide.index = pd.Index([str(v) for v in wide.index], name=rows)
        wide.columns = [str(c) for c in wide.columns]
        key = f"{rows}-{columns}"
        return {
            "title": f"{task} accuracy by {rows} x {columns}",
            "figure": _figure(
                plot_metric_heatmap(
                    values.rename(index=str, columns=str).rename_axis(index=rows, columns=columns),
                    support,
                    title=f"{task} accuracy by {rows} x {columns}",
                    min_support=self.min_support,
                ),
                alt=f"Heatmap of {task} accuracy by {rows} and {columns}",
                caption=(
                    f"{task} accuracy in each {rows} x {columns} cell; outlined in red: "
                    f"fewer than {self.min_support} rows; blank: no row."
                ),
            ),
            "table": frame_to_html(
                wide,
                caption=f"{task} accuracy by {rows} (rows) x {columns} (columns)",
                table_id=self._id(f"table-{tid}-heatmap-{key}"),
                heat_columns=list(wide.columns),
                heat_range=(0.0, 1.0),
            ),
            "detail_table": frame_to_html(
                detail,
                caption=f"{task} accuracy by {rows} x {columns} with n and {self.ci}",
                table_id=self._id(f"table-{tid}-heatmap-{key}-detail"),
                sortable=True,
                row_classes=_status_classes(detail["status"]),
            ),
        }

    def _fairness(self, task: str, tid: str, attribute: str) -> dict[str, Any]:
        own = is_own_attribute(self.audit, task, attribute)
        frame = self.fairness_of(task, attribute)
        if own:
            frame = frame[frame["metric"].str.startswith("accuracy_")]
        summary = frame[frame["class"] == "all"].copy()
        boot = self.boot[
            (self.boot["task"] == task)
            & (self.boot["by"] == attribute)
            & (self.boot["group"] == "all")
            & (self.boot["class"] == "all")
        ].set_index("metric")
        summary.insert(
            summary.columns.get_loc("value") + 1,
            "CI low",
            boot.loc[summary["metric"], "lower"].to_numpy(),
        )
        summary.insert(
            summary.columns.get_loc("CI low") + 1,
            "CI high",
            boot.loc[summary["metric"], "upper"].to_numpy(),
        )
        summary = summary.drop(columns=["task", "by", "class"])
        per_class = frame[frame["class"] != "all"].drop(columns=["task", "by", "from_class"])
        per_class["class"] = per_class["class"].astype(str)
        slug = f"{tid}-fairness-{attribute}"
        out: dict[str, Any] = {
            "attribute": attribute,
            "own": own,
            "summary_table": frame_to_html(
                summary,
                caption=(
                    f"Fairness of {task} between the {attribute} groups: worst class "
                    f"(from_class) of each metric, with its {self.ci}"
                ),
                table_id=self._id(f"table-{slug}"),
            ),
            "per_class_table": (
                frame_to_html(
                    per_class,
                    caption=f"Fairness of {task} between the {attribute} groups, per class",
                    table_id=self._id(f"table-{slug}-per-class"),
                    sortable=True,
                )
                if len(per_class)
                else None
            ),
            "tests_table": None,
            "four_fifths_table": None,
        }
        tests = self.significance_of(task, attribute)
        if tests is not None:
            if own:
                tests = tests[tests["rate"] == "accuracy"]
            tests = tests.drop(columns=["task", "by"])
            out["tests_table"] = frame_to_html(
                tests,
                caption=(
                    f"Significance of the gaps of {task} between the {attribute} groups "
                    "(chi2: all groups; z: lowest vs highest group; p_adjusted: Holm over "
                    "every test of this task x attribute)"
                ),
                table_id=self._id(f"table-{slug}-tests"),
                sortable=True,
                column_formats={"p_value": format_p_value, "p_adjusted": format_p_value},
                row_classes=["small" if s else "" for s in tests["small"]],
            )
        if not own:
            impact = self.audit.disparate_impact(task, by=attribute)
            impact["class"] = impact["class"].astype(str)
            out["four_fifths_table"] = frame_to_html(
                impact,
                caption=(
                    f"Four-fifths rule for {task} between the {attribute} groups: selection "
                    "rate / the reference group's (passes: ratio >= 0.8)"
                ),
                table_id=self._id(f"table-{slug}-four-fifths"),
                sortable=True,
                row_classes=[
                    "fail" if (not p and np.isfinite(r)) else ""
                    for p, r in zip(impact["passes"], impact["ratio"], strict=True)
                ],
            )
        return out

    def _calibration(self, task: str, tid: str) -> dict[str, Any] | None:
        if task not in self.audit.calibration_sums:
            return None
        tables = []
        overall = self.audit.calibration(task, min_support=self.min_support)
        tables.append(
            frame_to_html(
                overall,
                caption=f"Calibration of {task}, all rows",
                table_id=f"table-{tid}-calibration",
            )
        )
        for attribute in self.attributes:
            frame = self.audit.calibration(task, by=attribute, min_support=self.min_support)
            frame[attribute] = frame[attribute].astype(str)
            tables.append(
                frame_to_html(
                    frame,
                    caption=f"Calibration of {task} by {attribute}",
                    table_id=self._id(f"table-{tid}-calibration-{attribute}"),
                    row_classes=_status_classes(frame["status"]),
                )
            )
        curves = [("all rows", self.audit.reliability(task))]
        by = self.confusion_by[0] if self.confusion_by else None
        if by is not None:
            reliability = self.audit.reliability(task, by=by)
            for group in self.audit.attributes[by].classes:
                curves.append((f"{by} = {group}", reliability[reliability[by] == group]))
        figure = _figure(
            plot_reliability(curves, title=f"{task}: reliability"),
            alt=f"Reliability diagram of {task}"
            + (f", overall and per {by}" if by is not None else ""),
            caption=(
                f"Accuracy against mean confidence in each of the {self.audit.n_bins} "
                "confidence bins; the dashed diagonal is perfect calibration."
            ),
        )
        return {"tables": tables, "figure": figure}

    # -- regression, detection
    def regression(self) -> list[dict[str, Any]]:
        out = []
        for target in self.audit.regression:
            tables = [
                frame_to_html(
                    self.audit.regression_metrics(target, min_support=self.min_support),
                    caption=f"{target}: error of the predictions, all rows",
                    table_id=self._id(f"table-regression-{target}"),
                )
            ]
            for attribute in self.attributes:
                frame = self.audit.regression_metrics(
                    target, by=attribute, min_support=self.min_support
                )
                frame[attribute] = frame[attribute].astype(str)
                tables.append(
                    frame_to_html(
                        frame,
                        caption=f"{target} by {attribute}",
                        table_id=self._id(f"table-regression-{target}-{attribute}"),
                        row_classes=_status_classes(frame["status"]),
                    )
                )
            out.append({"target": target, "tables": tables})
        return out

    def detection(self) -> dict[str, Any] | None:
        audit = self.audit
        if not getattr(audit, "has_detection", False):
            return None
        groupings: list[tuple[str, ...]] = [(a,) for a in self.attributes]
        groupings += [p for p in combinations(self.attributes, 2)]
        if len(self.attributes) > 2:
            groupings.append(tuple(self.attributes))
        rate_tables, panels, gaps = [], [], []
        overall = audit.detection_rates(
            by=None, confidence=self.confidence, min_support=self.min_support
        )
        rate_tables.append(
            frame_to_html(
                overall,
                caption=f"Face detection rate, all faces ({self.level} Wilson interval)",
                table_id="table-detection-overall",
            )
        )
        for by in groupings:
            rates = audit.detection_rates(
                by=list(by), confidence=self.confidence, min_support=self.min_support
            )
            for attribute in by:
                rates[attribute] = rates[attribute].astype(str)
            name = " x ".join(by)
            rate_tables.append(
                frame_to_html(
                    rates,
                    caption=(f"Face detection rate by {name} ({self.level} Wilson interval)"),
                    table_id=self._id(f"table-detection-{'-'.join(by)}"),
                    sortable=len(rates) > 8,
                    row_classes=_status_classes(rates["status"]),
                )
            )
            if len(by) == 1:
                panels.append(
                    (
                        by[0],
                        pd.DataFrame(
                            {
                                "group": _group_label(rates, by),
                                "estimate": rates["rate"].to_numpy(dtype=float),
                                "lower": rates["ci_low"].to_numpy(dtype=float),
                                "upper": rates["ci_high"].to_numpy(dtype=float),
                                "small": (rates["status"] != "ok").to_numpy(),
                            }
                        ),
                    )
                )
            gap = audit.detection_gaps(by=list(by), min_support=self.min_support)
            gaps.append(gap)
        gap_frame = pd.concat(gaps, ignore_index=True) if gaps else pd.DataFrame()
        figure = None
        if panels:
            figure = _figure(
                plot_group_intervals(
                    panels,
                    title="Face detection rate per group",
                    overall=float(overall["rate"].iloc[0]),
                    metric="detection rate",
                ),
                alt="Face detection rate per group of each attribute, with intervals",
                caption=(
                    f"Share of faces detected per group with its {self.level} Wilson "
                    f"interval; hollow red points: fewer than {self.min_support} faces."
                ),
            )
        return {
            "rate_tables": rate_tables,
            "figure": figure,
            "gaps_table": frame_to_html(
                gap_frame,
                caption=(
                    "Detection gaps: lowest vs highest group of each grouping "
                    "(difference, ratio, p-value of the test between them)"
                ),
                table_id="table-detection-gaps",
                sortable=True,
                column_formats={"p_value": format_p_value},
            ),
        }

    # -- card, metadata
    def model_card(self, card: dict[str, Any] | None) -> dict[str, Any] | None:
        if card is None:
            return None
        facts: list[tuple[str, str]] = []

        def add(label: str, value: Any) -> None:
            if value not in (None, "", {}, []):
                facts.append((label, value if isinstance(value, str) else _text(value)))

        add("name", card.get("name"))
        add("architecture", card.get("arch"))
        add("parameters", card.get("parameters"))
        add("input size (px)", card.get("input_size"))
        tasks = card.get("tasks")
        if isinstance(tasks, list):
            add(
                "tasks",
                "; ".join(
                    f"{t.get('name')} ({t.get('kind', 'classification')}: "
                    f"{', '.join(str(c) for c in t.get('classes') or [])})"
                    for t in tasks
                    if isinstance(t, Mapping)
                ),
            )
        data = card.get("data")
        if isinstance(data, Mapping):
            for key, value in data.items():
                add(f"data: {key}", value)
        add("command", card.get("command"))
        add("seed", card.get("seed"))
        training = card.get("training")
        if isinstance(training, Mapping):
            for key, value in training.items():
                add(f"training: {key}", value)
        add("machine", card.get("machine"))
        add("library version", card.get("library_version"))
        reference = card.get("reference")
        if isinstance(reference, Mapping):
            add("reference", reference.get("source"))
        evaluation = None
        ev = card.get("evaluation")
        if isinstance(ev, Mapping) and isinstance(ev.get("metrics"), Mapping):
            figures = reference.get("figures", {}) if isinstance(reference, Mapping) else {}
            rows = []
            for task, m in ev["metrics"].items():
                if not isinstance(m, Mapping):
                    continue
                rows.append(
                    {
                        "task": str(task),
                        "metric": str(m.get("metric", "")),
                        "estimate": _number(m.get("estimate")),
                        "CI low": _number(m.get("lower")),
                        "CI high": _number(m.get("upper")),
                        "n": _number(m.get("n")),
                        "published reference": _number((figures or {}).get(task)),
                    }
                )
            if rows:
                level = ev.get("confidence")
                evaluation = frame_to_html(
                    pd.DataFrame(rows),
                    caption=(
                        "Evaluation figures of the model card"
                        + (f" ({_text(level)} bootstrap interval)" if level is not None else "")
                    ),
                    table_id="table-model-card-evaluation",
                    column_formats={c: "{:.4f}" for c in ("estimate", "CI low", "CI high")},
                )
        return {
            "name": str(card.get("name", "")),
            "facts": _key_value_table(facts, caption="Model card", table_id="table-model-card"),
            "evaluation": evaluation,
            "notes": str(card.get("notes") or ""),
        }

    def metadata(self) -> dict[str, Any]:
        audit = self.audit
        rows = _flatten(audit.metadata)
        audit_rows = [
            ("rows audited", f"{audit.n_rows:,}"),
            (
                "tasks",
                "; ".join(f"{t} ({', '.join(v.classes)})" for t, v in audit.tasks.items())
                or "none (a detector audit)",
            ),
            (
                "attributes",
                "; ".join(f"{a} ({', '.join(v.classes)})" for a, v in audit.attributes.items())
                or "none (one overall slice)",
            ),
            ("calibration statistics", ", ".join(audit.calibration_sums) or "none"),
            (
                "detector audit",
                (
                    "{:,} of {:,} images with a face detected".format(
                        *reversed(np.asarray(audit.detection).sum(axis=0).astype(int).tolist())
                    )
                    if getattr(audit, "has_detection", False)
                    else "none"
                ),
            ),
            ("regression targets", ", ".join(audit.regression) or "none"),
            ("confidence bins", str(audit.n_bins)),
        ]
        report_rows = [
            ("report generated", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")),
            ("report library version", f"fairaudit {__version__}"),
            ("bootstrap replicates", f"{self.n_resamples:,}"),
            ("confidence level", self.level),
            ("bootstrap seed (random_state)", str(self.random_state)),
            ("min_support (small slices)", str(self.min_support)),
            ("confusion matrices by", ", ".join(self.confusion_by) or "none"),
        ]
        return {
            "audit_table": _key_value_table(
                audit_rows, caption="What was audited", table_id="table-audit"
            ),
            "metadata_table": _key_value_table(
                rows, caption="Audit metadata (as saved with the audit)", table_id="table-metadata"
            ),
            "report_table": _key_value_table(
                report_rows, caption="Report settings", table_id="table-report-settings"
            ),
        }

    def _id(self, text: str) -> str:
        return _slug(text, self.ids)


def task_random_state(random_state: int | None, index: int) -> np.random.Generator:
    """The generator that resamples the ``index``-th task (in audit order) of a report.

    ``numpy.random.default_rng([random_state, index])``: the same seed gives the same
    intervals, and tasks draw independent streams. ``None``: fresh entropy.
    """
    if random_state is None:
        return np.random.default_rng()
    return np.random.default_rng([int(random_state), index])


def _plain_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.to_numpy(), columns=[str(c) for c in frame.columns])
    out.index = pd.Index([str(v) for v in frame.index.get_level_values(-1)], name="true \\ pred")
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ------------------------------------------------------------------ public API
def render_report(
    audit: AuditResult,
    *,
    title: str | None = None,
    model_card: Mapping[str, Any] | None = None,
    confusion_by: Sequence[str] = ("gender",),
    heatmaps: Mapping[str, Sequence[Sequence[str]]] | Sequence[Sequence[str]] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | None = 0,
    min_support: int = 30,
) -> str:
    """Render the self-contained HTML bias report of an audit.

    Parameters
    ----------
    audit : AuditResult
        The audit (e.g. :meth:`AuditResult.load` of a saved one).
    title : str, optional
        Title of the page (default: "Bias audit" and the audit's description).
    model_card : mapping, optional
        A model card (:func:`fairaudit.models.shipped_model_card`). Default: the
        card of the shipped model named by ``audit.metadata["model"]``, if any.
    confusion_by : sequence of str, default=("gender",)
        Attributes whose groups each get a confusion matrix (beside the overall one)
        and a reliability curve (the first attribute).
    heatmaps : sequence of (str, str) or mapping of task to them, optional
        Attribute pairs (rows, columns) of the accuracy heatmaps, for every task or
        per task. Default: :func:`default_heatmaps` (gender accuracy by age x race,
        age accuracy by gender x race, race accuracy by gender x age).
    n_resamples : int, default=1000
        Bootstrap replicates of the intervals.
    confidence : float, default=0.95
        Level of the bootstrap intervals.
    random_state : int, optional, default=0
        Bootstrap seed; task ``i`` is resampled by :func:`task_random_state`.
        ``None``: different intervals at each call.
    min_support : int, default=30
        Slices with fewer rows are marked "small" (too few to judge) and listed.

    Returns
    -------
    str
        The HTML document. Every user-provided text (names, metadata, title, card)
        is escaped.

    Raises
    ------
    DataValidationError
        If the audit has no task or no row, if ``confusion_by`` or ``heatmaps`` name
        attributes the audit does not have, or if the model card's tasks do not match.
    """
    if not isinstance(audit, AuditResult):
        raise DataValidationError(f"render_report takes an AuditResult, not {type(audit).__name__}")
    has_detection = bool(getattr(audit, "has_detection", False))
    if not audit.tasks and not has_detection:
        raise DataValidationError(
            "the audit has no task and no detector audit: there is nothing to report"
        )
    n_rows = audit.n_rows if audit.tasks else int(np.asarray(audit.detection)[:, 0].sum())
    if n_rows == 0:
        raise DataValidationError("the audit has no row: there is nothing to report")
    if isinstance(confusion_by, str):
        confusion_by = (confusion_by,)
    _check_attributes(audit, list(confusion_by), "confusion_by")
    if not isinstance(min_support, int | np.integer) or min_support < 0:
        raise DataValidationError(
            f"min_support must be a non-negative integer, got {min_support!r}"
        )
    if random_state is not None and (
        not isinstance(random_state, int | np.integer) or random_state < 0
    ):
        raise DataValidationError(
            f"random_state must be a non-negative integer or None, got {random_state!r}"
        )
    resolved_heatmaps = _resolve_heatmaps(audit, heatmaps)
    card = resolve_model_card(audit, model_card)
    description = str(audit.metadata.get("description") or "")
    if title is None:
        title = f"Bias audit: {description}" if description else "Bias audit"
    with warnings.catch_warnings(), plain_text_labels():
        warnings.simplefilter("ignore", SmallSliceWarning)
        builder = _Builder(
            audit,
            confusion_by=list(confusion_by),
            heatmaps=resolved_heatmaps,
            n_resamples=int(n_resamples),
            confidence=float(confidence),
            random_state=None if random_state is None else int(random_state),
            min_support=int(min_support),
        )
        context = {
            "title": str(title),
            "description": description,
            "audit": audit,
            "n_rows": n_rows,
            "ci": builder.ci,
            "level": builder.level,
            "min_support": builder.min_support,
            "n_resamples": builder.n_resamples,
            "summary": builder.summary(),
            "dataset": builder.dataset(),
            "tasks": builder.tasks(),
            "regression": builder.regression(),
            "detection": builder.detection(),
            "card": builder.model_card(card),
            "metadata": builder.metadata(),
            "glossary": glossary_entries(),
            "library_version": __version__,
        }
    return environment().get_template("report.html.j2").render(**context)


def write_report(audit: AuditResult, path: str | os.PathLike[str], **options: Any) -> Path:
    """Render the report (:func:`render_report`, same options) and write it atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    html = render_report(audit, **options)
    return atomic_write_text(Path(path), html)
