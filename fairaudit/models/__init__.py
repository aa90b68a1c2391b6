"""Face-attribute models: architectures, transfer backbones, checkpoints.

Every model is a :class:`MultiTaskNet`: ``forward(x)`` takes images ``(N, 3, H, W)``
and returns a dict by task name (logits ``(N, C)`` for a classification task, a
sigmoid output ``(N,)`` in ``[0, 1]`` for a regression task). Its ``arch``,
``arch_kwargs`` and ``tasks`` rebuild it with :func:`build_model`; checkpoints
(:func:`save_checkpoint`, :func:`load_checkpoint`) store them beside the weights.

Architectures: ``"lightweight"`` (:class:`LightweightMTLNet224`, 668,077
parameters, trained from scratch) and the transfer models of the UTKFace study
(:class:`TransferMTLNet`): ``"mobilenet_v2"`` (native, ImageNet weights offline) and,
with the extra ``fairaudit[backbones]`` (timm), ``"vgg19"``, ``"resnet50"``,
``"inception_v3"``, ``"xception"``, ``"mobilenet_v1"``, ``"mobilenet_v1_transformer"``.
"""

from fairaudit.models._backbones import BACKBONES, BackboneSpec, create_backbone
from fairaudit.models._base import MultiTaskNet
from fairaudit.models._checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    LoadedCheckpoint,
    load_checkpoint,
    save_checkpoint,
)
from fairaudit.models._lightweight import LightweightMTLNet224
from fairaudit.models._mobilenet_v2 import MobileNetV2
from fairaudit.models._pretrained import (
    MOBILENET_V2_IMAGENET_SHA256,
    MOBILENET_V2_WEIGHTS_ENV,
    load_mobilenet_v2_imagenet_state_dict,
    mobilenet_v2_imagenet_weights,
)
from fairaudit.models._registry import available_architectures, build_model
from fairaudit.models._shipped import (
    load_shipped_model,
    shipped_model_card,
    shipped_model_path,
    shipped_models,
)
from fairaudit.models._tasks import (
    FAIRFACE_TASKS,
    UTKFACE_MAX_AGE,
    UTKFACE_TASKS,
    TaskSpec,
)
from fairaudit.models._transfer import TransferMTLNet, TransformerPool

__all__ = [
    "BACKBONES",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "FAIRFACE_TASKS",
    "MOBILENET_V2_IMAGENET_SHA256",
    "MOBILENET_V2_WEIGHTS_ENV",
    "UTKFACE_MAX_AGE",
    "UTKFACE_TASKS",
    "BackboneSpec",
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
    "load_checkpoint",
    "load_mobilenet_v2_imagenet_state_dict",
    "mobilenet_v2_imagenet_weights",
    "save_checkpoint",
    "load_shipped_model",
    "shipped_model_card",
    "shipped_model_path",
    "shipped_models",
]
