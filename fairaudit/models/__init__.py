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
    "BACKBONES": "_backbones",
    "BackboneSpec": "_backbones",
    "create_backbone": "_backbones",
    "MultiTaskNet": "_base",
    "CHECKPOINT_FORMAT": "_checkpoint",
    "CHECKPOINT_FORMAT_VERSION": "_checkpoint",
    "LoadedCheckpoint": "_checkpoint",
    "DESCRIPTOR_FUSION_ARCH": "_descriptor_fusion",
    "DescriptorFusionNet": "_descriptor_fusion",
    "crops_to_pixels": "_descriptor_fusion",
    "load_checkpoint": "_checkpoint",
    "save_checkpoint": "_checkpoint",
    "LightweightMTLNet224": "_lightweight",
    "MobileNetV2": "_mobilenet_v2",
    "MOBILENET_V2_IMAGENET_SHA256": "_pretrained",
    "MOBILENET_V2_WEIGHTS_ENV": "_pretrained",
    "load_mobilenet_v2_imagenet_state_dict": "_pretrained",
    "mobilenet_v2_imagenet_weights": "_pretrained",
    "available_architectures": "_registry",
    "build_model": "_registry",
    "FAIRFACE_TASKS": "_tasks",
    "UTKFACE_MAX_AGE": "_tasks",
    "UTKFACE_TASKS": "_tasks",
    "TaskSpec": "_tasks",
    "TransferMTLNet": "_transfer",
    "TransformerPool": "_transfer",
}

__all__ = [
    "BACKBONES",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "DESCRIPTOR_FUSION_ARCH",
    "FAIRFACE_TASKS",
    "MOBILENET_V2_IMAGENET_SHA256",
    "MOBILENET_V2_WEIGHTS_ENV",
    "UTKFACE_MAX_AGE",
    "UTKFACE_TASKS",
    "BackboneSpec",
    "DescriptorFusionNet",
    "LightweightMTLNet224",
    "LoadedCheckpoint",
    "MobileNetV2",
    "MultiTaskNet",
    "TaskSpec",
    "TransferMTLNet",
    "TransformerPool",
    "available_architectures",
    "build_model",
    "create_backbone",
    "crops_to_pixels",
    "load_checkpoint",
    "load_mobilenet_v2_imagenet_state_dict",
    "mobilenet_v2_imagenet_weights",
    "save_checkpoint",
    "load_shipped_model",
    "shipped_model_card",
    "shipped_model_path",
    "shipped_models",
]


__getattr__, __dir__ = torch_attributes(__name__, _NEEDS_TORCH, globals())
