"""Seaborn figures of a dataset audit, returned (never shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fairaudit.dataset_audit._dataset_audit import DatasetAudit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_distributions", "plot_joint_heatmap"]


def plot_distributions(audit: DatasetAudit, *, proportions: bool = True) -> Figure:
    """Bar charts of every attribute's class distribution, side by side.

    Parameters
    ----------
    audit : DatasetAudit
        The audit to draw.
    proportions : bool, default=True
        Plot shares of the rows; ``False`` plots raw counts.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the caller saves or embeds it (it is not shown).
    """
    import matplotlib.pyplot as plt  # lazily: about a second of CPU to import
    import seaborn as sns

    attributes = audit.attributes
    widths = [max(len(audit.counts.vocabulary(a)), 2) for a in attributes]
    fig, axes = plt.subplots(
        1,
        len(attributes),
        figsize=(2.0 + 0.7 * sum(widths), 3.6),
        gridspec_kw={"width_ratios": widths},
        squeeze=False,
    )
    column = "proportion" if proportions else "count"
    for ax, attribute in zip(axes[0], attributes):
        frame = audit.distribution(attribute).reset_index()
        frame[attribute] = frame[attribute].astype(str)
        sns.barplot(data=frame, x=attribute, y=column, ax=ax, color="#4c72b0")
        balanced = 1 / len(frame) if proportions else audit.n / len(frame)
        ax.axhline(balanced, color="#c44e52", ls="--", lw=1, label="balanced")
        ax.set_title(attribute)
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        ax.set_xlabel("")
    axes[0][0].set_ylabel(column)
    fig.suptitle(f"{audit.name}: label distributions (n = {audit.n:,})")
    fig.tight_layout()
    return fig


def plot_joint_heatmap(
    audit: DatasetAudit, rows: str, columns: str, *, normalize: bool = False
) -> Figure:
    """Heatmap of two attributes' joint counts (or shares), cells annotated.

    Cells below the audit's ``min_cell_count`` are outlined in red.
    """
    import matplotlib.pyplot as plt  # lazily: about a second of CPU to import
    import seaborn as sns

    table = audit.joint([rows, columns], normalize=normalize)
    fig, ax = plt.subplots(figsize=(1.0 + 1.1 * table.shape[1], 1.0 + 0.5 * table.shape[0]))
    sns.heatmap(
        table.set_axis(table.index.astype(str), axis=0).set_axis(table.columns.astype(str), axis=1),
        annot=True,
        fmt=".3f" if normalize else "d",
        cmap="viridis",
        ax=ax,
        cbar=True,
    )
    counts = audit.joint([rows, columns]).to_numpy()
    for i, j in zip(*(counts < audit.min_cell_count).nonzero()):
        ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, edgecolor="#c44e52", lw=2))
    ax.set_title(f"{audit.name}: {rows} x {columns}")
    fig.tight_layout()
    return fig
