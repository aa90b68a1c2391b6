"""The reports' charts as inline SVG and HTML, written as text: no plotting library.

Each function takes numbers the audit (or the comparison) already computed and
returns escaped markup, so a chart costs microseconds, weighs a few kilobytes,
stays sharp at any zoom and prints as vectors. Every group name, title and label is
escaped here; each mark carries its numbers in ``data-*`` attributes (what the
tests read) and in a ``<title>`` (what a reader sees on hover).

- :func:`dot_interval_chart`: a rate per group with its interval, one panel per
  attribute on a shared axis zoomed to the data, the overall value marked, small
  groups hollow;
- :func:`paired_dot_chart`: a rate per group in two versions (baseline, candidate),
  joined by an arrow, significant changes coloured;
- :func:`intersection_grid`: a rate in each cell of two attributes, as a table
  coloured by the distance to the overall value, small cells marked;
- :func:`line_chart`: curves on the unit square (reliability diagrams).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import markupsafe
import numpy as np

__all__ = [
    "ChartRow",
    "axis_domain",
    "dot_interval_chart",
    "intersection_grid",
    "line_chart",
    "paired_dot_chart",
]

_BLUE, _RED, _GREY, _GREEN = "#1f5fa8", "#c0392b", "#6e7781", "#1a7f37"
#: Pixels per character of 12 px text (generous, so labels fit).
_CHAR = 6.6
_ROW = 19
_FONT = 12


def _esc(text: object) -> str:
    return str(markupsafe.escape(str(text)))


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.{digits}f}"


@dataclass(frozen=True)
class ChartRow:
    """One group of a chart: its estimate, interval (NaN: none), rows and status."""

    group: str
    estimate: float
    lower: float = math.nan
    upper: float = math.nan
    n: int = 0
    small: bool = False
    #: Second value (the candidate's in a paired chart).
    other: float = math.nan
    #: ``"improved"``, ``"regressed"`` or ``""`` (paired charts).
    direction: str = ""


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 0.01
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def axis_domain(
    values: Sequence[float], *, clip: tuple[float, float] = (0.0, 1.0), n_ticks: int = 4
) -> tuple:
    """The axis range and ticks of a chart: the finite values, padded, on round ticks.

    Returns
    -------
    (low, high, ticks)
        ``low`` and ``high`` within ``clip``; at least a span of 0.02.
    """
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not finite:
        return clip[0], clip[1], [clip[0], clip[1]]
    low, high = min(finite), max(finite)
    span = max(high - low, 0.02)
    low, high = low - 0.06 * span, high + 0.06 * span
    step = _nice_step(high - low, n_ticks)
    low = max(clip[0], math.floor(low / step) * step)
    high = min(clip[1], math.ceil(high / step) * step)
    count = int(round((high - low) / step))
    ticks = [round(low + i * step, 10) for i in range(count + 1)]
    return low, high, ticks


def _tick_text(value: float, step: float) -> str:
    digits = max(0, min(3, -math.floor(math.log10(step)) if step > 0 else 2))
    if step * 10**digits % 1 > 1e-9:
        digits += 1
    return f"{value:.{digits}f}"


def _svg_open(width: float, height: float, label: str, css: str) -> str:
    return (
        f'<svg class="chart {css}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-label="{_esc(label)}" font-size="{_FONT}">'
        f"<title>{_esc(label)}</title>"
    )


def _axis(x0: float, x1: float, y: float, top: float, domain: tuple, scale) -> list[str]:
    low, high, ticks = domain
    step = ticks[1] - ticks[0] if len(ticks) > 1 else high - low
    out = [f'<line class="axis" x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>']
    for t in ticks:
        x = scale(t)
        out.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle">'
            f"{_tick_text(t, step)}</text>"
        )
    return out


_PLOT_W, _N_W = 170, 40


def _layout(panels: Sequence[tuple[str, Sequence[ChartRow]]]) -> list[tuple[float, float, int]]:
    """Per panel: its left edge, label width and label characters (panels side by side)."""
    out, x = [], 0.0
    for _, rows in panels:
        chars = min(max((len(r.group) for r in rows), default=4), 18)
        label_w = chars * _CHAR + 12
        out.append((x, label_w, chars))
        x += label_w + _PLOT_W + _N_W + 14
    return out


def dot_interval_chart(
    panels: Sequence[tuple[str, Sequence[ChartRow]]],
    *,
    label: str,
    metric: str,
    overall: float | None = None,
    interval: str = "",
    clip: tuple[float, float] = (0.0, 1.0),
    overall_label: str = "all",
) -> markupsafe.Markup:
    """A rate per group with its interval, one panel per attribute, on one zoomed axis.

    Parameters
    ----------
    panels : sequence of (str, sequence of ChartRow)
        Per attribute, its groups (``estimate`` with ``lower``/``upper``; ``small``
        groups are drawn hollow and dashed, in grey, and named "small": not judged).
    label : str
        What the chart shows (its accessible name).
    metric : str
        Axis title.
    overall : float, optional
        The overall value, a dashed line across every panel.
    interval : str
        What the intervals are (in each mark's title).
    clip : (float, float), default=(0.0, 1.0)
        Bounds of the axis (``(-1, 1)`` for differences of rates).
    overall_label : str, default="all"
        Name of the ``overall`` line, written above it.

    Returns
    -------
    markupsafe.Markup
        One ``<svg>``; each group is a ``<g class="mark">`` with ``data-estimate``,
        ``data-lower``, ``data-upper``, ``data-n`` and ``data-small``.
    """
    panels = [(name, list(rows)) for name, rows in panels if len(rows)]
    values: list[float] = []
    for _, rows in panels:
        for r in rows:
            values.append(r.estimate)
            if not r.small:  # a small group's wide interval would flatten the others
                values += [r.lower, r.upper]
    if overall is not None:
        values.append(overall)
    domain = axis_domain(values, clip=clip)
    low, high, _ = domain
    layout = _layout(panels)
    n_w, plot_w = _N_W, _PLOT_W
    n_max = max((len(rows) for _, rows in panels), default=1)
    top, head = 34, 18
    height = top + n_max * _ROW + 34
    width = (layout[-1][0] + layout[-1][1] + plot_w + n_w) if layout else 10
    out = [_svg_open(width, height, label, "dots")]
    for p, (attribute, rows) in enumerate(panels):
        left, label_w, chars = layout[p]
        x0 = left + label_w
        x1 = x0 + plot_w

        def scale(v: float, x0: float = x0) -> float:
            return x0 + (min(max(v, low), high) - low) / (high - low) * plot_w

        bottom = top + n_max * _ROW
        out.append(
            f'<text class="panel-title" x="{left:.1f}" y="{head - 4}">{_esc(attribute)}</text>'
            f'<text class="n-head" x="{x1 + n_w - 2:.1f}" y="{top - 6}" '
            'text-anchor="end">n</text>'
        )
        out += _axis(x0, x1, bottom, top - 4, domain, scale)
        if overall is not None and np.isfinite(overall):
            xo = scale(overall)
            out.append(
                f'<line class="overall" x1="{xo:.1f}" x2="{xo:.1f}" y1="{top - 8}" '
                f'y2="{bottom:.1f}"><title>{_esc(overall_label)} {_fmt(overall)}</title></line>'
            )
            if p == 0:
                out.append(
                    f'<text class="overall-label" x="{xo:.1f}" y="{top - 10}" '
                    f'text-anchor="middle">{_esc(overall_label)} {_fmt(overall)}</text>'
                )
        for i, r in enumerate(rows):
            y = top + (i + 0.5) * _ROW
            kind = "mark small" if r.small else "mark"
            tip = f"{attribute} = {r.group}: {metric} {_fmt(r.estimate)}"
            if np.isfinite(r.lower) and np.isfinite(r.upper):
                tip += f" [{_fmt(r.lower)}, {_fmt(r.upper)}] {interval}"
            tip += f"; n = {r.n:,}" + (" (small: too few rows to judge)" if r.small else "")
            out.append(
                f'<g class="{kind}" data-group="{_esc(r.group)}" data-estimate="{r.estimate!r}" '
                f'data-lower="{r.lower!r}" data-upper="{r.upper!r}" data-n="{r.n}" '
                f'data-small="{int(r.small)}"><title>{_esc(tip)}</title>'
                f'<text class="group" x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                f"{_esc(_short(r.group, chars))}</text>"
                f'<text class="n" x="{x1 + n_w - 2:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                f"{r.n:,}{'*' if r.small else ''}</text>"
            )
            if np.isfinite(r.lower) and np.isfinite(r.upper):
                a, b = scale(r.lower), scale(r.upper)
                out.append(
                    f'<line class="ci" x1="{a:.1f}" x2="{b:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
                )
                for v, x in ((r.lower, a), (r.upper, b)):
                    clipped = v < low or v > high
                    out.append(
                        f'<line class="cap{" clipped" if clipped else ""}" x1="{x:.1f}" '
                        f'x2="{x:.1f}" y1="{y - 4:.1f}" y2="{y + 4:.1f}"/>'
                    )
            if np.isfinite(r.estimate):
                out.append(f'<circle cx="{scale(r.estimate):.1f}" cy="{y:.1f}" r="4"/>')
            out.append("</g>")
        out.append(
            f'<text class="axis-title" x="{(x0 + x1) / 2:.1f}" y="{bottom + 28:.1f}" '
            f'text-anchor="middle">{_esc(metric)}</text>'
            if p == 0
            else ""
        )
    out.append("</svg>")
    return markupsafe.Markup("".join(out))


def paired_dot_chart(
    panels: Sequence[tuple[str, Sequence[ChartRow]]],
    *,
    label: str,
    metric: str,
    names: tuple[str, str] = ("baseline", "candidate"),
) -> markupsafe.Markup:
    """A rate per group in two versions: baseline (hollow) to candidate (filled), an arrow.

    ``ChartRow.estimate`` is the baseline's value, ``ChartRow.other`` the
    candidate's, ``direction`` colours a significant change (green improved, red
    regressed; grey: no clear change). Each group is a ``<g class="pair">`` with
    ``data-baseline``, ``data-candidate``, ``data-n``, ``data-direction``.
    """
    panels = [(name, list(rows)) for name, rows in panels if len(rows)]
    values = [v for _, rows in panels for r in rows for v in (r.estimate, r.other)]
    domain = axis_domain(values)
    low, high, _ = domain
    layout = _layout(panels)
    n_w, plot_w = _N_W, _PLOT_W
    n_max = max((len(rows) for _, rows in panels), default=1)
    top = 34
    height = top + n_max * _ROW + 34
    width = (layout[-1][0] + layout[-1][1] + plot_w + n_w) if layout else 10
    out = [_svg_open(width, height, label, "pairs")]
    colours = {"improved": _GREEN, "regressed": _RED}
    for p, (attribute, rows) in enumerate(panels):
        left, label_w, chars = layout[p]
        x0 = left + label_w
        x1 = x0 + plot_w

        def scale(v: float, x0: float = x0) -> float:
            return x0 + (min(max(v, low), high) - low) / (high - low) * plot_w

        bottom = top + n_max * _ROW
        out.append(
            f'<text class="panel-title" x="{left:.1f}" y="14">{_esc(attribute)}</text>'
            f'<text class="n-head" x="{x1 + n_w - 2:.1f}" y="{top - 6}" '
            'text-anchor="end">n</text>'
        )
        out += _axis(x0, x1, bottom, top - 4, domain, scale)
        for i, r in enumerate(rows):
            y = top + (i + 0.5) * _ROW
            colour = colours.get(r.direction, _GREY)
            tip = (
                f"{attribute} = {r.group}: {metric} {_fmt(r.estimate)} ({names[0]}) -> "
                f"{_fmt(r.other)} ({names[1]}); {r.direction or 'no clear change'}; n = {r.n:,}"
            )
            out.append(
                f'<g class="pair{" small" if r.small else ""}" data-group="{_esc(r.group)}" '
                f'data-baseline="{r.estimate!r}" data-candidate="{r.other!r}" '
                f'data-n="{r.n}" data-direction="{_esc(r.direction or "none")}">'
                f"<title>{_esc(tip)}</title>"
                f'<text class="group" x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                f"{_esc(_short(r.group, chars))}</text>"
                f'<text class="n" x="{x1 + n_w - 2:.1f}" y="{y + 4:.1f}" text-anchor="end">'
                f"{r.n:,}{'*' if r.small else ''}</text>"
            )
            if np.isfinite(r.estimate) and np.isfinite(r.other):
                a, b = scale(r.estimate), scale(r.other)
                tip_x = b - 4 if b > a else b + 4
                if abs(b - a) > 6:
                    head = -5 if b > a else 5
                    out.append(
                        f'<line x1="{a:.1f}" x2="{tip_x:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                        f'stroke="{colour}" stroke-width="2"/>'
                        f'<path d="M{tip_x:.1f},{y:.1f} l{head},-4 l0,8 z" fill="{colour}"/>'
                    )
                out.append(
                    f'<circle class="a" cx="{a:.1f}" cy="{y:.1f}" r="3.5"/>'
                    f'<circle class="b" cx="{b:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'
                )
            out.append("</g>")
        if p == 0:
            out.append(
                f'<text class="axis-title" x="{(x0 + x1) / 2:.1f}" y="{bottom + 28:.1f}" '
                f'text-anchor="middle">{_esc(metric)}</text>'
            )
    out.append("</svg>")
    return markupsafe.Markup("".join(out))


def _short(text: str, width: int) -> str:
    width = max(width, 4)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _diverging(value: float, centre: float, spread: float) -> str:
    """Background of a grid cell: brown below ``centre``, teal above, by distance.

    Neither is red: red marks a finding the data support, and a cell's distance from
    the overall value is not one.
    """
    if not np.isfinite(value):
        return ""
    share = 0.0 if spread <= 0 else min(abs(value - centre) / spread, 1.0)
    end = (191, 129, 45) if value < centre else (53, 151, 143)
    start = (247, 247, 247)
    rgb = tuple(round(s + (e - s) * share * 0.85) for s, e in zip(start, end, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def intersection_grid(
    values: np.ndarray,
    support: np.ndarray,
    *,
    row_names: Sequence[str],
    column_names: Sequence[str],
    row_title: str,
    column_title: str,
    caption: str,
    centre: float,
    min_support: int,
    table_id: str,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> markupsafe.Markup:
    """A rate in every cell of two attributes, as a coloured table (Gender Shades' grid).

    Each cell shows the value and its rows; colour: brown below ``centre`` (the
    overall value), teal above, deeper with the distance (the scale spans the
    judged cells, so small differences show); cells under ``min_support`` rows are
    hatched and starred (class ``small``), empty cells blank.
    """
    values = np.asarray(values, dtype=float)
    support = np.asarray(support)
    judged = (support >= max(min_support, 1)) & np.isfinite(values)
    spread = float(np.max(np.abs(values[judged] - centre))) if judged.any() else 0.0
    esc = markupsafe.escape
    parts = [
        f'<table class="report-table grid" id="{esc(table_id)}"><caption>{esc(caption)}</caption>',
        f'<thead><tr><th scope="col">{esc(row_title)} \\ {esc(column_title)}</th>',
    ]
    parts += [f'<th scope="col">{esc(c)}</th>' for c in column_names]
    parts.append("</tr></thead><tbody>")
    for i, name in enumerate(row_names):
        parts.append(f'<tr><th scope="row">{esc(name)}</th>')
        for j in range(len(column_names)):
            v, n = float(values[i, j]), int(support[i, j])
            if n == 0 or not np.isfinite(v):
                parts.append('<td class="num cell empty" data-value="" data-n="0">&ndash;</td>')
                continue
            small = n < min_support
            interval = ""
            if lower is not None and upper is not None:
                interval = f" [{_fmt(float(lower[i, j]))}, {_fmt(float(upper[i, j]))}]"
            tip = f"{name} & {column_names[j]}: {_fmt(v)}{interval}, n = {n:,}"
            if small:
                tip += " (small: too few rows to judge)"
            style = "" if small else f' style="background-color:{_diverging(v, centre, spread)}"'
            parts.append(
                f'<td class="num cell{" small" if small else ""}" data-value="{v!r}" '
                f'data-n="{n}" title="{esc(tip)}"{style}>'
                f'<span class="v">{_fmt(v)}{"*" if small else ""}</span>'
                f'<span class="cell-n">n={n:,}</span></td>'
            )
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return markupsafe.Markup("".join(parts))


def line_chart(
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    label: str,
    x_title: str,
    y_title: str,
    diagonal: bool = True,
    size: int = 300,
) -> markupsafe.Markup:
    """Curves on the unit square (x, y in [0, 1]), a legend, the diagonal dashed."""
    palette = ("#1b1f24", "#1f5fa8", "#9a6700", "#1a7f37", "#8250df", "#bc4c00", "#0a7b83")
    left, bottom, top, right = 40, 36, 10, 150
    width, height = left + size + right, top + size + bottom
    out = [_svg_open(width, height, label, "lines")]

    def sx(v: float) -> float:
        return left + v * size

    def sy(v: float) -> float:
        return top + (1 - v) * size

    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{sy(0):.1f}"/>'
            f'<line class="grid" x1="{left}" x2="{sx(1):.1f}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
            f'<text class="tick" x="{sx(t):.1f}" y="{sy(0) + 13:.1f}" text-anchor="middle">'
            f"{t:g}</text>"
            f'<text class="tick" x="{left - 4}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    if diagonal:
        out.append(
            f'<line class="overall" x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(1):.1f}" '
            f'y2="{sy(1):.1f}"/>'
        )
    for k, (name, xs, ys) in enumerate(curves):
        colour = palette[k % len(palette)]
        keep = np.isfinite(xs) & np.isfinite(ys)
        points = " ".join(
            f"{sx(float(x)):.1f},{sy(float(y)):.1f}"
            for x, y in zip(xs[keep], ys[keep], strict=True)
        )
        out.append(
            f'<g class="curve"><title>{_esc(name)}</title>'
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            + "".join(
                f'<circle cx="{sx(float(x)):.1f}" cy="{sy(float(y)):.1f}" r="2.5" fill="{colour}"/>'
                for x, y in zip(xs[keep], ys[keep], strict=True)
            )
            + "</g>"
        )
        ly = top + 12 + k * 16
        out.append(
            f'<line x1="{left + size + 12}" x2="{left + size + 28}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{left + size + 32}" y="{ly}">{_esc(_short(name, 18))}</text>'
        )
    out.append(
        f'<text class="axis-title" x="{sx(0.5):.1f}" y="{height - 4}" text-anchor="middle">'
        f"{_esc(x_title)}</text>"
        f'<text class="axis-title" transform="translate(11,{sy(0.5):.1f}) rotate(-90)" '
        f'text-anchor="middle">{_esc(y_title)}</text></svg>'
    )
    return markupsafe.Markup("".join(out))
