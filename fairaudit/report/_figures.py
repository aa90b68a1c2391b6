"""The model-audit figures of a report (seaborn/matplotlib), returned, never shown.

Each function takes tables the audit already computed (so a figure shows exactly
the numbers of the table beside it) and returns a :class:`matplotlib.figure.Figure`
built without pyplot's global state. Group and class names come from user data:
call these inside :func:`plain_text_labels` so that a ``$`` in a name is drawn as
a dollar sign instead of being parsed as mathtext.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = [
    "plain_text_labels",
    "plot_confusion_matrices",
    "plot_group_intervals",
    "plot_metric_heatmap",
    "plot_reliability",
]

_BLUE = "#4c72b0"
#: Font sizes (points; figures are embedded at 72 dpi, so 1 point = 1 CSS pixel).
_SMALL, _MEDIUM, _LARGE = 8.5, 9.5, 10.5
_RED = "#c44e52"


@contextlib.contextmanager
def plain_text_labels() -> Iterator[None]:
    """Matplotlib settings of report figures: user text is never parsed as math or TeX."""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        yield


def _short(text: object, width: int = 28) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


#: Width of one character of 7-point text, in inches (generous, so labels fit).
_CHAR_INCHES = 0.062


def _label_inches(labels: Sequence[object], fontsize: float = _SMALL) -> float:
    """Width a column of tick labels needs (fixed layout: no tight_layout pass)."""
    longest = max((len(str(label)) for label in labels), default=0)
    return longest * _CHAR_INCHES * fontsize / 7


def _place(
    fig: Figure,
    *,
    left: float,
    right: float,
    bottom: float,
    top: float,
    gap: float = 0.0,
    n_columns: int = 1,
) -> None:
    """Set the margins in inches (left, right, bottom, top, gap between panels).

    A fixed layout costs nothing at draw time, where ``tight_layout`` needs a
    text-measuring pass of its own (a third of a figure's rendering time).
    """
    width, height = fig.get_size_inches()
    params = {
        "left": left / width,
        "right": 1 - right / width,
        "bottom": bottom / height,
        "top": 1 - top / height,
    }
    if n_columns > 1:
        axis_width = (width - left - right - gap * (n_columns - 1)) / n_columns
        params["wspace"] = gap / axis_width
    fig.subplots_adjust(**params)


def _colorbar(fig: Figure, image: object, *, right: float, label: str) -> None:
    """A colour bar in the right margin (``right`` inches wide)."""
    width, height = fig.get_size_inches()
    box = fig.subplotpars
    cax = fig.add_axes((1 - (right - 0.15) / width, box.bottom, 0.14 / width, box.top - box.bottom))
    bar = fig.colorbar(image, cax=cax)
    bar.set_label(label, fontsize=_SMALL)
    bar.ax.tick_params(labelsize=_SMALL)


def plot_confusion_matrices(
    matrices: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]], *, title: str
) -> Figure:
    """Row-normalised confusion matrices side by side (overall, then per group).

    Parameters
    ----------
    matrices : sequence of (str, pandas.DataFrame, pandas.DataFrame)
        Panel title, count matrix (true classes as rows, predicted as columns) and
        its row shares (:meth:`AuditResult.confusion_matrix` with ``normalize="true"``;
        NaN rows are blank).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Colour: the share of the true row (recall on the diagonal); rows without
        true samples are blank. The numbers are in the report's tables, not drawn.
    """
    n_classes = matrices[0][1].shape[0]
    labels = [_short(c, 14) for c in matrices[0][1].columns]
    label_width = _label_inches(labels)
    panel = max(0.32 * n_classes, 1.4)
    left, right, bottom, top, gap = label_width + 0.45, 0.9, label_width + 0.45, 0.65, 0.3
    n = len(matrices)
    fig = Figure(figsize=(left + right + n * panel + (n - 1) * gap, bottom + top + panel))
    axes = fig.subplots(1, n, squeeze=False)[0]
    _place(fig, left=left, right=right, bottom=bottom, top=top, gap=gap, n_columns=n)
    image = None
    ticks = np.arange(n_classes)
    for i, (ax, (name, counts, shares)) in enumerate(zip(axes, matrices, strict=True)):
        share = shares.to_numpy(dtype=float)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=90, fontsize=_SMALL)
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels if i == 0 else [], fontsize=_SMALL)
        ax.set_title(f"{_short(name, 24)}\n(n = {int(counts.to_numpy().sum()):,})", fontsize=_SMALL)
        ax.set_xlabel("predicted", fontsize=_SMALL)
        if i == 0:
            ax.set_ylabel("true", fontsize=_SMALL)
    fig.suptitle(_short(title, 80), fontsize=_LARGE)
    _colorbar(fig, image, right=right, label="share of the true row")
    return fig


def plot_metric_heatmap(
    values: pd.DataFrame,
    support: pd.DataFrame,
    *,
    title: str,
    min_support: int,
    metric: str = "accuracy",
) -> Figure:
    """A metric across two attributes; cells under ``min_support`` rows outlined.

    Parameters
    ----------
    values, support : pandas.DataFrame
        The metric and the number of rows of each cell (same shape and labels).
    title : str
        Figure title.
    min_support : int
        Cells with fewer rows are outlined in red (too small to judge); empty
        cells are blank. The values are in the report's table, not drawn.
    metric : str, default="accuracy"
        Name of the colour bar.
    """
    n_rows, n_columns = values.shape
    row_labels = [_short(c, 16) for c in values.index]
    column_labels = [_short(c, 16) for c in values.columns]
    left, right = _label_inches(row_labels) + 0.5, 1.0
    bottom, top = _label_inches(column_labels) + 0.5, 0.4
    fig = Figure(
        figsize=(left + right + 0.5 * max(n_columns, 3), bottom + top + 0.33 * max(n_rows, 2))
    )
    ax = fig.subplots()
    _place(fig, left=left, right=right, bottom=bottom, top=top)
    image = ax.imshow(values.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    small = support.to_numpy() < min_support
    for i, j in zip(*small.nonzero(), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=_RED, lw=1.5))
    ax.set_xticks(np.arange(n_columns))
    ax.set_xticklabels(column_labels, rotation=90, fontsize=_SMALL)
    ax.set_yticks(np.arange(n_rows))
    ax.set_yticklabels(row_labels, fontsize=_SMALL)
    ax.set_xlabel(_short(values.columns.name or "", 40), fontsize=_SMALL)
    ax.set_ylabel(_short(values.index.name or "", 40), fontsize=_SMALL)
    ax.set_title(_short(title, 60), fontsize=_MEDIUM)
    _colorbar(fig, image, right=right, label=metric)
    return fig


def plot_group_intervals(
    panels: Sequence[tuple[str, pd.DataFrame]],
    *,
    title: str,
    overall: float | None = None,
    metric: str = "accuracy",
) -> Figure:
    """A metric per group with its interval, one panel per attribute.

    Parameters
    ----------
    panels : sequence of (str, pandas.DataFrame)
        Attribute name and a frame with columns ``group``, ``estimate``, ``lower``,
        ``upper`` and ``small`` (bool: drawn hollow, too small to judge).
    title : str
        Figure title.
    overall : float, optional
        The overall value, drawn as a dashed line.
    metric : str, default="accuracy"
        Axis label.
    """
    label_width = max(_label_inches([_short(g) for g in f["group"]]) for _, f in panels)
    n_max = max(max(len(frame), 1) for _, frame in panels)
    left, right, bottom, top, gap = label_width + 0.15, 0.2, 0.5, 0.6, label_width + 0.35
    n, panel_width = len(panels), 2.6
    fig = Figure(
        figsize=(left + right + n * panel_width + (n - 1) * gap, bottom + top + 0.26 * n_max)
    )
    axes = fig.subplots(1, n, squeeze=False)[0]
    _place(fig, left=left, right=right, bottom=bottom, top=top, gap=gap, n_columns=n)
    for ax, (attribute, frame) in zip(axes, panels, strict=True):
        y = np.arange(len(frame))[::-1] + (n_max - len(frame))  # top-aligned panels
        estimate = frame["estimate"].to_numpy(dtype=float)
        low = estimate - frame["lower"].to_numpy(dtype=float)
        high = frame["upper"].to_numpy(dtype=float) - estimate
        errors = np.nan_to_num(np.vstack([low, high]), nan=0.0).clip(min=0)
        small = frame["small"].to_numpy(dtype=bool)
        ax.errorbar(estimate, y, xerr=errors, fmt="none", ecolor="#555555", capsize=2, lw=1)
        ax.scatter(estimate[~small], y[~small], color=_BLUE, zorder=3, s=16)
        ax.scatter(estimate[small], y[small], facecolor="white", edgecolor=_RED, zorder=3, s=16)
        if overall is not None and np.isfinite(overall):
            ax.axvline(overall, color="#888888", ls="--", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels([_short(g) for g in frame["group"]], fontsize=_SMALL)
        ax.set_ylim(-0.7, n_max - 0.3)
        ax.set_xlim(0, 1)
        ax.set_xlabel(metric, fontsize=_SMALL)
        ax.set_title(_short(attribute, 40), fontsize=_MEDIUM)
        ax.tick_params(axis="x", labelsize=_SMALL)
        ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    fig.suptitle(_short(title, 80), fontsize=_LARGE)
    return fig


def plot_reliability(curves: Sequence[tuple[str, pd.DataFrame]], *, title: str) -> Figure:
    """Reliability diagram: accuracy against mean confidence per bin, one line per group.

    Parameters
    ----------
    curves : sequence of (str, pandas.DataFrame)
        Group name and its reliability frame (columns ``n``, ``mean_confidence``,
        ``accuracy``, as :meth:`AuditResult.reliability` gives); empty bins are
        skipped.
    title : str
        Figure title.
    """
    fig = Figure(figsize=(4.4, 3.9))
    ax = fig.subplots()
    _place(fig, left=0.6, right=0.15, bottom=0.5, top=0.35)
    ax.plot([0, 1], [0, 1], color="#999999", ls="--", lw=1, label="perfect calibration")
    for name, frame in curves:
        kept = frame[frame["n"] > 0]
        ax.plot(
            kept["mean_confidence"], kept["accuracy"], marker="o", ms=3, lw=1.2, label=_short(name)
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence (per bin)", fontsize=_SMALL)
    ax.set_ylabel("accuracy (per bin)", fontsize=_SMALL)
    ax.tick_params(labelsize=_SMALL)
    ax.legend(fontsize=_SMALL, loc="lower right")
    ax.set_title(_short(title, 60), fontsize=_MEDIUM)
    return fig
