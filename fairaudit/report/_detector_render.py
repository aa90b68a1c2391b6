"""The detector comparison report: each detector's detection rate per group, paired.

One self-contained HTML page from :class:`fairaudit.model_audit.DetectorPairs` (the
detectors run on the same images). The first screen: each detector's detection
rate with its exact interval and its largest gap between groups, the paired
difference of every detector from the baseline with Newcombe's interval and the
exact McNemar test, and two figures per attribute: the detection rate per group
(one panel per detector, one shared axis) and the paired difference per group.
Then every table. Nothing here computes a statistic: every number comes from
``DetectorPairs.rates`` / ``compare`` and :func:`fairaudit.functional.detection_gap`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.compare import DetectorPairs
from fairaudit.exceptions import DataValidationError
from fairaudit.functional._detection import detection_gap
from fairaudit.model_audit._result import DEFAULT_MIN_SUPPORT
from fairaudit.report._charts import ChartRow, dot_interval_chart
from fairaudit.report._html import (
    environment,
    format_interval,
    format_p_value,
    frame_to_html,
    short_description,
)

__all__ = ["render_detector_report", "write_detector_report"]


def _percent(value: float, digits: int = 1) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.{digits}f}%"


def _points(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:+.1f} points"


def _interval_points(low: float, high: float) -> str:
    return f"[{100 * low:+.1f}, {100 * high:+.1f}]"


def _group_names(frame: pd.DataFrame, attribute: str) -> list[str]:
    return frame[attribute].astype(str).tolist()


def _chart_rows(
    overall: pd.Series, table: pd.DataFrame, attribute: str, value: str, min_support: int
) -> list[ChartRow]:
    """The "all faces" row, then each non-empty group: ``value`` with ``ci_low``/``ci_high``."""
    rows = [
        ChartRow(
            group="all faces",
            estimate=float(overall[value]),
            lower=float(overall["ci_low"]),
            upper=float(overall["ci_high"]),
            n=int(overall["n"]),
        )
    ]
    for group, (_, row) in zip(_group_names(table, attribute), table.iterrows(), strict=True):
        if row["n"] == 0:
            continue
        rows.append(
            ChartRow(
                group=group,
                estimate=float(row[value]),
                lower=float(row["ci_low"]),
                upper=float(row["ci_high"]),
                n=int(row["n"]),
                small=int(row["n"]) < min_support,
            )
        )
    return rows


def _gap_text(rates: pd.DataFrame, attribute: str, min_support: int) -> dict[str, Any]:
    """The largest detection gap of one detector between the groups of ``attribute``."""
    gap = detection_gap(
        rates["n"].to_numpy(), rates["detected"].to_numpy(), min_support=min_support
    )
    names = _group_names(rates, attribute)
    if gap.n_groups < 2:
        return {"attribute": attribute, "text": f"{attribute}: fewer than two groups judged"}
    return {
        "attribute": attribute,
        "difference": gap.difference,
        "p_value": gap.p_value,
        "text": (
            f"{attribute} {_percent(gap.low_rate)} ({names[gap.low]}) to "
            f"{_percent(gap.high_rate)} ({names[gap.high]}), gap {100 * gap.difference:.1f} "
            f"points, p {format_p_value(gap.p_value)}"
        ),
    }


def render_detector_report(
    pairs: DetectorPairs,
    *,
    title: str | None = None,
    baseline: str | None = None,
    confidence: float = 0.95,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> str:
    """Render the comparison of face detectors on the same images as one HTML page.

    Parameters
    ----------
    pairs : DetectorPairs
        The detectors' joint outcomes per cell
        (:func:`fairaudit.model_audit.detector_pairs`, or a saved ``detector-pairs.json``).
    title : str, optional
        Page title (default: ``"Face detectors compared: A, B, C on DATA"``).
    baseline : str, optional
        The detector every other one is compared with in the figures (default: the
        first); the tables hold every pair.
    confidence : float, default=0.95
        Level of the rates' exact intervals and the paired differences' Newcombe intervals.
    min_support : int, default=30
        Groups with fewer faces are drawn hollow and take no part in the gaps.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    DataValidationError
        Fewer than two detectors, an unknown ``baseline``, or ``confidence``
        outside (0, 1).
    """
    detectors = list(pairs.detectors)
    if len(detectors) < 2:
        raise DataValidationError(
            f"a detector comparison needs at least two detectors, got {detectors}"
        )
    baseline = detectors[0] if baseline is None else baseline
    if baseline not in detectors:
        raise DataValidationError(f"baseline {baseline!r} is not one of the detectors {detectors}")
    if not 0 < confidence < 1:
        raise DataValidationError(f"confidence must lie in (0, 1), got {confidence}")
    others = [d for d in detectors if d != baseline]
    level = f"{confidence * 100:g}%"
    attributes = list(pairs.attributes)
    source = str(pairs.metadata.get("data") or pairs.metadata.get("source") or "")
    data_name = short_description(source) if source else ""
    on_data = f" on {data_name}" if data_name else ""
    title = title or f"Face detectors compared: {', '.join(detectors)}{on_data}"

    overall = pairs.rates(confidence=confidence).set_index("detector")
    by_attribute = {a: pairs.rates(by=a, confidence=confidence) for a in attributes}
    paired_overall = pairs.comparisons(confidence=confidence)
    paired_by = {a: pairs.comparisons(by=a, confidence=confidence) for a in attributes}

    headline = []
    for name in detectors:
        row = overall.loc[name]
        headline.append(
            {
                "detector": name,
                "rate": format_interval(row["rate"], row["ci_low"], row["ci_high"]),
                "percent": _percent(row["rate"]),
                "interval": f"[{_percent(row['ci_low'])}, {_percent(row['ci_high'])}]",
                "n": int(row["n"]),
                "gaps": [
                    _gap_text(by_attribute[a][by_attribute[a]["detector"] == name], a, min_support)
                    for a in attributes
                ],
            }
        )
    differences = []
    for name in others:
        row = pairs.compare(baseline, name, confidence=confidence).iloc[0]
        significant = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
        differences.append(
            {
                "detector": name,
                "direction": ("more" if row["difference"] > 0 else "fewer")
                if significant
                else "no clear difference",
                "text": (
                    f"{name} minus {baseline}: {_points(row['difference'])} "
                    f"{_interval_points(row['ci_low'], row['ci_high'])} ({level} Newcombe "
                    f"interval; McNemar exact p {format_p_value(row['p_mcnemar'])}; "
                    f"{int(row['b_only']):,} faces found only by {name}, "
                    f"{int(row['a_only']):,} only by {baseline})"
                ),
            }
        )

    figures = []
    for attribute in attributes:
        rates = by_attribute[attribute]
        rate_panels = [
            (
                name,
                _chart_rows(
                    overall.loc[name],
                    rates[rates["detector"] == name],
                    attribute,
                    "rate",
                    min_support,
                ),
            )
            for name in detectors
        ]
        diff_panels = [
            (
                f"{name} - {baseline}",
                _chart_rows(
                    pairs.compare(baseline, name, confidence=confidence).iloc[0],
                    pairs.compare(baseline, name, by=attribute, confidence=confidence),
                    attribute,
                    "difference",
                    min_support,
                ),
            )
            for name in others
        ]
        figures.append(
            {
                "attribute": attribute,
                "id": f"detectors-by-{attribute}",
                "rates": dot_interval_chart(
                    rate_panels,
                    label=f"Detection rate per {attribute}, one panel per detector",
                    metric="detection rate",
                    interval=f"({level} exact interval)",
                ),
                "differences": dot_interval_chart(
                    diff_panels,
                    label=f"Paired difference of detection rate per {attribute}",
                    metric=f"difference from {baseline}",
                    overall=0.0,
                    overall_label="no difference",
                    interval=f"({level} Newcombe interval, same images)",
                    clip=(-1.0, 1.0),
                ),
            }
        )

    tables = [
        frame_to_html(
            overall.reset_index()[["detector", "n", "detected", "rate", "ci_low", "ci_high"]],
            caption=f"Detection rate of each detector, all faces ({level} exact interval)",
            table_id="table-detectors-overall",
        ),
        frame_to_html(
            paired_overall,
            caption=(
                "Paired comparison of every two detectors on the same faces, all faces "
                f"(difference = rate_b - rate_a, {level} Newcombe interval, exact McNemar test)"
            ),
            table_id="table-detector-pairs-overall",
            column_formats={"p_mcnemar": format_p_value, "p_holm": format_p_value},
        ),
    ]
    for attribute in attributes:
        tables.append(
            frame_to_html(
                by_attribute[attribute].astype({attribute: str}),
                caption=f"Detection rate per {attribute} ({level} exact interval)",
                table_id=f"table-detectors-{attribute}",
                sortable=True,
            )
        )
        tables.append(
            frame_to_html(
                paired_by[attribute].astype({attribute: str}),
                caption=(
                    f"Paired comparison per {attribute} (difference = rate_b - rate_a, "
                    f"{level} Newcombe interval, exact McNemar test, Holm-adjusted over the "
                    "groups of each pair)"
                ),
                table_id=f"table-detector-pairs-{attribute}",
                sortable=True,
                column_formats={"p_mcnemar": format_p_value, "p_holm": format_p_value},
            )
        )
    seconds = pairs.metadata.get("seconds") or {}
    template = environment().get_template("detectors.html.j2")
    return template.render(
        title=title,
        detectors=detectors,
        baseline=baseline,
        source=source,
        preset=pairs.metadata.get("preset"),
        n_images=pairs.n_images,
        level=level,
        min_support=min_support,
        headline=headline,
        differences=differences,
        figures=figures,
        tables=tables,
        seconds={k: float(v) for k, v in seconds.items()},
        library_version=__version__,
    )


def write_detector_report(
    pairs: DetectorPairs, path: str | os.PathLike[str], **options: Any
) -> Path:
    """Render :func:`render_detector_report` (same options) and write it atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    return atomic_write_text(Path(path), render_detector_report(pairs, **options))
