"""Shared HTML primitives of the reports: the template environment, tables, figures.

Everything a report shows comes from user data at some point (group names, class
names, metadata, titles), so every helper here escapes what it is given:

- :func:`environment` autoescapes every template, whatever its file name;
- :func:`frame_to_html` escapes every header and cell (only values that are already
  :class:`markupsafe.Markup` pass through unchanged) and writes no event-handler
  attribute;
- :func:`figure_to_data_uri` embeds a figure as a ``data:`` URI, so a report needs no
  other file and makes no request;
- the page's only script (the table sorter, ``templates/sort.js``) is allowed by the
  hash in the page's Content-Security-Policy, so no other script can run even if
  something were left unescaped, and nothing can be fetched (``default-src 'none'``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import markupsafe
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import jinja2
    from matplotlib.figure import Figure

__all__ = [
    "MISSING_VALUE",
    "content_security_policy",
    "environment",
    "figure_to_data_uri",
    "format_interval",
    "format_number",
    "format_p_value",
    "frame_to_html",
    "inline_script",
    "short_description",
]

#: Text shown for an undefined number (NaN).
MISSING_VALUE = "n/a"

#: The only figure formats :func:`figure_to_data_uri` writes.
_FIGURE_FORMATS = ("png", "svg")


@functools.cache
def inline_script() -> markupsafe.Markup:
    """The report's one inline script (the table sorter), as safe markup.

    It is read from ``templates/sort.js``; the page's Content-Security-Policy allows
    exactly this text through its SHA-256 hash.
    """
    text = resources.files("fairaudit.report").joinpath("templates/sort.js").read_text("utf-8")
    return markupsafe.Markup(text.strip())


@functools.cache
def content_security_policy() -> str:
    """The Content-Security-Policy of every report: no network, only the sorter script.

    ``default-src 'none'`` forbids every fetch (scripts, styles, fonts, frames,
    connections); images may only be ``data:`` URIs; styles only inline; scripts
    only the sorter, by hash.
    """
    digest = hashlib.sha256(str(inline_script()).encode("utf-8")).digest()
    script_hash = base64.b64encode(digest).decode("ascii")
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )


class _Compiled(dict):
    """Compiled templates of this process: the client of a ``MemcachedBytecodeCache``."""

    def set(self, key: str, value: bytes, timeout: int | None = None) -> None:
        self[key] = value


_COMPILED = _Compiled()


def environment() -> jinja2.Environment:
    """A Jinja2 environment over the report templates (``fairaudit/report/templates``).

    Autoescaping is on for every template (not only ``.html`` names) and undefined
    variables are errors (``StrictUndefined``). Globals ``inline_script`` and
    ``content_security_policy`` feed ``base.html.j2``; filters ``num``,
    ``interval`` and ``pvalue`` are :func:`format_number`, :func:`format_interval`
    and :func:`format_p_value`.

    Returns
    -------
    jinja2.Environment
        A new environment (callers may add globals without affecting others).
    """
    import jinja2  # lazily: only a render needs it

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fairaudit.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # each template compiled once per process, whatever the environments (the demo
        # renders four reports); keyed by the template's source, so never stale
        bytecode_cache=jinja2.MemcachedBytecodeCache(_COMPILED, prefix=""),
    )
    env.globals["inline_script"] = inline_script()
    env.globals["content_security_policy"] = content_security_policy()
    env.filters["num"] = format_number
    env.filters["interval"] = format_interval
    env.filters["pvalue"] = format_p_value
    return env


# ------------------------------------------------------------------- numbers
def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(value)


def format_number(value: Any, digits: int = 3) -> str:
    """A number as report text: integers with thousands separators, floats to ``digits``.

    NaN and None give :data:`MISSING_VALUE`; infinities ``inf``/``-inf``.

    Examples
    --------
    >>> format_number(12345), format_number(0.81234), format_number(float("nan"))
    ('12,345', '0.812', 'n/a')
    """
    if _is_missing(value):
        return MISSING_VALUE
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}f}"
    return str(value)


def format_p_value(value: Any) -> str:
    """A p-value as report text: 4 decimals, scientific notation under 1e-4.

    Examples
    --------
    >>> format_p_value(0.0123456), format_p_value(2.5e-8)
    ('0.0123', '2.5e-08')
    """
    if _is_missing(value):
        return MISSING_VALUE
    value = float(value)
    return f"{value:.1e}" if value < 1e-4 else f"{value:.4f}"


def format_interval(estimate: Any, low: Any, high: Any, *, digits: int = 3) -> str:
    """An estimate with its interval: ``"0.812 [0.780, 0.842]"``.

    An undefined estimate gives :data:`MISSING_VALUE`; undefined bounds give
    ``"0.812 [n/a]"``.

    Examples
    --------
    >>> format_interval(0.8123, 0.78, 0.8421)
    '0.812 [0.780, 0.842]'
    """
    if _is_missing(estimate):
        return MISSING_VALUE
    text = format_number(estimate, digits)
    if _is_missing(low) or _is_missing(high):
        return f"{text} [{MISSING_VALUE}]"
    return f"{text} [{format_number(low, digits)}, {format_number(high, digits)}]"


def short_description(description: str, width: int = 48) -> str:
    """A data description for a title, shortened at a natural stop only, never cut mid-text.

    Past ``width`` characters, the description is cut at its first ``:``, `` (``,
    ``;`` or `` with ``, and nowhere else: a long title wraps (``base.html.j2``).
    A title names what was audited; an ellipsis in the middle of a path would hide
    the very part that tells two data sets apart.

    >>> short_description("FairFace val: the first 5,000 images (1.jpg-5000.jpg)")
    'FairFace val'
    >>> short_description("predictions p.csv, labels ../shared/data/fairface/labels/val.csv")
    'predictions p.csv, labels ../shared/data/fairface/labels/val.csv'
    """
    text = " ".join(str(description).split())
    for stop in (":", " (", ";", " with "):
        if len(text) > width and stop in text:
            text = text.split(stop, 1)[0].strip()
    return text


# -------------------------------------------------------------------- tables
def _sort_value(value: Any) -> str | None:
    """The ``data-value`` of a numeric cell (exact ``repr``), ``""`` if undefined."""
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return repr(value) if not math.isinf(value) else ("Infinity" if value > 0 else "-Infinity")
    return None


def _cell_text(value: Any, float_format: str | Callable[[float], str]) -> str:
    if _is_missing(value):
        return MISSING_VALUE
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float_format(value) if callable(float_format) else float_format.format(value)
    return str(value)


def _heat_colour(value: float, low: float, high: float) -> str:
    """A light-to-mid blue background for ``value`` in ``[low, high]`` (text stays legible)."""
    share = 0.0 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    # from #f7fbff (white-blue) to #6baed6 (mid blue): dark text stays readable on both
    start, end = (247, 251, 255), (107, 174, 214)
    rgb = tuple(round(s + (e - s) * share) for s, e in zip(start, end, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _header_text(text: str) -> str:
    """An escaped header that may wrap after ``_`` and ``/`` (``<wbr>``: no text added)."""
    escaped = str(markupsafe.escape(text))
    return escaped.replace("_", "_<wbr>").replace("/", "/<wbr>")


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value if str(v) != "")
    return "" if value is None else str(value)


def frame_to_html(
    frame: pd.DataFrame,
    *,
    caption: str,
    sortable: bool = False,
    float_format: str | Callable[[float], str] = "{:.3f}",
    table_id: str | None = None,
    index: bool | None = None,
    heat_columns: Sequence[Any] | None = None,
    heat_range: tuple[float, float] | None = None,
    heat_values: pd.DataFrame | None = None,
    column_formats: Mapping[Any, str | Callable[[float], str]] | None = None,
    row_classes: Sequence[str] | None = None,
    css_class: str = "",
    cell_classes: pd.DataFrame | None = None,
) -> markupsafe.Markup:
    """A DataFrame as an accessible, escaped HTML table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table. MultiIndex columns are flattened (``"a / b"``).
    caption : str
        What the table shows, written in ``<caption>`` (escaped).
    sortable : bool, default=False
        Add class ``sortable``: the page's script sorts the rows when a header is
        clicked (numbers by value, text alphabetically).
    float_format : str or callable, default="{:.3f}"
        Display format of float cells (the exact value is kept in ``data-value``).
    table_id : str, optional
        ``id`` of the ``<table>`` element.
    index : bool, optional
        Write the index as row-header columns (``<th scope="row">``). Default: when
        an index level has a name (a filtered frame's unnamed integer index is not
        written).
    heat_columns : sequence, optional
        Numeric columns whose cells get a background colour by value (a table
        heatmap that stays readable as text).
    heat_range : (float, float), optional
        Value range of the colour scale (default: min and max of the coloured values).
    heat_values : pandas.DataFrame, optional
        Values that set the colours instead of the cells' own (same rows, and the
        ``heat_columns`` among its columns), e.g. row shares behind counts.
    column_formats : mapping, optional
        Display format of float cells per column, overriding ``float_format``.
    row_classes : sequence of str, optional
        CSS class of each body row (e.g. ``"small"`` for a slice too small to judge).
    css_class : str, default=""
        Extra CSS classes of the table.
    cell_classes : pandas.DataFrame, optional
        A CSS class per cell (same rows; columns among the frame's, ``""``: none),
        e.g. ``"small"`` for a pivot-table cell too small to judge: such a cell
        gets no heat colour (its class draws it) and a ``*`` after its value.

    Returns
    -------
    markupsafe.Markup
        The ``<table>``; every header and cell text is escaped, except cells that
        are :class:`markupsafe.Markup` (in an ``object`` column: pandas' string
        dtype would turn them into plain, escaped, strings). Numeric cells are
        right-aligned (class ``num``) and carry their exact value in ``data-value``
        (``repr`` of the float; empty when undefined); NaN shows as ``n/a``.
    """
    esc = markupsafe.escape
    if index is None:
        index = any(name is not None for name in frame.index.names)
    if row_classes is not None and len(row_classes) != len(frame):
        raise ValueError(f"row_classes has {len(row_classes)} entries for {len(frame)} rows")
    index_names = [_label(n) for n in frame.index.names] if index else []
    columns = list(frame.columns)
    heat = set(heat_columns or ())
    colour_source = frame if heat_values is None else heat_values
    if heat_values is not None and (
        len(heat_values) != len(frame) or not heat.issubset(heat_values.columns)
    ):
        raise ValueError("heat_values must have the frame's rows and the heat columns")
    if heat and heat_range is None:
        values = np.concatenate(
            [pd.to_numeric(colour_source[c], errors="coerce").to_numpy(dtype=float) for c in heat]
        )
        finite = values[np.isfinite(values)]
        heat_range = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    numeric = [pd.api.types.is_numeric_dtype(frame[c].dtype) for c in columns]
    formats = [(column_formats or {}).get(c, float_format) for c in columns]
    colours = {
        c: pd.to_numeric(colour_source[c], errors="coerce").to_numpy(dtype=float) for c in heat
    }

    classes = " ".join(c for c in ("report-table", css_class, "sortable" if sortable else "") if c)
    parts = [f'<table class="{esc(classes)}"']
    if table_id:
        parts.append(f' id="{esc(table_id)}"')
    parts.append(f"><caption>{esc(caption)}</caption>\n<thead><tr>")
    for name in index_names:
        parts.append(f'<th scope="col">{_header_text(name)}</th>')
    for column, is_num in zip(columns, numeric, strict=True):
        kind = ' data-type="number"' if is_num else ""
        parts.append(f'<th scope="col"{kind}>{_header_text(_label(column))}</th>')
    parts.append("</tr></thead>\n<tbody>\n")
    cells = [  # items(): the columns by position (iloc per column costs ten times more)
        _column_cells(
            series,
            formats[j],
            colours.get(column) if heat_range is not None else None,
            heat_range,
        )
        for j, (column, series) in enumerate(frame.items())
    ]
    if cell_classes is not None:
        if len(cell_classes) != len(frame):
            raise ValueError("cell_classes must have the frame's rows")
        for j, column in enumerate(columns):
            if column not in cell_classes.columns:
                continue
            for i, name in enumerate(cell_classes[column].tolist()):
                if name:
                    cells[j][i] = _with_class(cells[j][i], str(name))
    index_values = frame.index.tolist()
    for i, row in enumerate(zip(*cells, strict=True) if cells else [()] * len(frame)):
        row_class = row_classes[i] if row_classes is not None else ""
        parts.append(f'<tr class="{esc(row_class)}">' if row_class else "<tr>")
        if index:
            keys = index_values[i] if isinstance(index_values[i], tuple) else (index_values[i],)
            for key in keys:
                parts.append(f'<th scope="row">{esc(_cell_text(key, float_format))}</th>')
        parts.extend(row)
        parts.append("</tr>\n")
    parts.append("</tbody></table>")
    return markupsafe.Markup("".join(parts))


def _column_cells(
    column: pd.Series,
    float_format: str | Callable[[float], str],
    colours: np.ndarray | None,
    heat_range: tuple[float, float] | None,
) -> list[str]:
    """The ``<td>`` of every cell of one column (fast paths for numpy number columns)."""
    styles = [""] * len(column)
    if colours is not None and heat_range is not None:
        styles = [
            f' style="background-color:{_heat_colour(float(c), *heat_range)}"'
            if np.isfinite(c)
            else ""
            for c in colours
        ]
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return [
            f'<td class="num" data-value="{v}"{style}>{v:,}</td>'
            for v, style in zip(column.to_numpy().tolist(), styles, strict=True)
        ]
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        fmt = float_format if callable(float_format) else float_format.format
        out = []
        for v, style in zip(column.to_numpy().tolist(), styles, strict=True):
            if v != v:
                out.append(f'<td class="num" data-value=""{style}>{MISSING_VALUE}</td>')
            elif math.isinf(v):
                out.append(_cell_html(v, float_format, style))
            else:
                text = markupsafe.escape(fmt(v))
                out.append(f'<td class="num" data-value="{v!r}"{style}>{text}</td>')
        return out
    return [
        _cell_html(v, float_format, style) for v, style in zip(column.tolist(), styles, strict=True)
    ]


def _with_class(cell: str, name: str) -> str:
    """A ``<td>`` with one more class, no heat colour and a ``*`` after its text."""
    import re

    cell = re.sub(r' style="[^"]*"', "", cell, count=1)
    if cell.startswith('<td class="'):
        cell = f'<td class="{markupsafe.escape(name)} ' + cell[len('<td class="') :]
    else:
        cell = f'<td class="{markupsafe.escape(name)}"' + cell[len("<td") :]
    return cell[: -len("</td>")] + "*</td>"


def _cell_html(value: Any, float_format: str | Callable[[float], str], style: str) -> str:
    if isinstance(value, markupsafe.Markup):
        return f"<td{style}>{value}</td>"
    sort_value = _sort_value(value)
    text = markupsafe.escape(_cell_text(value, float_format))
    if sort_value is None:
        # names like equal_opportunity_difference may wrap after "_" (no text added)
        return f"<td{style}>{str(text).replace('_', '_<wbr>')}</td>"
    return f'<td class="num" data-value="{sort_value}"{style}>{text}</td>'


# ------------------------------------------------------------------- figures
def figure_to_data_uri(fig: Figure, *, format: str = "png", dpi: int = 72) -> str:
    """Embed a matplotlib figure as a ``data:`` URI and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, laid out by its builder (``tight_layout``: the figure is saved
        as it is, with no second "tight bbox" drawing pass); closed afterwards,
        whether or not pyplot manages it.
    format : {"png", "svg"}, default="png"
        PNG is reduced to an adaptive 256-colour palette (a third of the bytes, no
        visible change on these charts); SVG keeps text as paths.
    dpi : int, default=72
        Resolution of PNG figures (72: one point of text is one CSS pixel).

    Returns
    -------
    str
        ``data:image/png;base64,...`` or ``data:image/svg+xml;base64,...``.
    """
    import matplotlib.pyplot as plt

    if format not in _FIGURE_FORMATS:
        raise ValueError(f"format must be one of {_FIGURE_FORMATS}, got {format!r}")
    buffer = io.BytesIO()
    try:
        if format == "svg":
            fig.savefig(buffer, format="svg", metadata={"Date": None})
            mime = "image/svg+xml"
        else:
            fig.savefig(
                buffer,
                format="png",
                dpi=dpi,
                facecolor="white",
                metadata={"Software": None},
            )
            buffer = _palette_png(buffer)
            mime = "image/png"
    finally:
        plt.close(fig)
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _palette_png(buffer: io.BytesIO) -> io.BytesIO:
    from PIL import Image

    buffer.seek(0)
    with Image.open(buffer) as image:
        quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    quantized.save(out, format="png")
    return out
