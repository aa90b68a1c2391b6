"""The per-epoch training log: CSV and JSON files, and a plot of the curves."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fairaudit._io import atomic_path, atomic_write_text

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
    """Plot the training curves to a PNG, atomically.

    Up to three panels: the losses (total and per task), the accuracies of the
    classification tasks, the mean absolute errors (years) of the regression
    tasks. Solid lines: training; dashed: validation; one colour per task.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    tasks = [
        c[len("train_") : -len("_loss")]
        for c in history.columns
        if c.startswith("train_") and c.endswith("_loss") and c != "train_loss"
    ]
    panels = [("loss", ["", *tasks], "loss")]
    for metric, title in (("accuracy", "accuracy"), ("mae", "MAE (years)")):
        with_metric = [t for t in tasks if f"train_{t}_{metric}" in history.columns]
        if with_metric:
            panels.append((metric, with_metric, title))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    epochs = history["epoch"] if "epoch" in history else range(1, len(history) + 1)
    for ax, (metric, names, title) in zip(axes[0], panels, strict=True):
        for i, task in enumerate(names):
            column = f"{task}_{metric}" if task else metric
            color = f"C{i}"
            label = task or "total"
            ax.plot(
                epochs, history[f"train_{column}"], "-o", color=color, ms=3, label=f"{label} train"
            )
            ax.plot(
                epochs, history[f"val_{column}"], "--s", color=color, ms=3, label=f"{label} val"
            )
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return path
