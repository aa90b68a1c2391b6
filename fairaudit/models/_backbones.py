"""Pretrained-style backbones for transfer learning: native MobileNetV2, and timm's.

A backbone maps images ``(N, 3, H, W)`` to a feature map ``(N, C, h, w)``
(``forward_feature_map``) and knows its channel count ``C`` (``num_features``).
MobileNetV2 is native (:mod:`fairaudit.models._mobilenet_v2`); the other backbones of
the original UTKFace study (VGG19, ResNet50, InceptionV3, Xception, MobileNet v1)
come from timm, behind the optional extra ``fairaudit-faces[backbones]``. Nothing is ever
downloaded: pretrained weights come from local files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from fairaudit.exceptions import ConfigurationError, MissingDependencyError
from fairaudit.models._mobilenet_v2 import MobileNetV2
from fairaudit.models._pretrained import (
    load_mobilenet_v2_imagenet_state_dict,
    load_state_dict_file,
    load_state_dict_strict,
)

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "TimmBackbone",
    "create_backbone",
    "timm_available",
]


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone that :func:`create_backbone` can build.

    Parameters
    ----------
    name : str
        fairaudit's name (also the architecture name of the transfer model).
    timm_name : str or None
        The ``timm.create_model`` name; ``None`` for the native MobileNetV2.
    transformer_layers : int
        Default depth of the Transformer encoder put after the backbone
        (0: plain global average pooling).
    min_input_size : int
        Smallest input side the network accepts.
    description : str
        One line for documentation and ``--help``.
    """

    name: str
    timm_name: str | None
    transformer_layers: int = 0
    min_input_size: int = 32
    description: str = ""


#: Every transfer backbone, by fairaudit name.
BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "mobilenet_v2", None, description="MobileNetV2 (native; ImageNet weights offline)"
        ),
        BackboneSpec("vgg19", "vgg19", description="VGG19 (timm), conv features + global pooling"),
        BackboneSpec("resnet50", "resnet50", description="ResNet50 (timm)"),
        BackboneSpec(
            "inception_v3", "inception_v3", min_input_size=75, description="InceptionV3 (timm)"
        ),
        BackboneSpec(
            "xception", "legacy_xception", description="Xception, Keras' original (timm legacy)"
        ),
        BackboneSpec("mobilenet_v1", "mobilenetv1_100", description="MobileNet v1 (timm)"),
        BackboneSpec(
            "mobilenet_v1_transformer",
            "mobilenetv1_100",
            transformer_layers=2,
            description="MobileNet v1 (timm) followed by a small Transformer encoder",
        ),
    )
}


def _import_timm() -> Any:
    try:
        import timm
    except ImportError as exc:
        raise MissingDependencyError(
            "this backbone comes from timm: install it with "
            "`pip install 'fairaudit-faces[backbones]'` "
            f"(timm imports torchvision, which must be the build matching the installed torch); "
            f"import failed with: {exc}"
        ) from exc
    return timm


def timm_available() -> bool:
    """Whether timm (and the torchvision it imports) can be imported here."""
    try:
        _import_timm()
    except MissingDependencyError:
        return False
    return True


class TimmBackbone(nn.Module):
    """A timm network used for its last feature map (classifier removed).

    Parameters
    ----------
    timm_name : str
        The ``timm.create_model`` name.
    """

    def __init__(self, timm_name: str) -> None:
        super().__init__()
        timm = _import_timm()
        self.model = timm.create_model(timm_name, pretrained=False, num_classes=0)
        # VGG's fc6/fc7 as convolutions ("pre_logits") are not used: the study pools
        # the conv features, as Keras' include_top=False does.
        if hasattr(self.model, "pre_logits"):
            self.model.pre_logits = nn.Identity()
        self.num_features = int(self.model.feature_info[-1]["num_chs"])
        self.timm_name = timm_name

    def forward_feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map ``(N, num_features, h, w)``."""
        return self.model.forward_features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_feature_map(x)

    def load_pretrained(self, path: str | os.PathLike[str], *, sha256: str | None = None) -> None:
        """Load a timm/ImageNet state dict from a local file.

        Classifier weights in the file (and VGG's ``pre_logits``) are dropped;
        every other key must match exactly.

        Raises
        ------
        CheckpointError
            If the file cannot be read safely or its keys/shapes do not match.
        """
        state = load_state_dict_file(path, sha256=sha256)
        classifier = self.model.pretrained_cfg.get("classifier") or "fc"
        dropped = (f"{classifier}.", "pre_logits.", "head.fc.")
        state = {k: v for k, v in state.items() if not k.startswith(dropped)}
        load_state_dict_strict(self.model, state, source=str(path))


class _MobileNetV2Backbone(MobileNetV2):
    """Native MobileNetV2 without classifier; keys as torchvision's ``features.*``."""

    def __init__(self) -> None:
        super().__init__(num_classes=0)

    def forward_feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map ``(N, 1280, h, w)``."""
        return self.features(x)

    def load_pretrained(self, path: Any = None, *, sha256: str | None = None) -> None:
        """Load ImageNet weights (sha256-checked) into the features; drop the classifier."""
        if path is None or sha256 is None:
            state = load_mobilenet_v2_imagenet_state_dict(path)
        else:
            state = load_state_dict_file(path, sha256=sha256)
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        load_state_dict_strict(self, state, source=str(path or "MobileNetV2 ImageNet weights"))


def create_backbone(
    name: str,
    *,
    pretrained: bool = False,
    weights_path: Any = None,
    weights_sha256: str | None = None,
) -> nn.Module:
    """Build a backbone by fairaudit name.

    Parameters
    ----------
    name : str
        A key of :data:`BACKBONES`.
    pretrained : bool, default=False
        Load ImageNet weights. MobileNetV2 finds them offline (see
        :func:`~fairaudit.models.mobilenet_v2_imagenet_weights`); timm backbones
        need ``weights_path`` (fairaudit never downloads).
    weights_path : path-like or torchvision weights, optional
        A local weight file (implies ``pretrained``).
    weights_sha256 : str, optional
        Expected sha256 of ``weights_path`` (full or prefix).

    Returns
    -------
    torch.nn.Module
        With ``forward_feature_map(x)`` and ``num_features``.

    Raises
    ------
    ConfigurationError
        Unknown name, or timm weights requested without a local file.
    MissingDependencyError
        timm (or the MobileNetV2 weight file) is not installed.
    """
    if name not in BACKBONES:
        raise ConfigurationError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    spec = BACKBONES[name]
    if spec.timm_name is None:
        backbone: nn.Module = _MobileNetV2Backbone()
        if pretrained or weights_path is not None:
            backbone.load_pretrained(weights_path, sha256=weights_sha256)
        return backbone
    backbone = TimmBackbone(spec.timm_name)
    if weights_path is not None:
        backbone.load_pretrained(weights_path, sha256=weights_sha256)
    elif pretrained:
        raise ConfigurationError(
            f"pretrained weights for {name!r} (timm {spec.timm_name!r}) are not shipped and "
            "fairaudit never downloads: pass weights_path=<local state dict file>"
        )
    return backbone
