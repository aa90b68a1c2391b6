"""Face-attribute models: architectures, transfer backbones, checkpoints.

Every model is a :class:`MultiTaskNet`: ``forward(x)`` takes images ``(N, 3, H, W)``
and returns a dict by task name (logits ``(N, C)`` for a classification task, a
sigmoid output ``(N,)`` in ``[0, 1]`` for a regression task). Its ``arch``,
``arch_kwargs`` and ``tasks`` rebuild it with :func:`build_model`; checkpoints
(:func:`save_checkpoint`, :func:`load_checkpoint`) store them beside the weights.

Architectures: ``"lightweight"`` (:class:`LightweightMTLNet224`, 668,077
parameters, trained from scratch) and the transfer models of the UTKFace study
(:class:`TransferMTLNet`): ``"mobilenet_v2"`` (native, ImageNet weights offline) and,
with the extra ``fairaudit-faces[backbones]`` (timm), ``"vgg19"``, ``"resnet50"``,
``"inception_v3"``, ``"xception"``, ``"mobilenet_v1"``, ``"mobilenet_v1_transformer"``.

The models need torch (the extra ``fairaudit-faces[models]``). Without it this package still
imports, and the shipped models' cards (:func:`shipped_models`, :func:`shipped_model_card`,
:func:`shipped_model_path`) work, so reports of audits of the shipped models render in
the core install; every other name raises :class:`~fairaudit.exceptions.MissingDependencyError`
on first use, naming the extra.
"""

from __future__ import annotations

from fairaudit._lazy import torch_attributes
from fairaudit.models._shipped import (
    load_shipped_model,
    shipped_model_card,
    shipped_model_path,
    shipped_models,
)

#: The names that need torch, by the private module defining them: imported on first use.
_NEEDS_TORCH = {
    "load_checkpoint": "._checkpoint",
    "save_checkpoint": "._checkpoint",
    "LightweightMTLNet224": "._lightweight",
    "available_architectures": "._registry",
    "build_model": "._registry",
    "FAIRFACE_TASKS": "._tasks",
    "UTKFACE_TASKS": "._tasks",
    "TransferMTLNet": "._transfer",
}

__all__ = [
    "FAIRFACE_TASKS",
    "LightweightMTLNet224",
    "TransferMTLNet",
    "UTKFACE_TASKS",
    "available_architectures",
    "build_model",
    "load_checkpoint",
    "load_shipped_model",
    "save_checkpoint",
    "shipped_model_card",
    "shipped_model_path",
    "shipped_models",
]


__getattr__, __dir__ = torch_attributes(__name__, _NEEDS_TORCH, globals())
