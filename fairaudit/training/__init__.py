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

from fairaudit.training._config import TrainConfig
from fairaudit.training._heads import HeadsConfig, HeadsResult, train_heads
from fairaudit.training._loop import TrainResult, train
from fairaudit.training._tables import load_training_tables

__all__ = [
    "HeadsConfig",
    "HeadsResult",
    "TrainConfig",
    "TrainResult",
    "load_training_tables",
    "train",
    "train_heads",
]
