"""Training of multi-task face-attribute models (``fairaudit train``).

The FairFace reference recipe (:meth:`TrainConfig.fairface_reference`) and the
UTKFace protocol of the original study (:meth:`TrainConfig.utkface_protocol`,
:func:`utkface_protocol_split`), early stopping, class weighting, exact resume,
and multi-process training with ``torchrun`` (DDP). Training needs torch (the extra
``fairaudit-faces[models]``): without it, importing this package raises
:class:`~fairaudit.exceptions.MissingDependencyError` naming the extra.
"""

from fairaudit.exceptions import MissingDependencyError

try:
    import torch  # noqa: F401  (the extra "models"; the modules below import it)
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    raise MissingDependencyError.for_extra("models", "torch") from None

from fairaudit.training._class_weights import compute_class_weights
from fairaudit.training._config import TrainConfig
from fairaudit.training._distributed import (
    init_distributed,
)
from fairaudit.training._early_stopping import EarlyStopping
from fairaudit.training._features import cached_features, crop_pixels
from fairaudit.training._heads import HeadsConfig, HeadsResult, train_heads, trunk_saw_holdout
from fairaudit.training._history import plot_history
from fairaudit.training._loop import TrainResult, train
from fairaudit.training._splits import (
    UTKFACE_PROTOCOL_SIZES,
    stratified_holdout_split,
    utkface_protocol_split,
)
from fairaudit.training._tables import TrainingTables, load_training_tables

__all__ = [
    "UTKFACE_PROTOCOL_SIZES",
    "EarlyStopping",
    "HeadsConfig",
    "HeadsResult",
    "TrainConfig",
    "TrainResult",
    "TrainingTables",
    "cached_features",
    "compute_class_weights",
    "crop_pixels",
    "init_distributed",
    "load_training_tables",
    "plot_history",
    "stratified_holdout_split",
    "train",
    "train_heads",
    "trunk_saw_holdout",
    "utkface_protocol_split",
]
