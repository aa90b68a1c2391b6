"""Resuming a training run: the training state stored in a checkpoint, saved and restored."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from fairaudit.exceptions import CheckpointError
from fairaudit.training._class_weights import compute_class_weights
from fairaudit.training._config import TrainConfig
from fairaudit.training._distributed import DistributedContext
from fairaudit.training._sums import _Sums

if TYPE_CHECKING:
    from fairaudit.training._setup import _Setup

logger = logging.getLogger(__name__)

#: Marks the training state inside a checkpoint's ``extra``.
_STATE_FORMAT = "fairaudit.training/1"
#: Config fields that may change when a run is resumed.
_RESUMABLE_CHANGES = frozenset(
    {"max_epochs", "threads", "num_workers", "data_root", "checkpoint_every_steps"}
)


@dataclass
class _RunState:
    """The mutable state of a run: where it is, what it has seen, what it keeps.

    ``start_epoch`` / ``start_step`` are where the run (re)starts (0-based epoch,
    optimizer steps already done in it); ``partial`` holds the running sums,
    corrupt count and RNG state of a checkpoint taken within an epoch.
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0
    start_step: int = 0
    global_step: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = 0
    partial: dict[str, Any] | None = None
    class_weights: dict[str, torch.Tensor] | None = None
    early_reason: str | None = None


def _check_resume_config(stored: dict[str, Any], config: TrainConfig, path: Path) -> None:
    current = config.to_dict()
    differences = {
        key: (stored.get(key), current[key])
        for key in current
        if key not in _RESUMABLE_CHANGES and stored.get(key) != current[key]
    }
    if differences:
        shown = ", ".join(
            f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *v) for k, v in differences.items())
        )
        raise CheckpointError(
            f"cannot resume from {path}: the configuration differs ({shown}); "
            "use another output folder or resume=False"
        )


def _training_state(extra: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    state = (extra or {}).get("training")
    if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
        raise CheckpointError(f"{path} holds no fairaudit training state: cannot resume from it")
    return state


def _initial_state(
    config: TrainConfig,
    setup: _Setup,
    ctx: DistributedContext,
    *,
    last_path: Path,
    resume: bool,
    load_checkpoint: Callable[..., Any],
) -> _RunState:
    """The state a run starts from: restored from ``last_path``, or a fresh one.

    Restoring loads the model's weights, the optimizer and early stopping into
    ``setup``'s objects. A fresh run computes the class weights when
    ``config.class_weighting``. Class weights end on the run's device.
    """
    state = _RunState()
    if resume and last_path.exists():
        loaded = load_checkpoint(last_path, expected_arch=config.arch, expected_tasks=setup.tasks)
        stored = _training_state(loaded.extra, last_path)
        _check_resume_config(stored["config"], config, last_path)
        setup.model.load_state_dict(loaded.model.state_dict())
        setup.optimizer.load_state_dict(stored["optimizer"])
        setup.stopper.load_state_dict(stored["early_stopping"])
        state.history = [dict(row) for row in stored["history"]]
        state.start_epoch, state.start_step = int(stored["epoch"]), int(stored["step_in_epoch"])
        state.global_step = int(stored["global_step"])
        state.best_val_loss = float(stored["best_val_loss"])
        state.best_epoch = int(stored["best_epoch"])
        state.class_weights = stored.get("class_weights")
        state.partial = stored.get("partial_epoch")
        state.early_reason = stored.get("early_stopping_reason")
        logger.info(
            "resuming %s at epoch %d step %d", last_path, state.start_epoch + 1, state.start_step
        )
    elif config.class_weighting:
        train_table = setup.train_table
        with_images = train_table
        if "has_image" in train_table.columns:
            with_images = train_table[train_table["has_image"].fillna(False).to_numpy(dtype=bool)]
        state.class_weights = compute_class_weights(
            with_images, vocabularies=setup.vocabularies, tasks=list(setup.vocabularies)
        )
    if state.class_weights is not None:
        state.class_weights = {k: v.to(ctx.device) for k, v in state.class_weights.items()}
    return state


def _save_state(
    path: Path,
    config: TrainConfig,
    setup: _Setup,
    state: _RunState,
    ctx: DistributedContext,
    *,
    epoch: int,
    step: int,
    sums: _Sums | None,
    skipped: int,
    save_checkpoint: Callable[..., Any],
) -> None:
    """Write a resumable checkpoint (rank 0 only): the model and the run's state.

    ``epoch`` / ``step`` say where a resumed run continues; ``sums`` and
    ``skipped`` are the running sums of an epoch interrupted within (None at
    the end of an epoch).
    """
    if not ctx.is_main:
        return
    training = {
        "format": _STATE_FORMAT,
        "config": config.to_dict(),
        "epoch": epoch,
        "step_in_epoch": step,
        "global_step": state.global_step,
        "optimizer": setup.optimizer.state_dict(),
        "early_stopping": setup.stopper.state_dict(),
        "history": state.history,
        "best_val_loss": state.best_val_loss,
        "best_epoch": state.best_epoch,
        "class_weights": None
        if state.class_weights is None
        else {k: v.cpu() for k, v in state.class_weights.items()},
        "partial_epoch": None
        if sums is None
        else {"sums": sums.values.clone(), "n_corrupt": skipped, "rng": torch.get_rng_state()},
        "early_stopping_reason": state.early_reason,
    }
    save_checkpoint(
        path,
        model=setup.model,
        input_size=config.image_size,
        extra={"training": training},
    )
