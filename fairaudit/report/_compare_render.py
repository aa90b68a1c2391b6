"""The HTML report of a model-version comparison (:class:`fairaudit.compare.Comparison`).

Rendering only: every number comes from ``comparison.changes`` (and the audits'
metadata). The page extends ``base.html.j2``: one self-contained file, tables
escaped by :func:`~fairaudit.report._html.frame_to_html`, every other value by the
template's autoescaping, sortable tables, no request of any kind.

Order: the verdict first (:func:`fairaudit.compare._verdict.comparison_verdict`:
three to five sentences, the overall change per task, the supported changes of the
gaps between groups, the largest supported slice regressions); then, per candidate
and task, the overall accuracy change, the paired dot chart of the groups and the
changes of the gaps between groups; then the findings, in the order of
:meth:`Comparison.finding_table`: per candidate, the overall change of each task
(with its interval, significant or not), a compact table of the supported changes
of the gaps between groups (per task and attribute, regressions first), the slice
findings with the largest lower bound, then the rest of the findings, ranked, and
every significant change behind disclosures, and the plain statement of whether each
comparison is paired; then, per task, the overall metrics side by side, the gaps,
the per-slice changes; then the versions' metadata and how to read the numbers.

Nothing above the disclosures rests on a group under ``settings["min_support"]``
rows: a gap or slice finding whose smallest group is smaller is only listed with
the rest (and in the full tables).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import markupsafe
import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.compare._verdict import comparison_verdict, supported_findings
from fairaudit.compare._wording import level_text
from fairaudit.functional._registry import CLASS_METRICS, GAP_METRICS, SLICE_METRICS
from fairaudit.report._charts import ChartRow, paired_dot_chart
from fairaudit.report._html import (
    environment,
    format_interval,
    format_number,
    frame_to_html,
    short_description,
)

if TYPE_CHECKING:
    from fairaudit.compare import Comparison

__all__ = ["render_comparison", "write_comparison_report"]

#: Metrics of the per-slice tables, names of the :mod:`fairaudit.functional` registry:
#: the slices' accuracy and the per-class recall (other metrics' significant changes
#: are listed with the findings, and every row is in ``Comparison.save``'s JSON).
DEFAULT_SLICE_METRICS = (SLICE_METRICS["accuracy"].name, CLASS_METRICS["recall"].name)

_METADATA_KEYS = ("model", "description", "created", "library_version", "n_rows", "data")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "task"


def _points(value: float) -> float:
    return value * 100 if np.isfinite(value) else float("nan")


def _number(value: float) -> str:
    """Table cells: 3 decimals, scientific notation for tiny p-values (``1.2e-05``)."""
    return f"{value:.1e}" if 0 < abs(value) < 1e-3 else f"{value:.3f}"


def _change_text(change: float, low: float, high: float, metric: str = "") -> str:
    """``"2.1 [0.4, 3.9] pts"``: a change of a proportion and its interval in points.

    A ratio (``min / max`` of two rates) is not a proportion: its change is written
    as a signed ratio, ``"+0.183 [0.086, 0.324]"``.
    """
    if not np.isfinite(change):
        return "n/a"
    if _is_ratio(metric):
        return _signed_interval(change, low, high)
    return format_interval(_points(change), _points(low), _points(high), digits=1) + " pts"


def _is_ratio(metric: str) -> bool:
    spec = GAP_METRICS.get(metric)
    return spec is not None and spec.gap_kind == "ratio"


def _side_by_side(
    changes: pd.DataFrame, names: Sequence[str], *, caption: str
) -> markupsafe.Markup:
    """One row per metric (and grouping): each version's value, each candidate's change."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in changes.to_dict(orient="records"):
        grouped.setdefault((record["by"], record["metric"], record["class"]), []).append(record)
    with_class = any(key[2] for key in grouped)
    rows, classes = [], []
    for (by, metric, cls), items in grouped.items():
        row: dict[str, Any] = {"by": by, "metric": metric}
        if with_class:
            row["class"] = cls
        row["n"] = min(item["n"] for item in items)
        row[names[0]] = items[0]["value_a"]
        for item in items:
            row[item["candidate"]] = item["value_b"]
        for item in items:
            # one candidate: short headers (the caption names the versions)
            prefix = f"{item['candidate']}: " if len(names) > 2 else ""
            row[f"{prefix}change [CI]"] = _change_text(
                item["change"], item["ci_low"], item["ci_high"], metric
            )
            row[f"{prefix}p (BH)"] = item["p_adjusted"]
            row[f"{prefix}test"] = item["test"]
            row[f"{prefix}direction"] = item["direction"]
        rows.append(row)
        if any(i["direction"] == "regressed" for i in items):
            classes.append("fail")
        else:
            classes.append("small" if any(i["status"] != "ok" for i in items) else "")
    versions = f" ({names[0]}: baseline; change: {', '.join(names[1:])} minus baseline)"
    return frame_to_html(
        pd.DataFrame(rows),
        caption=caption + versions,
        sortable=True,
        row_classes=classes,
        float_format=_number,
    )


def _slice_table(changes: pd.DataFrame, *, caption: str, many: bool) -> markupsafe.Markup:
    texts = [
        _change_text(c, lo, hi, m)
        for c, lo, hi, m in zip(
            changes["change"].to_numpy(),
            changes["ci_low"].to_numpy(),
            changes["ci_high"].to_numpy(),
            changes["metric"].to_numpy(),
            strict=True,
        )
    ]
    columns = ["by", "slice", "class", "metric", "n", "value_a", "value_b"]
    columns += ["change [CI]", "p_value", "p_adjusted", "test", "direction"]
    if many:
        columns.insert(0, "candidate")
    frame = changes.assign(**{"change [CI]": texts})[columns]
    frame = frame.rename(columns={"value_a": "baseline", "value_b": "candidate value"})
    classes = [
        "fail" if d == "regressed" else ("small" if s != "ok" else "")
        for d, s in zip(changes["direction"], changes["status"], strict=True)
    ]
    return frame_to_html(
        frame.reset_index(drop=True),
        caption=caption,
        sortable=True,
        row_classes=classes,
        float_format=_number,
        css_class="wide",
    )


def _gap_text(value_a: float, value_b: float) -> str:
    """``"0.157 → 0.366"``: a gap's baseline and candidate values."""
    return f"{format_number(value_a)} \u2192 {format_number(value_b)}"


def _signed_interval(change: float, low: float, high: float) -> str:
    """``"+0.209 [0.109, 0.273]"``: a gap's change and its interval, as values."""
    if not np.isfinite(change):
        return "n/a"
    return f"{change:+.3f} [{format_number(low)}, {format_number(high)}]"


def _gap_findings_table(
    comparison: Comparison, gaps: pd.DataFrame, *, candidate: str
) -> markupsafe.Markup:
    """One row per gap finding (task and attribute): the lead gap, the others told.

    ``gaps``: the findings to table (the report's first screen gives the supported ones).
    """
    changes = comparison.changes
    rows, classes = [], []
    for finding in gaps.itertuples(index=False):
        told = changes.loc[list(finding.rows)]
        others = [
            f"{label} {_gap_text(r.value_a, r.value_b)} ({r.direction})"
            for label, r in zip(finding.labels[1:], told.iloc[1:].itertuples(), strict=True)
        ]
        rows.append(
            {
                "task": finding.task,
                "attribute": finding.by,
                "gap metric": finding.labels[0],
                "baseline \u2192 candidate": _gap_text(finding.value_a, finding.value_b),
                "change [CI]": _signed_interval(finding.change, finding.ci_low, finding.ci_high),
                "p (BH)": finding.p_adjusted,
                "direction": finding.direction,
                "other significant gaps": "; ".join(others) or "none",
                "n (smallest group)": finding.n,
            }
        )
        classes.append(
            "fail"
            if finding.direction == "regressed"
            else ("small" if finding.n < comparison.settings["min_support"] else "")
        )
    versus = f"{candidate} vs {comparison.baseline}: " if len(comparison.candidates) > 1 else ""
    return frame_to_html(
        pd.DataFrame(rows),
        caption=versus + "Supported changes of the gaps between the groups of each attribute, "
        "per task (lower differences and higher ratios are fairer; regressions first, in red)",
        table_id=f"finding-gaps-{_slug(candidate)}",
        row_classes=classes,
        float_format=_number,
    )


def _finding_blocks(
    comparison: Comparison, n_slices: int, tables: Mapping[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """Per candidate: the overall findings, the supported gap changes, the top slices.

    The gap and slice findings shown resting on at least ``min_support`` rows
    (:func:`~fairaudit.compare._verdict.supported_findings`); every other finding is
    in ``"rest"``, in the table's order.
    """
    min_support = comparison.settings["min_support"]
    blocks = []
    for candidate in comparison.candidates:
        table = tables[candidate]
        rows = comparison.changes[comparison.changes["candidate"] == candidate]
        ok = supported_findings(table, min_support)
        gaps = table[table["block"] == "gap"]
        shown_gaps = gaps[ok[gaps.index]]
        slices = table[table["block"] == "slice"]
        shown_slices = slices[ok[slices.index]].head(n_slices)
        shown = (table["block"] == "overall") | table.index.isin(shown_gaps.index)
        shown |= table.index.isin(shown_slices.index)
        blocks.append(
            {
                "candidate": candidate,
                "id": _slug(candidate),
                "overall": table.loc[table["block"] == "overall", "sentence"].tolist(),
                "gaps": _gap_findings_table(comparison, shown_gaps, candidate=candidate)
                if len(shown_gaps)
                else None,
                "slices": shown_slices["sentence"].tolist(),
                "rest": table.loc[~shown, "sentence"].tolist(),
                "n_findings": len(table),
                "n_gaps": len(gaps),
                "n_gap_changes": int((gaps["direction"] != "no clear change").sum()),
                "n_slices": len(slices),
                "n_significant": int(rows["significant"].sum()),
                "n_compared": len(rows),
            }
        )
    return blocks


def _glance(
    comparison: Comparison, attributes: Sequence[str], tables: Mapping[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """Per candidate and task: the overall accuracy change, the gap changes, the chart.

    The gap changes listed rest on groups of at least ``min_support`` rows.
    """
    changes = comparison.changes
    min_support = comparison.settings["min_support"]
    gap_lines: dict[tuple[str, str], list[dict[str, str]]] = {}
    for candidate in comparison.candidates:
        table = tables[candidate]
        # a gap whose smallest group is under the support floor is left to the tables
        gaps = table[(table["block"] == "gap") & (table["n"] >= min_support)]
        for f in gaps.itertuples(index=False):
            gap_lines.setdefault((candidate, f.task), []).append(
                {
                    "text": f"{f.labels[0]} between {f.by} groups: "
                    f"{_gap_text(f.value_a, f.value_b)} "
                    f"({_signed_interval(f.change, f.ci_low, f.ci_high)})",
                    "direction": f.direction,
                }
            )
    out = []
    for candidate in comparison.candidates:
        mine = changes[(changes["candidate"] == candidate) & (changes["kind"] == "slice")]
        for task in comparison.settings["tasks"]:
            rows = mine[(mine["task"] == task) & (mine["metric"] == "accuracy")]
            overall = rows[rows["by"] == "overall"]
            if overall.empty:
                continue
            o = overall.iloc[0]
            panels = []
            for attribute in attributes:
                part = rows[rows["by"] == attribute]
                panels.append(
                    (
                        attribute,
                        [
                            ChartRow(
                                group=str(r.slice),
                                estimate=float(r.value_a),
                                other=float(r.value_b),
                                n=int(r.n),
                                small=r.status != "ok",
                                direction=r.direction if r.significant else "",
                            )
                            for r in part.itertuples(index=False)
                        ],
                    )
                )
            chart = paired_dot_chart(
                panels,
                label=f"{task} accuracy per group: {comparison.baseline} to {candidate}",
                metric=f"{task} accuracy",
                names=(comparison.baseline, candidate),
            )
            out.append(
                {
                    "candidate": candidate,
                    "task": task,
                    "id": f"glance-{_slug(candidate)}-{_slug(task)}",
                    "before": format_number(o["value_a"]),
                    "after": format_number(o["value_b"]),
                    "change": _signed_interval(o["change"], o["ci_low"], o["ci_high"]),
                    "direction": o["direction"],
                    "test": o["test"],
                    "level": level_text(o["level"]),
                    "chart": chart if any(p[1] for p in panels) else None,
                    "gaps": gap_lines.get((candidate, task), []),
                }
            )
    return out


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, Mapping):
        out: list[tuple[str, str]] = []
        for key, value in obj.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(obj, list | tuple):
        return [(prefix, json.dumps(obj, default=str))]
    return [(prefix, "" if obj is None else str(obj))]


def _versions_table(comparison: Comparison) -> markupsafe.Markup:
    keys: list[str] = []
    values: dict[str, dict[str, str]] = {}
    for name, audit in zip(comparison.names, comparison.audits, strict=True):
        flat = dict(_flatten(audit.metadata))
        flat.setdefault("n_rows", str(audit.n_rows))
        values[name] = flat
        for key in flat:
            if key not in keys:
                keys.append(key)
    # the well-known keys first
    keys = [k for k in _METADATA_KEYS if k in keys] + [k for k in keys if k not in _METADATA_KEYS]
    frame = pd.DataFrame(
        {name: [values[name].get(k, "") for k in keys] for name in comparison.names},
        index=pd.Index(keys, name="metadata"),
    )
    return frame_to_html(frame, caption="Metadata of each audited version", index=True)


def _pairs_table(comparison: Comparison) -> markupsafe.Markup | None:
    if not comparison.paired:
        return None
    rows = []
    for candidate, pairs in comparison.paired.items():
        join = pairs.metadata.get("join", {})
        for role, name in zip("ab", (comparison.baseline, candidate), strict=True):
            part = join.get(role, {}) if isinstance(join, Mapping) else {}
            rows.append(
                {
                    "comparison": f"{candidate} vs {comparison.baseline}",
                    "version": name,
                    "paired rows": pairs.n_rows,
                    "prediction rows": part.get("prediction_rows", np.nan),
                    "unreadable (left out)": part.get("unreadable_rows", np.nan),
                    "without a label row (left out)": part.get("rows_without_label", np.nan),
                    "not predicted by the other version (left out)": part.get(
                        "rows_not_in_other", np.nan
                    ),
                }
            )
    return frame_to_html(pd.DataFrame(rows), caption="Rows paired, and rows left out and why")


def render_comparison(
    comparison: Comparison,
    *,
    title: str | None = None,
    slice_metrics: Sequence[str] = DEFAULT_SLICE_METRICS,
    n_findings: int = 10,
) -> str:
    """Render a comparison as one self-contained HTML page.

    Parameters
    ----------
    comparison : Comparison
        The result of :func:`fairaudit.compare.compare_audits`.
    title : str, optional
        Page title (default: ``"Model comparison: A vs B"``).
    slice_metrics : sequence of str, default=("accuracy", "recall")
        Metrics of the per-slice tables (all slices and classes); significant
        changes of every metric are listed in the findings and the table of
        significant changes.
    n_findings : int, default=10
        Slice findings shown with the findings, per candidate (after the overall
        findings and the supported gap changes, all shown), of those resting on at
        least ``min_support`` rows; the other findings are listed, ranked, behind a
        disclosure, and the table of significant changes has every row.

    Returns
    -------
    str
        The HTML document.
    """
    changes = comparison.changes
    names = comparison.names
    many = len(names) > 2
    level = f"{comparison.settings['confidence'] * 100:g}%"  # the false discovery rate's
    fdr = f"{(1 - comparison.settings['confidence']) * 100:g}%"
    data_name = short_description(str(comparison.audits[0].metadata.get("description") or ""))
    title = title or (
        f"Model comparison: {' vs '.join(names)}" + (f" on {data_name}" if data_name else "")
    )
    significant = changes[changes["significant"]]
    # the smallest size of the change its interval allows, largest first
    bound = np.where(significant["change"] > 0, significant["ci_low"], -significant["ci_high"])
    significant = significant.iloc[np.argsort(-bound, kind="stable")]
    tasks = []
    for task in comparison.settings["tasks"]:
        rows = changes[changes["task"] == task]
        overall = rows[(rows["by"] == "overall") & (rows["kind"] != "gap")]
        gaps = rows[rows["kind"] == "gap"]
        slices = rows[(rows["by"] != "overall") & rows["metric"].isin(list(slice_metrics))]
        slices = slices[slices["kind"] != "gap"]
        tasks.append(
            {
                "name": task,
                "id": f"task-{_slug(task)}",
                "overall": _side_by_side(
                    overall,
                    names,
                    caption=f"{task}: overall metrics, side by side (n: rows behind the value)",
                )
                if len(overall)
                else None,
                "gaps": _side_by_side(
                    gaps,
                    names,
                    caption=f"{task}: gaps between groups (lower differences, higher ratios "
                    "are fairer; n: rows of the smallest group, never flagged under "
                    f"{comparison.settings['min_support']})",
                )
                if len(gaps)
                else None,
                "slices": _slice_table(
                    slices,
                    caption=f"{task}: changes per slice ({', '.join(slice_metrics)})",
                    many=many,
                )
                if len(slices)
                else None,
                "n_slices": len(slices),
            }
        )
    summary = comparison.summary()
    # the findings of each candidate, ranked once (the first screen and the findings)
    findings = {c: comparison.finding_table(candidate=c) for c in comparison.candidates}
    template = environment().get_template("compare.html.j2")
    return template.render(
        title=title,
        verdict=comparison_verdict(
            comparison, findings=pd.concat(list(findings.values()), ignore_index=True)
        ),
        names=names,
        baseline=comparison.baseline,
        candidates=comparison.candidates,
        n_rows=comparison.audits[0].n_rows,
        library_version=__version__,
        level=level,
        fdr=fdr,
        settings=comparison.settings,
        notes=comparison.pairing_notes(),
        any_unpaired=any(c not in comparison.paired for c in comparison.candidates),
        blocks=_finding_blocks(comparison, n_findings, findings),
        glance=_glance(comparison, list(comparison.audits[0].attributes), findings),
        n_significant=len(significant),
        summary_table=frame_to_html(
            summary, caption="Changes per candidate and task", table_id="table-summary"
        ),
        significant_table=_slice_table(
            significant,
            caption=f"Every significant change ({len(significant)} rows of the changes table, "
            "largest lower bound of the change first)",
            many=many,
        )
        if len(significant)
        else None,
        tasks=tasks,
        versions_table=_versions_table(comparison),
        pairs_table=_pairs_table(comparison),
    )


def write_comparison_report(
    comparison: Comparison, path: str | os.PathLike[str], **options: Any
) -> Path:
    """Render the comparison (:func:`render_comparison`, same options) and write it atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    return atomic_write_text(Path(path), render_comparison(comparison, **options))
