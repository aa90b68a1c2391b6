"""Package a training run as a shippable model: a lean checkpoint and its model card.

A model card says what a model is and how far to trust it: the data it saw, the
recipe and exact command, the seed, the input size, the training time, and the
evaluation figures with their intervals beside published references. It is
written as JSON (read by :func:`fairaudit.models.shipped_model_card` and by the
test that re-checks every shipped model) and as Markdown for people.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import pandas as pd

from fairaudit.exceptions import CheckpointError, MissingDependencyError

try:
    import torch  # the extra "models"
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    raise MissingDependencyError.for_extra("models", "torch") from None

from fairaudit._io import atomic_write_text
from fairaudit._version import __version__
from fairaudit.evaluate import ModelEvaluation
from fairaudit.models import load_checkpoint, save_checkpoint

__all__ = [
    "build_model_card",
    "format_model_card",
    "package_run",
]


def _training_summary(run_dir: Path) -> dict[str, Any]:
    history_path = run_dir / "history.csv"
    if not history_path.is_file():
        raise CheckpointError(f"{run_dir}: no history.csv (is this a fairaudit training run?)")
    history = pd.read_csv(history_path)
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    # the checkpoint kept: the lowest validation loss, or the last epoch when the run
    # chose nothing on its validation rows (train-heads --select last)
    chose_last = config.get("select") == "last"
    best = history.iloc[-1] if chose_last else history.loc[history["val_loss"].idxmin()]
    return {
        "selection": "last epoch" if chose_last else "lowest validation loss",
        "config": config,
        "epochs_run": int(history["epoch"].max()),
        "best_epoch": int(best["epoch"]),
        "best_val_loss": float(best["val_loss"]),
        "wall_time_s": float(history["seconds"].sum()),
        "n_train": int(history["n_train"].iloc[-1]),
        "n_val": int(history["n_val"].iloc[-1]),
        "history": history.to_dict(orient="records"),
    }


def build_model_card(
    run_dir: str | os.PathLike[str],
    evaluation: ModelEvaluation,
    *,
    name: str,
    data: dict[str, str],
    command: str,
    reference: dict[str, Any] | None = None,
    notes: str = "",
    history: str = "",
) -> dict[str, Any]:
    """Assemble the model card of a training run.

    Parameters
    ----------
    run_dir : path
        The ``fairaudit train`` output folder (``best.pt``, ``history.csv``,
        ``config.json``).
    evaluation : ModelEvaluation
        The evaluation of ``best.pt`` (:func:`fairaudit.evaluate.evaluate_checkpoint`).
    name : str
        The model's name (also its file names when shipped).
    data : dict of str
        Descriptions of the training and evaluation data.
    command : str
        The exact command that trained the model.
    reference : dict, optional
        Published figures to show beside ours, with their source.
    notes : str, optional
        Anything a user must know about the model itself (what it is, how it was
        trained and measured, its limits); the HTML report shows it.
    history : str, optional
        How the model came to be shipped (earlier versions it replaces, runs it
        reuses): kept in the card (JSON and Markdown), left out of the report,
        which describes the model only.
    """
    run_dir = Path(run_dir)
    loaded = load_checkpoint(run_dir / "best.pt")
    training = _training_summary(run_dir)
    return {
        "name": name,
        "arch": loaded.arch,
        "arch_kwargs": loaded.arch_kwargs,
        "input_size": loaded.input_size,
        "tasks": [task.to_dict() for task in loaded.tasks],
        "parameters": int(sum(p.numel() for p in loaded.model.parameters())),
        "data": data,
        "command": command,
        "seed": training["config"].get("seed"),
        "recipe": training["config"],
        "training": {
            key: training[key]
            for key in (
                "epochs_run",
                "best_epoch",
                "best_val_loss",
                "wall_time_s",
                "n_train",
                "selection",
            )
        },
        "training_history": training["history"],
        "machine": f"{os.cpu_count()}-core {platform.machine()} CPU, torch {torch.__version__}",
        "evaluation": evaluation.to_dict(),
        "reference": reference or {},
        "notes": notes,
        **({"history": history} if history else {}),
        "library_version": __version__,
    }


def format_model_card(card: dict[str, Any]) -> str:
    """The model card as Markdown."""
    ev = card["evaluation"]
    level = round(100 * ev["confidence"])
    reference = card.get("reference") or {}
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"- Architecture: `{card['arch']}` ({card['parameters']:,} parameters), "
        f"input {card['input_size']} x {card['input_size']} px",
        f"- Tasks: {', '.join(t['name'] for t in card['tasks'])}",
        f"- Training data: {card['data'].get('train', '')}",
        f"- Evaluation data: {card['data'].get('evaluation', '')}",
        f"- Trained by: `{card['command']}` (seed {card['seed']})",
        f"- Training: {card['training']['epochs_run']} epoch(s), "
        + (
            "the last kept (nothing chosen on the validation rows), "
            if card["training"].get("selection") == "last epoch"
            else f"best epoch {card['training']['best_epoch']} by validation loss, "
        )
        + f"{card['training']['wall_time_s'] / 3600:.2f} h on {card['machine']}",
        "",
        f"| task | metric | estimate | {level}% interval | method | n |"
        + (" published reference |" if reference.get("figures") else ""),
        "|---|---|---|---|---|---|" + ("---|" if reference.get("figures") else ""),
    ]
    for task, m in ev["metrics"].items():
        row = (
            f"| {task} | {m['metric']} | {m['estimate']:.4f} | "
            f"[{m['lower']:.4f}, {m['upper']:.4f}] | {m.get('interval', '')} | {m['n']:,} |"
        )
        if reference.get("figures"):
            ref = reference["figures"].get(task)
            row += f" {ref if ref is not None else '-'} |"
        lines.append(row)
    if reference.get("source"):
        lines += ["", f"Reference: {reference['source']}"]
    lines += _group_lines(ev, level)
    if card.get("notes"):
        lines += ["", card["notes"]]
    if card.get("history"):
        lines += ["", "## History", "", card["history"]]
    return "\n".join(lines) + "\n"


def _group_lines(ev: dict[str, Any], level: int) -> list[str]:
    """Accuracy per group: one row per group of each attribute, one column per task."""
    groups = pd.DataFrame(ev.get("groups") or [])
    if groups.empty:
        return []
    tasks = list(dict.fromkeys(groups["task"]))
    method = ev.get("group_interval")  # cards written before it was saved have none
    lines = [
        "",
        f"## Accuracy per group ({level}% {method + ' ' if method else ''}intervals)",
        "",
        "| attribute | group | n | " + " | ".join(tasks) + " |",
        "|---|---|---|" + "---|" * len(tasks),
    ]
    first = groups[groups["task"] == tasks[0]]
    for row in first.itertuples(index=False):
        if row.n == 0:
            continue
        cells = []
        for task in tasks:
            cell = groups[
                (groups["task"] == task)
                & (groups["attribute"] == row.attribute)
                & (groups["group"] == row.group)
            ].iloc[0]
            cells.append(f"{cell['accuracy']:.3f} [{cell['lower']:.3f}, {cell['upper']:.3f}]")
        lines.append(f"| {row.attribute} | {row.group} | {row.n:,} | " + " | ".join(cells) + " |")
    return lines


def package_run(
    run_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    card: dict[str, Any],
) -> Path:
    """Write the lean checkpoint ``NAME.pt`` (no optimiser state) and ``NAME.json``/``.md``.

    Returns
    -------
    pathlib.Path
        The written checkpoint.
    """
    out_dir = Path(out_dir)
    loaded = load_checkpoint(Path(run_dir) / "best.pt")
    path = save_checkpoint(
        out_dir / f"{card['name']}.pt",
        model=loaded.model,
        input_size=loaded.input_size,
        extra={"model_card_name": card["name"]},
    )
    write_model_card(card, out_dir)
    return path


def write_model_card(card: dict[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Write ``NAME.json`` and its Markdown ``NAME.md`` (atomically); returns the JSON's path."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / f"{card['name']}.md", format_model_card(card))
    return atomic_write_text(out_dir / f"{card['name']}.json", json.dumps(card, indent=2) + "\n")
