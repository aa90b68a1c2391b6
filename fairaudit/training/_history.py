"""The per-epoch training log: CSV and JSON files, and a plot of the curves."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fairaudit.training._io import atomic_path, atomic_write_text

__all__ = ["plot_history", "write_history"]


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_history(rows: Sequence[dict[str, Any]], output_dir: str | Path) -> pd.DataFrame:
    """Write the epoch rows to ``history.csv`` and ``history.json`` (atomically).

    Parameters
    ----------
    rows : sequence of dict
        One dict per epoch (``epoch``, ``train_loss``, ``val_loss``,
        ``{split}_{task}_loss``, ``{split}_{task}_accuracy`` / ``_mae`` ...).
    output_dir : path-like

    Returns
    -------
    pandas.DataFrame
        The history, one row per epoch.
    """
    output_dir = Path(output_dir)
    frame = pd.DataFrame(list(rows))
    with atomic_path(output_dir / "history.csv") as tmp:
        frame.to_csv(tmp, index=False)
    records = [{k: _json_value(v) for k, v in row.items()} for row in rows]
    atomic_write_text(output_dir / "history.json", json.dumps(records, indent=2) + "\n")
    return frame


def plot_history(history: pd.DataFrame, path: str | Path) -> Path:
    """Plot the loss and metric curves per task (train and val) to a PNG, atomically.

    One panel for the total loss, one per task for its loss, one per task for
    its metric (accuracy or MAE in years).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    metric_bases = sorted(
        {c[len("train_") :] for c in history.columns if c.startswith("train_")}
        & {c[len("val_") :] for c in history.columns if c.startswith("val_")}
    )
    # Order panels: total loss, then per-task losses, then metrics.
    metric_bases.sort(key=lambda b: (b != "loss", not b.endswith("_loss"), b))
    n = max(len(metric_bases), 1)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    epochs = history["epoch"] if "epoch" in history else range(1, len(history) + 1)
    for ax, base in zip(axes.flat, metric_bases, strict=False):
        for split, style in (("train", "-o"), ("val", "--s")):
            ax.plot(epochs, history[f"{split}_{base}"], style, label=split, markersize=3)
        ax.set_title(base.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(metric_bases) :]:
        ax.set_visible(False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
