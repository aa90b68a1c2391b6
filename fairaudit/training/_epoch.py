"""One training epoch and one validation pass: batches, losses, running sums."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from fairaudit.datasets._torchdata import collate_faces
from fairaudit.exceptions import DataValidationError
from fairaudit.training._distributed import DistributedContext, EpochSampler
from fairaudit.training._sums import _Sums

if TYPE_CHECKING:
    from fairaudit.training._config import TrainConfig
    from fairaudit.training._resume import _RunState
    from fairaudit.training._setup import _Setup


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


def _train_epoch(
    setup: _Setup,
    state: _RunState,
    config: TrainConfig,
    ctx: DistributedContext,
    *,
    net: nn.Module,
    sampler: EpochSampler,
    epoch: int,
    progress: bool,
    checkpoint: Callable[[int, _Sums, int], None],
) -> tuple[_Sums, int]:
    """Train one epoch (continuing a resumed one); its sums over all processes, corrupt skipped.

    ``checkpoint(step, sums, skipped)`` is called every ``config.checkpoint_every_steps``
    optimizer steps within the epoch. ``state.global_step`` counts the steps.
    """
    tasks, local_batch, optimizer = setup.tasks, setup.local_batch, setup.optimizer
    first = epoch == state.start_epoch
    skip_items = state.start_step * local_batch if first else 0
    sampler.set_epoch(epoch, skip=skip_items)
    partial = state.partial
    if partial is not None and first and state.start_step > 0:
        sums = _Sums(tasks, partial["sums"])
        skipped = int(partial["n_corrupt"])
        torch.set_rng_state(partial["rng"])
    else:
        sums, skipped = _Sums(tasks), 0
        torch.manual_seed(_epoch_seed(config.seed, epoch, ctx.rank))
    loader_generator = torch.Generator()
    loader_generator.manual_seed(_epoch_seed(config.seed, epoch, ctx.rank))
    loader = DataLoader(
        setup.train_set,
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
        initial=state.start_step if first else 0,
        disable=not progress,
        unit="batch",
    )
    step = state.start_step if first else 0
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
            loss, losses, metrics = _task_losses(outputs, targets, tasks, state.class_weights)
            loss.backward()
            optimizer.step()
            sums.add(len(batch), float(loss.detach()), [float(v.detach()) for v in losses], metrics)
            if progress:
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        step += 1
        state.global_step += 1
        every = config.checkpoint_every_steps
        if every and step % every == 0 and step < n_steps:
            checkpoint(step, sums, skipped)
    bar.close()

    train_reduced = ctx.all_reduce_sum(
        torch.cat([sums.values, torch.tensor([skipped], dtype=torch.float64)])
    )
    train_sums, train_skipped = _Sums(tasks, train_reduced[:-1]), int(train_reduced[-1])
    if train_sums.n == 0:
        raise DataValidationError(
            f"epoch {epoch + 1}: every training image was unreadable ({train_skipped} skipped)"
        )
    return train_sums, train_skipped


def _validate_epoch(
    setup: _Setup,
    config: TrainConfig,
    ctx: DistributedContext,
    *,
    val_loader: DataLoader,
    epoch: int,
    progress: bool,
) -> tuple[_Sums, int]:
    """Validation sums of one epoch (all processes combined) and corrupt images skipped."""
    # The unwrapped model: DDP's forward would sync buffers, and the processes
    # may hold different numbers of validation batches.
    val_sums, val_skipped = _evaluate(
        setup.model,
        val_loader,
        setup.tasks,
        ctx,
        channels_last=config.channels_last,
        progress=progress,
        desc=f"validate {epoch + 1}",
    )
    if val_sums.n == 0:
        raise DataValidationError(
            f"epoch {epoch + 1}: every validation image was unreadable ({val_skipped} skipped)"
        )
    return val_sums, val_skipped


def _history_row(
    epoch: int,
    train: tuple[_Sums, int],
    val: tuple[_Sums, int],
    *,
    lr: float,
    started: float,
) -> dict[str, Any]:
    """The history row of one epoch (see :func:`fairaudit.training.train`)."""
    (train_sums, train_skipped), (val_sums, val_skipped) = train, val
    row: dict[str, Any] = {"epoch": epoch + 1}
    row.update(train_sums.means("train"))
    row.update(val_sums.means("val"))
    row.update(
        {
            "lr": lr,
            "n_train": train_sums.n,
            "n_val": val_sums.n,
            "n_corrupt_train": train_skipped,
            "n_corrupt_val": val_skipped,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return row
