"""Build any fairaudit model by architecture name."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from fairaudit.detect._dlib import dlib_available
from fairaudit.exceptions import ConfigurationError
from fairaudit.models._backbones import BACKBONES, timm_available
from fairaudit.models._base import MultiTaskNet
from fairaudit.models._descriptor_fusion import DESCRIPTOR_FUSION_ARCH, DescriptorFusionNet
from fairaudit.models._lightweight import LightweightMTLNet224
from fairaudit.models._tasks import FAIRFACE_TASKS, TaskSpec
from fairaudit.models._transfer import TransferMTLNet

__all__ = ["available_architectures", "build_model"]

_LIGHTWEIGHT = "lightweight"


def available_architectures(*, usable_only: bool = False) -> tuple[str, ...]:
    """Names accepted by :func:`build_model`.

    Parameters
    ----------
    usable_only : bool, default=False
        Keep only the architectures that can be built here (timm's need the
        optional extra ``fairaudit-faces[backbones]``, the face-descriptor fusion
        ``fairaudit-faces[detect]``).

    Returns
    -------
    tuple of str
        ``"lightweight"``, the transfer backbones, then
        ``"mobilenet_v2_face_descriptor"``.
    """
    names = (_LIGHTWEIGHT, *BACKBONES, DESCRIPTOR_FUSION_ARCH)
    if usable_only and not timm_available():
        names = tuple(n for n in names if n not in BACKBONES or BACKBONES[n].timm_name is None)
    if usable_only and not dlib_available():
        names = tuple(n for n in names if n != DESCRIPTOR_FUSION_ARCH)
    return names


def _check_kwargs(arch: str, cls: type, arch_kwargs: dict[str, Any], reserved: set[str]) -> None:
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"} - reserved
    unknown = sorted(set(arch_kwargs) - accepted)
    if unknown:
        raise ConfigurationError(
            f"architecture {arch!r} takes no option(s) {unknown}; "
            f"its options are {sorted(accepted)}"
        )


def build_model(
    arch: str,
    *,
    tasks: Sequence[TaskSpec] = FAIRFACE_TASKS,
    pretrained: bool = False,
    weights_path: Any = None,
    freeze_backbone: bool = False,
    **arch_kwargs: Any,
) -> MultiTaskNet:
    """Build a multi-task model by architecture name.

    Parameters
    ----------
    arch : str
        One of :func:`available_architectures`: ``"lightweight"``
        (:class:`LightweightMTLNet224`, trained from scratch) or a transfer
        backbone (:class:`TransferMTLNet`): ``"mobilenet_v2"``, ``"vgg19"``,
        ``"resnet50"``, ``"inception_v3"``, ``"xception"``, ``"mobilenet_v1"``,
        ``"mobilenet_v1_transformer"``; or ``"mobilenet_v2_face_descriptor"``
        (:class:`DescriptorFusionNet`: MobileNetV2 features fused with dlib's
        face descriptor, which needs the extra ``detect``).
    tasks : sequence of TaskSpec, default=FAIRFACE_TASKS
        One head per task.
    pretrained : bool, default=False
        Transfer models: load the backbone's ImageNet weights from a local file
        (MobileNetV2 finds its file offline; others need ``weights_path``).
    weights_path : path-like or torchvision weights, optional
        Transfer models: the local backbone weight file.
    freeze_backbone : bool, default=False
        Feature extraction: the backbone does not learn (see
        :meth:`MultiTaskNet.freeze_backbone`).
    **arch_kwargs
        Options of the architecture (``model.arch_kwargs`` of a built model
        rebuilds it).

    Returns
    -------
    MultiTaskNet
        The model, in training mode; ``forward(x)`` returns a dict by task name.

    Raises
    ------
    ConfigurationError
        Unknown architecture or option, or pretrained weights asked of the
        lightweight model.
    MissingDependencyError
        timm or a weight file is missing.

    Examples
    --------
    >>> from fairaudit.models import build_model
    >>> model = build_model("lightweight")
    >>> sum(p.numel() for p in model.parameters())
    668077
    """
    if arch == _LIGHTWEIGHT:
        if pretrained or weights_path is not None:
            raise ConfigurationError(
                "the lightweight model is trained from scratch and has no pretrained weights; "
                "load a trained model with fairaudit.models.load_checkpoint"
            )
        _check_kwargs(arch, LightweightMTLNet224, arch_kwargs, {"tasks"})
        model: MultiTaskNet = LightweightMTLNet224(tasks=tasks, **arch_kwargs)
    elif arch in BACKBONES:
        _check_kwargs(
            arch, TransferMTLNet, arch_kwargs, {"tasks", "backbone", "pretrained", "weights_path"}
        )
        model = TransferMTLNet(
            backbone=arch,
            tasks=tasks,
            pretrained=pretrained,
            weights_path=weights_path,
            **arch_kwargs,
        )
    elif arch == DESCRIPTOR_FUSION_ARCH:
        _check_kwargs(
            arch, DescriptorFusionNet, arch_kwargs, {"tasks", "pretrained", "weights_path"}
        )
        model = DescriptorFusionNet(
            tasks=tasks, pretrained=pretrained, weights_path=weights_path, **arch_kwargs
        )
    else:
        raise ConfigurationError(
            f"unknown architecture {arch!r}; choose one of {list(available_architectures())}"
        )
    if freeze_backbone:
        model.freeze_backbone()
    return model
