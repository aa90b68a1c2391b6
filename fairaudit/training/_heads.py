"""Train the task heads of a :class:`~fairaudit.models.DescriptorFusionNet` on frozen features.

The CNN trunk (taken from a trained MobileNetV2 checkpoint) and dlib's face
descriptor are frozen, so their features are computed once per image and cached
in chunks (:func:`cached_features`; a killed run resumes at the first missing
chunk). The heads then train on the cached, standardised features in seconds per
epoch: Adam on the sum of the tasks' losses (those of ``fairaudit train``:
cross-entropy, or the squared error of the scaled age on UTKFace), the
validation loss after every epoch, stop after ``patience`` epochs without a
better one, keep the best. The run folder has what ``fairaudit train`` writes
(``best.pt``, ``history.csv``, ``config.json``), so ``fairaudit evaluate
model-card`` packages it the same way.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from fairaudit._io import atomic_write_text, sha256_file
from fairaudit.datasets._transforms import ImageTransform
from fairaudit.exceptions import DataValidationError
from fairaudit.models import (
    load_checkpoint,
    save_checkpoint,
    shipped_model_card,
    shipped_model_path,
    shipped_models,
)
from fairaudit.models._descriptor_fusion import DescriptorFusionNet
from fairaudit.training._epoch import _task_losses
from fairaudit.training._features import cached_features
from fairaudit.training._history import write_history
from fairaudit.training._setup import dataset_tasks, task_dataset

__all__ = ["HeadsConfig", "HeadsResult", "train_heads", "trunk_saw_holdout"]

logger = logging.getLogger(__name__)


@dataclass
class HeadsConfig:
    """Everything that defines a heads-on-frozen-features run (saved as ``config.json``).

    Parameters
    ----------
    trunk : str
        A shipped model's name or a checkpoint path: a ``mobilenet_v2`` model whose
        backbone becomes the fused model's CNN.
    dataset : {"fairface", "utkface"}
        The tasks and their validation rows. FairFace: gender, age group, race,
        validated on ``holdout_fraction`` of the train split. UTKFace: gender, age
        in years (regression), race, validated on the study protocol's val split
        (:func:`utkface_protocol_split` with ``seed``).
    data_root : str, optional
    holdout_fraction : float, optional
        FairFace: share of the training split held out (stratified, seeded) for
        the validation loss and the choice of the best epoch; default 0.1, the
        recipe's. It does not apply to UTKFace (giving it raises).
    head_units : list of int, default=[256]
    dropout : float, default=0.3
    lr, weight_decay : float, default=1e-3, 1e-4
    batch_size : int, default=256
    max_epochs, patience : int, default=100, 8
    select : {"best", "last"}, default="best"
        ``"best"``: keep the epoch with the lowest validation loss and stop after
        ``patience`` epochs without a better one. ``"last"``: train exactly
        ``max_epochs`` epochs and keep the last, choosing nothing on the held-out
        rows: required when the trunk was trained on them (its features of those
        rows are those of training images, so a choice made on them would favour
        it), which :func:`train_heads` checks from the trunk's recipe.
    seed : int, default=0
    threads : int, default=1
    cache_dir : str, optional
        Feature cache (default: ``OUTPUT/features``).
    """

    trunk: str = "fairface-mobilenet_v2-112"
    dataset: str = "fairface"
    data_root: str | None = None
    holdout_fraction: float | None = None
    image_size: int = 112
    head_units: list[int] = field(default_factory=lambda: [256])
    dropout: float = 0.3
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 8
    select: str = "best"
    seed: int = 0
    threads: int = 1
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if self.dataset not in ("fairface", "utkface"):
            raise DataValidationError(
                f"HeadsConfig.dataset must be 'fairface' or 'utkface', got {self.dataset!r}"
            )
        if self.dataset == "fairface" and self.holdout_fraction is None:
            self.holdout_fraction = 0.1
        if self.dataset == "utkface" and self.holdout_fraction is not None:
            raise DataValidationError(
                "HeadsConfig.holdout_fraction does not apply to UTKFace: its heads validate "
                "on the study protocol's val split"
            )
        for name in ("batch_size", "max_epochs", "patience", "threads", "image_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataValidationError(f"HeadsConfig.{name} must be a positive integer")
        if self.select not in ("best", "last"):
            raise DataValidationError(
                f"HeadsConfig.select must be 'best' or 'last', got {self.select!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise DataValidationError(f"HeadsConfig.dropout must lie in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible containers (``kind`` says what the run trained)."""
        return {"kind": "heads on frozen features", **dataclasses.asdict(self)}


@dataclass(frozen=True)
class HeadsResult:
    """What :func:`train_heads` wrote and measured."""

    history: pd.DataFrame
    best_epoch: int
    best_checkpoint: Path
    stopped_reason: str
    feature_seconds: float


def _trunk_recipe(source: str, loaded: Any) -> dict[str, Any] | None:
    """The trunk's training configuration: its card's recipe, or its checkpoint's."""
    if source in shipped_models():
        return shipped_model_card(source).get("recipe")
    training = loaded.extra.get("training") if isinstance(loaded.extra, dict) else None
    config = training.get("config") if isinstance(training, dict) else None
    return config if isinstance(config, dict) else None


def trunk_saw_holdout(recipe: dict[str, Any] | None, config: HeadsConfig) -> bool:
    """Whether the trunk may have trained on the rows the heads are validated on.

    It did not only when its recipe validated on the same rows: the same share
    of FairFace's train split held out with the same seed, or UTKFace's protocol
    split with the same seed (the splits are functions of those). An unknown
    recipe counts as seen.
    """
    if not recipe:
        return True
    same = recipe.get("dataset") == config.dataset and recipe.get("seed") == config.seed
    if config.dataset == "fairface":
        same = same and recipe.get("holdout_fraction") == config.holdout_fraction
    return not same


def _trunk(config: HeadsConfig) -> Any:
    source = config.trunk
    path = shipped_model_path(source) if source in shipped_models() else Path(source)
    loaded = load_checkpoint(path)
    if config.select == "best" and trunk_saw_holdout(_trunk_recipe(source, loaded), config):
        raise DataValidationError(
            f"the trunk {source} was trained on the rows held out for validation (its recipe "
            "holds out no rows, or others): choosing the epoch on them would favour it. "
            "Train a trunk with the same holdout, or keep the last epoch (select='last', "
            "--select last) with a number of epochs fixed in advance"
        )
    if loaded.arch != "mobilenet_v2":
        raise DataValidationError(
            f"the trunk must be a mobilenet_v2 model; {path} is {loaded.arch}"
        )
    if loaded.input_size != config.image_size:
        raise DataValidationError(
            f"the trunk {path} takes {loaded.input_size} px crops, the run {config.image_size}"
        )
    return loaded.model.eval(), path


def _cnn_extractor(model: DescriptorFusionNet):
    transform = ImageTransform()  # its ImageNet mean and std, as float32 like its own
    normalisation = np.array(transform.mean, np.float32).reshape(1, 3, 1, 1)
    scale = np.array(transform.std, np.float32).reshape(1, 3, 1, 1)

    def extract(pixels: np.ndarray) -> np.ndarray:
        # the arithmetic of ImageTransform, on a batch: the same floats the model sees
        x = pixels.astype(np.float32).transpose(0, 3, 1, 2) * np.float32(1 / 255)
        x = (x - normalisation) / scale
        batch = torch.from_numpy(np.ascontiguousarray(x)).to(memory_format=torch.channels_last)
        with torch.inference_mode():
            return model.cnn_pooled(batch).numpy()

    return extract


def _targets(table: pd.DataFrame, tasks, image_size: int) -> dict[str, torch.Tensor]:
    """The training targets of a table, one per table row (in the table's order)."""
    data = task_dataset(table, tasks, image_size=image_size)
    if len(data) != len(table):
        raise DataValidationError(
            f"{len(table) - len(data)} row(s) of the table have no image: the cached "
            "features are one per row, so pass tables of rows with images"
        )
    return data.targets


def _loss(model: DescriptorFusionNet, features: torch.Tensor, targets: dict[str, torch.Tensor]):
    """(total loss, per-task losses, per-task metric sums) of the heads on features."""
    dropped = model.dropout(features)
    outputs = {t.name: t.output_from_raw(model.heads[t.name](dropped)) for t in model.tasks}
    return _task_losses(outputs, targets, model.tasks, None)


def train_heads(
    config: HeadsConfig,
    *,
    train_table: pd.DataFrame,
    val_table: pd.DataFrame,
    output_dir: str | os.PathLike[str],
    progress: bool = True,
) -> HeadsResult:
    """Cache the frozen features of both tables, train the heads, save the best model.

    Parameters
    ----------
    config : HeadsConfig
    train_table, val_table : pandas.DataFrame
        Loader tables with ``path`` and the FairFace task columns
        (:func:`load_training_tables` with ``holdout_fraction``).
    output_dir : path
        Run folder: ``best.pt``, ``history.csv``/``.json``, ``config.json``,
        ``features/`` (the cache, unless ``config.cache_dir``).
    progress : bool, default=True

    Returns
    -------
    HeadsResult
    """
    from fairaudit.detect._descriptor import DESCRIPTOR_SIZE, DlibFaceDescriptor

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    trunk, trunk_path = _trunk(config)
    tasks = dataset_tasks(config.dataset)
    model = DescriptorFusionNet(tasks=tasks, head_units=config.head_units, dropout=config.dropout)
    model.backbone.load_state_dict(trunk.backbone.state_dict())
    model = model.eval().to(memory_format=torch.channels_last)
    cache = Path(config.cache_dir) if config.cache_dir else output / "features"
    started = time.perf_counter()
    describe = DlibFaceDescriptor()
    cnn = _cnn_extractor(model)
    parts = {}
    for name, table in (("val", val_table), ("train", train_table)):
        parts[name] = np.concatenate(
            [
                cached_features(
                    table,
                    cnn,
                    cache / f"cnn-{trunk_path.stem}-{sha256_file(trunk_path)[:12]}",
                    image_size=config.image_size,
                    progress=progress,
                    desc=f"CNN features ({name})",
                ),
                cached_features(
                    table,
                    describe,
                    cache / "dlib",
                    image_size=config.image_size,
                    progress=progress,
                    desc=f"face descriptors ({name})",
                ),
            ],
            axis=1,
        )
    feature_seconds = time.perf_counter() - started
    mean = parts["train"].mean(axis=0)
    std = parts["train"].std(axis=0)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    model.feature_mean.copy_(torch.from_numpy(mean.astype(np.float32)))
    model.feature_std.copy_(torch.from_numpy(std))
    sizes = [model.cnn_features, DESCRIPTOR_SIZE]
    x_train = model.fuse(*torch.from_numpy(parts["train"]).split(sizes, 1))
    x_val = model.fuse(*torch.from_numpy(parts["val"]).split(sizes, 1))
    y_train = _targets(train_table, tasks, config.image_size)
    y_val = _targets(val_table, tasks, config.image_size)

    heads = list(model.heads.parameters())
    optimizer = torch.optim.Adam(heads, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    rows, best_loss, best_epoch, bad, best_state = [], np.inf, 0, 0, None
    reason = f"max_epochs {config.max_epochs} reached" + (
        " (select='last': the last epoch is kept)" if config.select == "last" else ""
    )
    bar = tqdm(range(1, config.max_epochs + 1), desc="heads", disable=not progress)
    for epoch in bar:
        tick = time.perf_counter()
        model.heads.train()
        model.dropout.train()
        order = torch.randperm(len(x_train), generator=generator)
        total, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            loss, _, _ = _loss(model, x_train[index], {k: v[index] for k, v in y_train.items()})
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            seen += len(index)
        model.eval()
        with torch.no_grad():
            val_loss, val_losses, val_metrics = _loss(model, x_val, y_val)
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": total / seen,
            "val_loss": float(val_loss),
        }
        for task, task_loss, metric in zip(tasks, val_losses, val_metrics, strict=True):
            # the names and metrics of fairaudit train's history (accuracy, or MAE in years)
            row[f"val_{task.name}_loss"] = float(task_loss)
            kind = "accuracy" if task.is_classification else "mae"
            row[f"val_{task.name}_{kind}"] = metric / len(x_val)
        row |= {
            "lr": config.lr,
            "n_train": len(x_train),
            "n_val": len(x_val),
            "seconds": time.perf_counter() - tick + (feature_seconds if epoch == 1 else 0.0),
        }
        rows.append(row)
        bar.set_postfix(val_loss=f"{row['val_loss']:.4f}")
        if config.select == "last":
            best_loss, best_epoch = row["val_loss"], epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif row["val_loss"] < best_loss:
            best_loss, best_epoch, bad = row["val_loss"], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= config.patience:
                reason = (
                    f"no validation loss below {best_loss:.4g} for {bad} epoch(s) "
                    f"(patience {config.patience})"
                )
                break
    assert best_state is not None
    model.load_state_dict(best_state)
    history = write_history(rows, output)
    best = save_checkpoint(
        output / "best.pt",
        model=model.eval(),
        input_size=config.image_size,
        extra={"config": config.to_dict(), "epoch": best_epoch, "trunk": str(trunk_path)},
    )
    logger.info("heads: best epoch %d (val loss %.4f); %s", best_epoch, best_loss, reason)
    return HeadsResult(
        history=history,
        best_epoch=best_epoch,
        best_checkpoint=best,
        stopped_reason=reason,
        feature_seconds=feature_seconds,
    )
