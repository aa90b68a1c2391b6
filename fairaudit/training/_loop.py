"""The training loop: epochs, validation, checkpoints, early stopping, resume, DDP."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from fairaudit.exceptions import CheckpointError, DataValidationError
from fairaudit.training._class_weights import compute_class_weights
from fairaudit.training._config import TrainConfig
from fairaudit.training._distributed import (
    DistributedContext,
    EpochSampler,
    ShardSampler,
    init_distributed,
)
from fairaudit.training._early_stopping import EarlyStopping
from fairaudit.training._history import plot_history, write_history
from fairaudit.training._splits import limit_rows
from fairaudit.vocab import Vocabulary

__all__ = ["TrainResult", "dataset_tasks", "train"]

logger = logging.getLogger(__name__)

#: Marks the training state inside a checkpoint's ``extra``.
_STATE_FORMAT = "fairaudit.training/1"
#: Config fields that may change when a run is resumed.
_RESUMABLE_CHANGES = frozenset(
    {"max_epochs", "threads", "num_workers", "data_root", "checkpoint_every_steps"}
)
#: Keras' RMSprop defaults (rho 0.9, epsilon 1e-7): the original UTKFace study used Keras.
_RMSPROP_KWARGS = {"alpha": 0.9, "eps": 1e-7}


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


def dataset_tasks(dataset: str) -> tuple[Any, ...]:
    """The model task specs of a dataset (``FAIRFACE_TASKS`` or ``UTKFACE_TASKS``)."""
    from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS

    if dataset == "fairface":
        return tuple(FAIRFACE_TASKS)
    if dataset == "utkface":
        return tuple(UTKFACE_TASKS)
    raise DataValidationError(f"unknown dataset {dataset!r}: expected 'fairface' or 'utkface'")


# -- helpers ---------------------------------------------------------------------------------


def _vocabularies(tasks: Sequence[Any]) -> dict[str, Vocabulary]:
    return {t.name: Vocabulary(t.name, tuple(t.classes)) for t in tasks if t.is_classification}


def _set_train_mode(model: nn.Module, *, freeze_batchnorm: bool) -> None:
    """``model.train()``, but BatchNorm layers stay in inference mode when frozen.

    A BatchNorm is frozen when ``freeze_batchnorm`` is set, or when none of its
    parameters is trained (a frozen backbone keeps its running statistics).
    """
    model.train()
    for module in model.modules():
        if isinstance(module, _BatchNorm) and (
            freeze_batchnorm or not any(p.requires_grad for p in module.parameters())
        ):
            module.eval()


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of torch's global RNG (augmentation, dropout) for one epoch of one process."""
    return (seed * 1_000_003 + epoch * 7919 + rank * 104_729) % (2**63 - 1)


def _build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise DataValidationError("the model has no trainable parameter")
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.RMSprop(
        params, lr=config.lr, weight_decay=config.weight_decay, **_RMSPROP_KWARGS
    )


class _Sums:
    """Per-epoch running sums of losses and metrics, in one float64 tensor.

    Layout: ``[n, loss_sum, (task_loss_sum, task_metric_sum) per task]``; the
    metric is the number correct (classification) or the sum of absolute
    errors in the task's unit (regression). One tensor so that one
    ``all_reduce`` combines the processes.
    """

    def __init__(self, tasks: Sequence[Any], values: torch.Tensor | None = None) -> None:
        self.tasks = tuple(tasks)
        self.values = (
            torch.zeros(2 + 2 * len(self.tasks), dtype=torch.float64)
            if values is None
            else values.clone().to(torch.float64)
        )

    def add(self, n: int, loss: float, task_losses: Sequence[float], metrics: Sequence[float]):
        row = [n, loss * n]
        for task_loss, metric in zip(task_losses, metrics, strict=True):
            row += [task_loss * n, metric]
        self.values += torch.tensor(row, dtype=torch.float64)

    def means(self, prefix: str) -> dict[str, float]:
        n = float(self.values[0])
        mean = (lambda s: float(s) / n) if n > 0 else (lambda s: math.nan)
        out = {f"{prefix}_loss": mean(self.values[1])}
        for i, task in enumerate(self.tasks):
            out[f"{prefix}_{task.name}_loss"] = mean(self.values[2 + 2 * i])
            metric = "accuracy" if task.is_classification else "mae"
            out[f"{prefix}_{task.name}_{metric}"] = mean(self.values[3 + 2 * i])
        return out

    @property
    def n(self) -> int:
        return int(self.values[0])


def _task_losses(
    outputs: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    tasks: Sequence[Any],
    class_weights: dict[str, torch.Tensor] | None,
) -> tuple[torch.Tensor, list[torch.Tensor], list[float]]:
    """(total loss, per-task losses, per-task metric sums) of one batch."""
    losses, metrics = [], []
    for task in tasks:
        out, target = outputs[task.name], targets[task.name]
        if task.is_classification:
            weight = None if class_weights is None else class_weights.get(task.name)
            losses.append(F.cross_entropy(out.float(), target, weight=weight))
            metrics.append(float((out.argmax(dim=1) == target).sum()))
        else:
            scaled = target.float() / task.max_value
            losses.append(F.mse_loss(out.float(), scaled))
            metrics.append(float((out.detach().float() * task.max_value - target).abs().sum()))
    return torch.stack(losses).sum(), losses, metrics


def _to_device(batch: Any, device: torch.device, channels_last: bool):
    images = batch.images.to(device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    targets = {k: v.to(device) for k, v in batch.targets.items()}
    return images, targets


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    loader: DataLoader,
    tasks: Sequence[Any],
    ctx: DistributedContext,
    *,
    channels_last: bool,
    progress: bool,
    desc: str,
) -> tuple[_Sums, int]:
    """Validation sums (all processes combined) and corrupt images skipped."""
    model.eval()
    sums = _Sums(tasks)
    skipped = 0
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress, unit="batch"):
        skipped += batch.n_skipped
        if len(batch) == 0:
            continue
        images, targets = _to_device(batch, ctx.device, channels_last)
        outputs = model(images)
        loss, losses, metrics = _task_losses(outputs, targets, tasks, None)
        sums.add(len(batch), float(loss.detach()), [float(v.detach()) for v in losses], metrics)
    reduced = ctx.all_reduce_sum(
        torch.cat([sums.values, torch.tensor([skipped], dtype=torch.float64)])
    )
    return _Sums(tasks, reduced[:-1]), int(reduced[-1])


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


# -- the loop ----------------------------------------------------------------------------------


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
    from fairaudit.datasets import FaceDataset, collate_faces

    tasks = dataset_tasks(config.dataset)
    task_names = tuple(t.name for t in tasks)
    vocabularies = _vocabularies(tasks)
    regression_age = any(t.name == "age" and not t.is_classification for t in tasks)
    if config.batch_size % ctx.world_size:
        raise DataValidationError(
            f"batch_size {config.batch_size} is the global batch: it must be a multiple of the "
            f"{ctx.world_size} processes"
        )
    local_batch = config.batch_size // ctx.world_size

    train_table = limit_rows(train_table, config.limit_train, seed=config.seed)
    val_table = limit_rows(val_table, config.limit_val, seed=config.seed + 1)
    dataset_kwargs = {
        "image_size": config.image_size,
        "tasks": task_names,
        "vocabularies": vocabularies,
        "age_target": "years" if regression_age else "group",
    }
    train_set = FaceDataset(train_table, augment=config.augment, **dataset_kwargs)
    val_set = FaceDataset(val_table, augment=False, **dataset_kwargs)
    for name, data in (("training", train_set), ("validation", val_set)):
        if len(data) == 0:
            raise DataValidationError(f"the {name} table has no row with an image")
    n_without_image = train_set.n_without_image + val_set.n_without_image

    # -- model, optimizer, state ------------------------------------------------------------
    torch.manual_seed(config.seed)
    model = build_model(
        config.arch,
        tasks=tasks,
        pretrained=config.pretrained,
        weights_path=config.weights_path,
        freeze_backbone=config.freeze_backbone,
        **config.arch_kwargs,
    )
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model = model.to(ctx.device)
    optimizer = _build_optimizer(config, model)
    stopper = EarlyStopping(
        config.early_stopping, min_delta=config.min_delta, patience=config.patience
    )
    history: list[dict[str, Any]] = []
    start_epoch, start_step, global_step = 0, 0, 0
    best_val_loss, best_epoch = math.inf, 0
    partial: dict[str, Any] | None = None
    class_weights: dict[str, torch.Tensor] | None = None
    early_reason: str | None = None

    last_path, best_path = output_dir / "last.pt", output_dir / "best.pt"
    if resume and last_path.exists():
        loaded = load_checkpoint(last_path, expected_arch=config.arch, expected_tasks=tasks)
        state = _training_state(loaded.extra, last_path)
        _check_resume_config(state["config"], config, last_path)
        model.load_state_dict(loaded.model.state_dict())
        optimizer.load_state_dict(state["optimizer"])
        stopper.load_state_dict(state["early_stopping"])
        history = [dict(row) for row in state["history"]]
        start_epoch, start_step = int(state["epoch"]), int(state["step_in_epoch"])
        global_step = int(state["global_step"])
        best_val_loss = float(state["best_val_loss"])
        best_epoch = int(state["best_epoch"])
        class_weights = state.get("class_weights")
        partial = state.get("partial_epoch")
        early_reason = state.get("early_stopping_reason")
        logger.info("resuming %s at epoch %d step %d", last_path, start_epoch + 1, start_step)
    elif config.class_weighting:
        with_images = train_table
        if "has_image" in train_table.columns:
            with_images = train_table[train_table["has_image"].fillna(False).to_numpy(dtype=bool)]
        class_weights = compute_class_weights(
            with_images, vocabularies=vocabularies, tasks=list(vocabularies)
        )
    if class_weights is not None:
        class_weights = {k: v.to(ctx.device) for k, v in class_weights.items()}

    net: nn.Module = model
    if ctx.is_distributed:
        has_bn = any(isinstance(m, _BatchNorm) for m in model.modules())
        if ctx.device.type == "cuda" and config.sync_batchnorm:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif has_bn and not config.freeze_batchnorm:
            logger.warning(
                "distributed training on CPU: SyncBatchNorm needs GPUs, so each process's "
                "BatchNorm normalises its own %d images of the batch",
                local_batch,
            )
        net = nn.parallel.DistributedDataParallel(
            net, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None
        )

    def save(path: Path, *, epoch: int, step: int, sums: _Sums | None, skipped: int) -> None:
        if not ctx.is_main:
            return
        state = {
            "format": _STATE_FORMAT,
            "config": config.to_dict(),
            "epoch": epoch,
            "step_in_epoch": step,
            "global_step": global_step,
            "optimizer": optimizer.state_dict(),
            "early_stopping": stopper.state_dict(),
            "history": history,
            "best_val_loss": best_val_loss,
            "best_epoch": best_epoch,
            "class_weights": None
            if class_weights is None
            else {k: v.cpu() for k, v in class_weights.items()},
            "partial_epoch": None
            if sums is None
            else {"sums": sums.values.clone(), "n_corrupt": skipped, "rng": torch.get_rng_state()},
            "early_stopping_reason": early_reason,
        }
        save_checkpoint(
            path,
            model=model,
            input_size=config.image_size,
            extra={"training": state},
        )

    # -- epochs -----------------------------------------------------------------------------
    sampler = EpochSampler(train_set, seed=config.seed, rank=ctx.rank, world_size=ctx.world_size)
    val_loader = DataLoader(
        val_set,
        batch_size=local_batch,
        sampler=ShardSampler(len(val_set), rank=ctx.rank, world_size=ctx.world_size),
        collate_fn=collate_faces,
        num_workers=config.num_workers,
    )
    epoch = start_epoch
    while early_reason is None and epoch < config.max_epochs:
        started = time.perf_counter()
        skip_items = start_step * local_batch if epoch == start_epoch else 0
        sampler.set_epoch(epoch, skip=skip_items)
        if partial is not None and epoch == start_epoch and start_step > 0:
            sums = _Sums(tasks, partial["sums"])
            skipped = int(partial["n_corrupt"])
            torch.set_rng_state(partial["rng"])
        else:
            sums, skipped = _Sums(tasks), 0
            torch.manual_seed(_epoch_seed(config.seed, epoch, ctx.rank))
        loader_generator = torch.Generator()
        loader_generator.manual_seed(_epoch_seed(config.seed, epoch, ctx.rank))
        loader = DataLoader(
            train_set,
            batch_size=local_batch,
            sampler=sampler,
            collate_fn=collate_faces,
            num_workers=config.num_workers,
            generator=loader_generator,
            pin_memory=ctx.device.type == "cuda",
        )
        n_steps = math.ceil(sampler.num_samples / local_batch)
        _set_train_mode(net, freeze_batchnorm=config.freeze_batchnorm)
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{config.max_epochs}",
            total=n_steps,
            initial=start_step if epoch == start_epoch else 0,
            disable=not progress,
            unit="batch",
        )
        step = start_step if epoch == start_epoch else 0
        for batch in bar:
            skipped += batch.n_skipped
            optimizer.zero_grad(set_to_none=True)
            if len(batch) == 0:
                if not ctx.is_distributed:
                    step += 1
                    continue
                # Every process must join the gradient all-reduce: a forward pass on
                # one blank image whose loss is multiplied by 0.
                blank = torch.zeros(1, 3, config.image_size, config.image_size, device=ctx.device)
                outputs = net(blank)
                loss = torch.stack([o.sum() for o in outputs.values()]).sum() * 0.0
                loss.backward()
                optimizer.step()
            else:
                images, targets = _to_device(batch, ctx.device, config.channels_last)
                outputs = net(images)
                loss, losses, metrics = _task_losses(outputs, targets, tasks, class_weights)
                loss.backward()
                optimizer.step()
                sums.add(
                    len(batch), float(loss.detach()), [float(v.detach()) for v in losses], metrics
                )
                if progress:
                    bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
            step += 1
            global_step += 1
            every = config.checkpoint_every_steps
            if every and step % every == 0 and step < n_steps:
                save(last_path, epoch=epoch, step=step, sums=sums, skipped=skipped)
                _after_step_checkpoint(last_path)
        bar.close()
        start_step = 0

        train_reduced = ctx.all_reduce_sum(
            torch.cat([sums.values, torch.tensor([skipped], dtype=torch.float64)])
        )
        train_sums, train_skipped = _Sums(tasks, train_reduced[:-1]), int(train_reduced[-1])
        if train_sums.n == 0:
            raise DataValidationError(
                f"epoch {epoch + 1}: every training image was unreadable ({train_skipped} skipped)"
            )
        # The unwrapped model: DDP's forward would sync buffers, and the processes
        # may hold different numbers of validation batches.
        val_sums, val_skipped = _evaluate(
            model,
            val_loader,
            tasks,
            ctx,
            channels_last=config.channels_last,
            progress=progress,
            desc=f"validate {epoch + 1}",
        )
        if val_sums.n == 0:
            raise DataValidationError(
                f"epoch {epoch + 1}: every validation image was unreadable ({val_skipped} skipped)"
            )
        row: dict[str, Any] = {"epoch": epoch + 1}
        row.update(train_sums.means("train"))
        row.update(val_sums.means("val"))
        row.update(
            {
                "lr": float(optimizer.param_groups[0]["lr"]),
                "n_train": train_sums.n,
                "n_val": val_sums.n,
                "n_corrupt_train": train_skipped,
                "n_corrupt_val": val_skipped,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        history.append(row)
        if stopper.step(train_loss=row["train_loss"], val_loss=row["val_loss"]):
            early_reason = f"early stopping after epoch {epoch + 1}: {stopper.reason}"
        if row["val_loss"] < best_val_loss:
            best_val_loss, best_epoch = row["val_loss"], epoch + 1
            save(best_path, epoch=epoch + 1, step=0, sums=None, skipped=0)
        save(last_path, epoch=epoch + 1, step=0, sums=None, skipped=0)
        if ctx.is_main:
            write_history(history, output_dir)
            logger.info(
                "epoch %d: train loss %.4f, val loss %.4f",
                epoch + 1,
                row["train_loss"],
                row["val_loss"],
            )
        epoch += 1
    frame = pd.DataFrame(history)
    if ctx.is_main and len(frame):
        # Once at the end: drawing is slow next to a tiny epoch (history.csv is per epoch).
        plot_history(frame, output_dir / "curves.png")
    ctx.barrier()

    stopped_reason = early_reason or f"reached max_epochs ({config.max_epochs})"
    return TrainResult(
        best_checkpoint=best_path,
        last_checkpoint=last_path,
        history=frame,
        stopped_reason=stopped_reason,
        n_corrupt_skipped=int(frame[["n_corrupt_train", "n_corrupt_val"]].to_numpy().sum())
        if len(frame)
        else 0,
        n_without_image=n_without_image,
        best_epoch=best_epoch,
        output_dir=output_dir,
    )


def _after_step_checkpoint(path: Path) -> None:
    """Hook called after each within-epoch checkpoint (tests interrupt a run here)."""
