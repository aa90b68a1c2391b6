"""Training configuration: one dataclass, JSON round trip, the reference recipes."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fairaudit._io import atomic_write_text
from fairaudit.exceptions import DataValidationError

__all__ = ["DATASETS", "EARLY_STOPPING_RULES", "OPTIMIZERS", "TrainConfig"]

DATASETS = ("fairface", "utkface")
OPTIMIZERS = ("adam", "rmsprop")
EARLY_STOPPING_RULES = ("train_loss_delta", "val_patience", "none")


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint).

    Parameters
    ----------
    dataset : {"fairface", "utkface"}
        Which dataset (and task set) to train on. FairFace: gender, 9 age groups
        and 7 races, all classification. UTKFace: gender, age in years
        (regression) and 5 races.
    data_root : str, optional
        Dataset folder, used by :func:`load_training_tables` and the command line;
        :func:`train` itself takes the tables.
    arch : str, default="lightweight"
        Architecture name for :func:`fairaudit.models.build_model`.
    arch_kwargs : dict, default={}
        Extra keyword arguments of the architecture.
    image_size : int, default=112
        Side of the square input images, in pixels.
    batch_size : int, default=32
        Global batch size (split over the processes in distributed training).
    max_epochs : int, default=10
        Upper bound on the number of epochs.
    optimizer : {"adam", "rmsprop"}, default="adam"
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    early_stopping : {"train_loss_delta", "val_patience", "none"}, default="train_loss_delta"
        ``"train_loss_delta"``: stop when the epoch's training loss fell by less
        than ``min_delta`` since the previous epoch (the FairFace reference rule).
        ``"val_patience"``: stop after ``patience`` epochs without a validation
        loss lower than the best by more than ``min_delta``.
    min_delta : float, default=0.1
    patience : int, default=3
    class_weighting : bool, default=False
        Weight each classification loss by ``n / (C * count_c)`` computed on the
        training table (stored in the checkpoint).
    seed : int, default=0
        Seeds the model initialisation, the data order and augmentation.
    num_workers : int, default=0
        DataLoader worker processes.
    threads : int or None, default=1
        ``torch.set_num_threads``; None leaves torch's default.
    channels_last : bool, default=True
        Use the channels-last memory format (faster convolutions on CPU).
    augment : bool, default=False
        Random training augmentation of :class:`fairaudit.datasets.FaceDataset`.
    limit_train, limit_val : int, optional
        Use only the first N rows (after a seeded shuffle) for quick runs.
    holdout_fraction : float, optional
        FairFace only: hold out this share of the official training split,
        stratified by gender x age x race with ``seed``
        (:func:`~fairaudit.training.stratified_holdout_split`), for the
        validation loss, early stopping and the choice of ``best.pt``; the
        official validation split is then left for the final evaluation. None
        validates on the official validation split (the seed system's way,
        which makes its own evaluation mildly optimistic). The FairFace recipe
        sets 0.1.
    freeze_backbone : bool, default=False
        Train only the task heads.
    freeze_batchnorm : bool, default=False
        Keep every BatchNorm layer in inference mode (running statistics are
        neither used from the batch nor updated). Common when fine-tuning with
        small batches; it also makes the forward pass independent of how a batch
        is split across processes.
    pretrained : bool, default=False
        Ask ``build_model`` for its pretrained weights (local files only).
    weights_path : str, optional
        Local weights file for the backbone.
    checkpoint_every_steps : int, optional
        Also write ``last.pt`` every N optimizer steps within an epoch (for long
        epochs); resuming from it continues exactly where it stopped.
    sync_batchnorm : bool, default=True
        In distributed training on GPUs, convert BatchNorm to SyncBatchNorm (not
        available on CPU in torch; there each process normalises its own part
        of the batch).
    """

    dataset: str = "fairface"
    data_root: str | None = None
    arch: str = "lightweight"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    image_size: int = 112
    batch_size: int = 32
    max_epochs: int = 10
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    early_stopping: str = "train_loss_delta"
    min_delta: float = 0.1
    patience: int = 3
    class_weighting: bool = False
    seed: int = 0
    num_workers: int = 0
    threads: int | None = 1
    channels_last: bool = True
    augment: bool = False
    limit_train: int | None = None
    limit_val: int | None = None
    holdout_fraction: float | None = None
    freeze_backbone: bool = False
    freeze_batchnorm: bool = False
    pretrained: bool = False
    weights_path: str | None = None
    checkpoint_every_steps: int | None = None
    sync_batchnorm: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # -- validation --------------------------------------------------------------------
    def validate(self) -> None:
        """Check every field; raise :class:`DataValidationError` naming the bad one."""

        def bad(name: str, expected: str) -> DataValidationError:
            return DataValidationError(
                f"TrainConfig.{name} must be {expected}, got {getattr(self, name)!r}"
            )

        if self.dataset not in DATASETS:
            raise bad("dataset", f"one of {DATASETS}")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"one of {OPTIMIZERS}")
        if self.early_stopping not in EARLY_STOPPING_RULES:
            raise bad("early_stopping", f"one of {EARLY_STOPPING_RULES}")
        for name in ("image_size", "batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad(name, "a positive integer")
        for name in ("limit_train", "limit_val", "checkpoint_every_steps", "threads"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise bad(name, "None or a positive integer")
        if isinstance(self.num_workers, bool) or not isinstance(self.num_workers, int):
            raise bad("num_workers", "a non-negative integer")
        if self.num_workers < 0:
            raise bad("num_workers", "a non-negative integer")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise bad("lr", "a positive number")
        if not (isinstance(self.min_delta, int | float) and self.min_delta >= 0):
            raise bad("min_delta", "a non-negative number")
        if not (isinstance(self.weight_decay, int | float) and self.weight_decay >= 0):
            raise bad("weight_decay", "a non-negative number")
        if not isinstance(self.arch_kwargs, dict):
            raise bad("arch_kwargs", "a dict")
        if self.holdout_fraction is not None:
            if isinstance(self.holdout_fraction, bool) or not (
                isinstance(self.holdout_fraction, int | float) and 0 < self.holdout_fraction < 1
            ):
                raise bad("holdout_fraction", "None or a number in (0, 1)")
            if self.dataset != "fairface":
                raise bad(
                    "holdout_fraction",
                    "None for UTKFace (its protocol has its own validation part)",
                )

    # -- JSON round trip ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-compatible containers."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a configuration from :meth:`to_dict`'s output.

        Raises
        ------
        DataValidationError
            On an unknown key or an invalid value.
        """
        if not isinstance(data, dict):
            raise DataValidationError(f"a TrainConfig must be read from a dict, got {type(data)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataValidationError(
                f"unknown TrainConfig field(s) {unknown}; known fields: {sorted(known)}"
            )
        return cls(**data)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """Serialise to JSON text; also write it (atomically) when ``path`` is given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            atomic_write_text(Path(path), text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike[str]) -> TrainConfig:
        """Read a configuration from JSON text or from a JSON file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            path = Path(text_or_path)
            if not path.is_file():
                raise DataValidationError(f"training config file not found: {path}")
            text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(f"invalid training config JSON: {exc}") from exc
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    # -- recipes -----------------------------------------------------------------------
    @classmethod
    def fairface_reference(cls, **overrides: Any) -> TrainConfig:
        """The FairFace reference recipe.

        Adam with learning rate 1e-3, the sum of the three cross-entropy losses,
        at most 10 epochs, stop when the epoch's training loss falls by less than
        0.1; the best checkpoint by validation loss is kept. The validation loss
        is measured on 10% of the training split held out (stratified by
        gender x age x race, seed ``seed``), so the official validation images
        are used only for the final evaluation.
        """
        base = {
            "dataset": "fairface",
            "optimizer": "adam",
            "lr": 1e-3,
            "max_epochs": 10,
            "early_stopping": "train_loss_delta",
            "min_delta": 0.1,
            "holdout_fraction": 0.1,
        }
        return cls(**{**base, **overrides})

    @classmethod
    def utkface_protocol(cls, *, backbone: str = "mobilenet_v2", **overrides: Any) -> TrainConfig:
        """The UTKFace protocol of the original study.

        Ages 10-65 only, split train/validation/test in the proportions
        9115/3907/5581 (see :func:`utkface_protocol_split`), RMSprop, batch 16,
        a transfer-learning ``backbone``.
        """
        base = {
            "dataset": "utkface",
            "arch": backbone,
            "optimizer": "rmsprop",
            "batch_size": 16,
            "lr": 1e-3,
            "max_epochs": 10,
            "early_stopping": "val_patience",
            "patience": 3,
            "min_delta": 0.0,
        }
        return cls(**{**base, **overrides})
