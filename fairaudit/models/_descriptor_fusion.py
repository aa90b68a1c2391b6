"""A CNN's pooled features fused with dlib's 128-D face descriptor, then per-task heads.

The descriptor is computed inside :meth:`forward` from the model's own input (the
normalised crop is turned back into its pixels), so the model keeps the
interface of every other fairaudit model: ``model(x) -> {task: output}`` on the
crops of :class:`~fairaudit.datasets.ImageTransform`. The descriptor needs the
extra ``detect`` (dlib and its model files, see :mod:`fairaudit.detect`); it is
not differentiable and has no parameter, so only the CNN and the heads learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from fairaudit.datasets._transforms import ImageTransform
from fairaudit.detect._descriptor import DESCRIPTOR_SIZE
from fairaudit.exceptions import ConfigurationError
from fairaudit.models._tasks import FAIRFACE_TASKS, TaskSpec
from fairaudit.models._transfer import TransferMTLNet

__all__ = ["DESCRIPTOR_FUSION_ARCH", "DescriptorFusionNet", "crops_to_pixels"]

#: Architecture name of :class:`DescriptorFusionNet` in :func:`~fairaudit.models.build_model`.
DESCRIPTOR_FUSION_ARCH = "mobilenet_v2_face_descriptor"


def crops_to_pixels(x: torch.Tensor) -> np.ndarray:
    """The uint8 RGB pixels ``(N, H, W, 3)`` of normalised crops ``(N, 3, H, W)``.

    The inverse of :class:`~fairaudit.datasets.ImageTransform` (ImageNet
    normalisation): the pixels it was computed from, exactly (each value is
    a multiple of 1/255 before normalisation, well within rounding).
    """
    normalisation = ImageTransform()  # its default mean and std: ImageNet's
    mean = torch.tensor(normalisation.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(normalisation.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    pixels = ((x.detach() * std + mean) * 255).round().clamp(0, 255)
    return pixels.to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()


class DescriptorFusionNet(TransferMTLNet):
    """MobileNetV2 features and dlib's face descriptor, standardised, then MLP heads.

    ``forward_features(x)`` is ``(concat(pool(cnn(x)), descriptor(x)) - mean) / std``
    with the training features' ``mean`` and ``std`` (buffers, saved with the
    weights); each head is that of :class:`TransferMTLNet` over the
    ``1280 + 128`` fused features.

    Parameters
    ----------
    tasks : sequence of TaskSpec, default=FAIRFACE_TASKS
    head_units : sequence of int, default=(256,)
        Hidden dense layers of every head.
    dropout : float, default=0.0
        Dropout on the fused features (training only).
    pretrained, weights_path
        As :class:`TransferMTLNet` (the CNN's ImageNet weights).

    Notes
    -----
    The descriptor is computed on CPU with dlib (about 60 ms per image on one
    core), whatever the device of the CNN.
    """

    def __init__(
        self,
        *,
        tasks: Sequence[TaskSpec] = FAIRFACE_TASKS,
        head_units: Sequence[int] = (256,),
        dropout: float = 0.0,
        pretrained: bool = False,
        weights_path: Any = None,
    ) -> None:
        super().__init__(
            backbone="mobilenet_v2",
            tasks=tasks,
            pretrained=pretrained,
            weights_path=weights_path,
            head_units=head_units,
            dropout=dropout,
        )
        self.arch = DESCRIPTOR_FUSION_ARCH
        self.arch_kwargs = {"head_units": list(head_units), "dropout": float(dropout)}
        self.cnn_features = self.num_features
        self.num_features = self.cnn_features + DESCRIPTOR_SIZE
        self.register_buffer("feature_mean", torch.zeros(self.num_features))
        self.register_buffer("feature_std", torch.ones(self.num_features))
        self.heads = nn.ModuleDict(
            {t.name: self._make_head(tuple(head_units), t) for t in self.tasks}
        )
        self._describe: Any = None

    def describe(self, x: torch.Tensor) -> torch.Tensor:
        """dlib's descriptors ``(N, 128)`` of normalised crops ``(N, 3, H, W)``."""
        if self._describe is None:
            from fairaudit.detect._descriptor import DlibFaceDescriptor

            self._describe = DlibFaceDescriptor()
        out = self._describe(crops_to_pixels(x))
        return torch.from_numpy(out).to(device=x.device, dtype=torch.float32)

    def cnn_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The CNN's pooled features ``(N, 1280)``."""
        return self.pool(self.backbone.forward_feature_map(x))

    def fuse(self, cnn: torch.Tensor, descriptor: torch.Tensor) -> torch.Tensor:
        """Standardised fused features of precomputed parts (what the heads see)."""
        if cnn.shape[-1] != self.cnn_features or descriptor.shape[-1] != DESCRIPTOR_SIZE:
            raise ConfigurationError(
                f"fuse expects ({self.cnn_features},) CNN features and ({DESCRIPTOR_SIZE},) "
                f"descriptors, got {tuple(cnn.shape)} and {tuple(descriptor.shape)}"
            )
        fused = torch.cat([cnn.to(self.feature_mean.dtype), descriptor], dim=-1)
        return (fused - self.feature_mean) / self.feature_std

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Fused, standardised features ``(N, 1408)`` (after dropout)."""
        return self.dropout(self.fuse(self.cnn_pooled(x), self.describe(x)))

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_describe"] = None  # dlib objects are rebuilt where the model is unpickled
        return state
