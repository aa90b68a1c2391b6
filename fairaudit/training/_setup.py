"""Setting up a training run: task specs, datasets, model, optimizer, DDP wrapping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from fairaudit.datasets import FaceDataset
from fairaudit.exceptions import DataValidationError
from fairaudit.training._config import TrainConfig
from fairaudit.training._distributed import DistributedContext
from fairaudit.training._early_stopping import EarlyStopping
from fairaudit.training._splits import limit_rows
from fairaudit.vocab import Vocabulary

__all__ = ["dataset_tasks", "task_dataset"]

logger = logging.getLogger(__name__)

#: Keras' RMSprop defaults (rho 0.9, epsilon 1e-7): the original UTKFace study used Keras.
_RMSPROP_KWARGS = {"alpha": 0.9, "eps": 1e-7}


def dataset_tasks(dataset: str) -> tuple[Any, ...]:
    """The model task specs of a dataset (``FAIRFACE_TASKS`` or ``UTKFACE_TASKS``)."""
    from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS

    if dataset == "fairface":
        return tuple(FAIRFACE_TASKS)
    if dataset == "utkface":
        return tuple(UTKFACE_TASKS)
    raise DataValidationError(f"unknown dataset {dataset!r}: expected 'fairface' or 'utkface'")


def task_dataset(
    table: pd.DataFrame, tasks: Sequence[Any], *, image_size: int, augment: bool = False
) -> FaceDataset:
    """The :class:`FaceDataset` of a table for these tasks.

    Class codes follow each classification task's classes (a label outside them
    raises); a regression ``age`` task takes the ages in years.
    """
    vocabularies = {
        t.name: Vocabulary(t.name, tuple(t.classes)) for t in tasks if t.is_classification
    }
    regression_age = any(t.name == "age" and not t.is_classification for t in tasks)
    return FaceDataset(
        table,
        image_size=image_size,
        augment=augment,
        tasks=tuple(t.name for t in tasks),
        vocabularies=vocabularies,
        age_target="years" if regression_age else "group",
    )


def _build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise DataValidationError("the model has no trainable parameter")
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.RMSprop(
        params, lr=config.lr, weight_decay=config.weight_decay, **_RMSPROP_KWARGS
    )


@dataclass(frozen=True)
class _Setup:
    """What a training run works with, before any state is restored.

    ``train_table`` is the table after ``config.limit_train``; ``model`` is the
    unwrapped model (on its device), ``optimizer`` and ``stopper`` are fresh.
    """

    tasks: tuple[Any, ...]
    vocabularies: dict[str, Vocabulary]
    local_batch: int
    train_table: pd.DataFrame
    train_set: FaceDataset
    val_set: FaceDataset
    n_without_image: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    stopper: EarlyStopping


def _set_up(
    config: TrainConfig,
    *,
    train_table: pd.DataFrame,
    val_table: pd.DataFrame,
    ctx: DistributedContext,
    build_model: Callable[..., nn.Module],
) -> _Setup:
    """Datasets of the (limited) tables, and a freshly seeded model with its optimizer."""
    tasks = dataset_tasks(config.dataset)
    if config.batch_size % ctx.world_size:
        raise DataValidationError(
            f"batch_size {config.batch_size} is the global batch: it must be a multiple of the "
            f"{ctx.world_size} processes"
        )
    local_batch = config.batch_size // ctx.world_size

    train_table = limit_rows(train_table, config.limit_train, seed=config.seed)
    val_table = limit_rows(val_table, config.limit_val, seed=config.seed + 1)
    train_set = task_dataset(
        train_table, tasks, image_size=config.image_size, augment=config.augment
    )
    val_set = task_dataset(val_table, tasks, image_size=config.image_size)
    vocabularies = train_set.vocabularies
    for name, data in (("training", train_set), ("validation", val_set)):
        if len(data) == 0:
            raise DataValidationError(f"the {name} table has no row with an image")
    n_without_image = train_set.n_without_image + val_set.n_without_image

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
    return _Setup(
        tasks=tuple(tasks),
        vocabularies=vocabularies,
        local_batch=local_batch,
        train_table=train_table,
        train_set=train_set,
        val_set=val_set,
        n_without_image=n_without_image,
        model=model,
        optimizer=optimizer,
        stopper=stopper,
    )


def _wrap_distributed(
    model: nn.Module, config: TrainConfig, ctx: DistributedContext, *, local_batch: int
) -> nn.Module:
    """The model each step runs: ``model`` itself, or its ``DistributedDataParallel`` wrapper."""
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
    return net
