"""The training loop: epochs, validation, checkpoints, early stopping, resume, DDP.

The run is set up in :mod:`~fairaudit.training._setup` (datasets, model,
optimizer, DDP), its state restored and saved by :mod:`~fairaudit.training._resume`,
and each epoch trained and validated by :mod:`~fairaudit.training._epoch`; this
module drives the epochs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from fairaudit.datasets._torchdata import collate_faces
from fairaudit.training._config import TrainConfig
from fairaudit.training._distributed import (
    DistributedContext,
    EpochSampler,
    ShardSampler,
    init_distributed,
)
from fairaudit.training._epoch import (
    _history_row,
    _task_losses,  # noqa: F401  (benchmarks/training_throughput.py imports it from here)
    _train_epoch,
    _validate_epoch,
)
from fairaudit.training._history import plot_history, write_history
from fairaudit.training._resume import _initial_state, _save_state
from fairaudit.training._setup import _set_up, _wrap_distributed, dataset_tasks
from fairaudit.training._sums import _Sums

__all__ = ["TrainResult", "dataset_tasks", "train"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes
    ----------
    best_checkpoint : pathlib.Path
        ``best.pt``: the weights of the epoch with the lowest validation loss.
    last_checkpoint : pathlib.Path
        ``last.pt``: the state after the last epoch (resumable).
    history : pandas.DataFrame
        One row per epoch (see :func:`train`).
    stopped_reason : str
        Why training ended (early-stopping rule, or ``max_epochs`` reached).
    n_corrupt_skipped : int
        Unreadable images skipped over the whole run (train and validation,
        summed over epochs), as listed per epoch in the history.
    n_without_image : int
        Table rows excluded because their image does not exist (train + val).
    best_epoch : int
        1-based epoch of ``best.pt``.
    output_dir : pathlib.Path
    """

    best_checkpoint: Path
    last_checkpoint: Path
    history: pd.DataFrame
    stopped_reason: str
    n_corrupt_skipped: int
    n_without_image: int
    best_epoch: int
    output_dir: Path


def train(
    config: TrainConfig,
    *,
    train_table: pd.DataFrame,
    val_table: pd.DataFrame,
    output_dir: str | Path,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train a multi-task face-attribute model.

    The loss is the sum over tasks of the cross-entropy (classification,
    weighted by class when ``config.class_weighting``) or of the mean squared
    error between the sigmoid output and ``years / max_value`` (regression).
    After each epoch the model is evaluated on ``val_table`` (unweighted losses);
    ``output_dir`` then receives, atomically:

    - ``last.pt``: model, optimizer, epoch, history, early-stopping state, RNG
      state, config and class weights (also every
      ``config.checkpoint_every_steps`` optimizer steps within an epoch);
    - ``best.pt``: the same for the epoch of lowest validation loss;
    - ``history.csv`` / ``history.json``: one row per epoch with ``epoch``,
      ``train_loss``, ``val_loss``, ``{split}_{task}_loss``,
      ``{split}_{task}_accuracy`` (classification) or ``{split}_{task}_mae``
      (regression, in years), ``lr``, ``n_train``, ``n_val``,
      ``n_corrupt_train``, ``n_corrupt_val``, ``seconds``;
    - ``curves.png``: the curves of the history (drawn when the run ends).

    A checkpoint alone is enough to predict: it holds the architecture, the
    task specs (class vocabularies), the input size and this config.

    Launched by ``torchrun`` with ``WORLD_SIZE > 1``, each process trains on its
    share of every batch (``config.batch_size`` is the global batch, divided by
    the number of processes) in a ``DistributedDataParallel`` model; only rank
    0 writes files.

    Parameters
    ----------
    config : TrainConfig
    train_table, val_table : pandas.DataFrame
        Label tables (:mod:`fairaudit.datasets`); rows without an image are
        excluded and counted.
    output_dir : path-like
    resume : bool, default=True
        If ``output_dir/last.pt`` exists, continue from it (exactly, including
        within an epoch). The stored config must match ``config`` except for
        ``max_epochs``, ``threads``, ``num_workers``, ``data_root`` and
        ``checkpoint_every_steps``.
    progress : bool, default=True
        Show tqdm progress bars (rank 0 only).

    Returns
    -------
    TrainResult

    Raises
    ------
    DataValidationError
        Empty tables, unknown labels, a batch size not divisible by the number
        of processes, a diverging loss.
    CheckpointError
        ``last.pt`` cannot be resumed (unreadable, or another configuration).
    """
    from fairaudit.models import build_model, load_checkpoint, save_checkpoint

    config.validate()
    output_dir = Path(output_dir)
    ctx = init_distributed()
    try:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        return _train(
            config,
            train_table=train_table,
            val_table=val_table,
            output_dir=output_dir,
            resume=resume,
            progress=progress and ctx.is_main,
            ctx=ctx,
            build_model=build_model,
            load_checkpoint=load_checkpoint,
            save_checkpoint=save_checkpoint,
        )
    finally:
        ctx.close()


def _train(
    config: TrainConfig,
    *,
    train_table: pd.DataFrame,
    val_table: pd.DataFrame,
    output_dir: Path,
    resume: bool,
    progress: bool,
    ctx: DistributedContext,
    build_model: Any,
    load_checkpoint: Any,
    save_checkpoint: Any,
) -> TrainResult:
    setup = _set_up(
        config, train_table=train_table, val_table=val_table, ctx=ctx, build_model=build_model
    )
    last_path, best_path = output_dir / "last.pt", output_dir / "best.pt"
    state = _initial_state(
        config, setup, ctx, last_path=last_path, resume=resume, load_checkpoint=load_checkpoint
    )
    net = _wrap_distributed(setup.model, config, ctx, local_batch=setup.local_batch)

    def save(path: Path, *, epoch: int, step: int, sums: _Sums | None, skipped: int) -> None:
        _save_state(
            path,
            config,
            setup,
            state,
            ctx,
            epoch=epoch,
            step=step,
            sums=sums,
            skipped=skipped,
            save_checkpoint=save_checkpoint,
        )

    sampler = EpochSampler(
        setup.train_set, seed=config.seed, rank=ctx.rank, world_size=ctx.world_size
    )
    val_loader = DataLoader(
        setup.val_set,
        batch_size=setup.local_batch,
        sampler=ShardSampler(len(setup.val_set), rank=ctx.rank, world_size=ctx.world_size),
        collate_fn=collate_faces,
        num_workers=config.num_workers,
    )
    epoch = state.start_epoch
    while state.early_reason is None and epoch < config.max_epochs:
        started = time.perf_counter()

        def checkpoint(step: int, sums: _Sums, skipped: int, epoch: int = epoch) -> None:
            save(last_path, epoch=epoch, step=step, sums=sums, skipped=skipped)
            _after_step_checkpoint(last_path)

        trained = _train_epoch(
            setup,
            state,
            config,
            ctx,
            net=net,
            sampler=sampler,
            epoch=epoch,
            progress=progress,
            checkpoint=checkpoint,
        )
        state.start_step = 0
        validated = _validate_epoch(
            setup, config, ctx, val_loader=val_loader, epoch=epoch, progress=progress
        )
        row = _history_row(
            epoch,
            trained,
            validated,
            lr=float(setup.optimizer.param_groups[0]["lr"]),
            started=started,
        )
        state.history.append(row)
        if setup.stopper.step(train_loss=row["train_loss"], val_loss=row["val_loss"]):
            state.early_reason = f"early stopping after epoch {epoch + 1}: {setup.stopper.reason}"
        if row["val_loss"] < state.best_val_loss:
            state.best_val_loss, state.best_epoch = row["val_loss"], epoch + 1
            save(best_path, epoch=epoch + 1, step=0, sums=None, skipped=0)
        save(last_path, epoch=epoch + 1, step=0, sums=None, skipped=0)
        if ctx.is_main:
            write_history(state.history, output_dir)
            logger.info(
                "epoch %d: train loss %.4f, val loss %.4f",
                epoch + 1,
                row["train_loss"],
                row["val_loss"],
            )
        epoch += 1
    frame = pd.DataFrame(state.history)
    if ctx.is_main and len(frame):
        # Once at the end: drawing is slow next to a tiny epoch (history.csv is per epoch).
        plot_history(frame, output_dir / "curves.png")
    ctx.barrier()

    stopped_reason = state.early_reason or f"reached max_epochs ({config.max_epochs})"
    return TrainResult(
        best_checkpoint=best_path,
        last_checkpoint=last_path,
        history=frame,
        stopped_reason=stopped_reason,
        n_corrupt_skipped=int(frame[["n_corrupt_train", "n_corrupt_val"]].to_numpy().sum())
        if len(frame)
        else 0,
        n_without_image=setup.n_without_image,
        best_epoch=state.best_epoch,
        output_dir=output_dir,
    )


def _after_step_checkpoint(path: Path) -> None:
    """Hook called after each within-epoch checkpoint (tests interrupt a run here)."""
