"""The project's own small multi-task network, trained from scratch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fairaudit.exceptions import ConfigurationError
from fairaudit.models._base import MultiTaskNet
from fairaudit.models._tasks import FAIRFACE_TASKS, TaskSpec

__all__ = [
    "LIGHTWEIGHT_CHANNELS",
    "LIGHTWEIGHT_STRIDES",
    "DepthwiseSeparableBlock",
    "LightweightMTLNet224",
]

#: Output channels of the 7 depthwise-separable blocks (input: 3 channels).
LIGHTWEIGHT_CHANNELS: tuple[int, ...] = (64, 128, 128, 256, 256, 512, 512)
#: Strides of the 7 blocks (carried by the depthwise convolution).
LIGHTWEIGHT_STRIDES: tuple[int, ...] = (2, 1, 2, 1, 2, 1, 2)


class DepthwiseSeparableBlock(nn.Sequential):
    """Depthwise 3x3 conv -> pointwise 1x1 conv -> BatchNorm2d -> ReLU.

    Neither convolution has a bias: the BatchNorm that follows the pointwise
    convolution makes one redundant (and the parameter count of
    :class:`LightweightMTLNet224` relies on it). For inference the BatchNorm can
    be folded into ``pointwise`` (which then gains a bias).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels in and out.
    stride : int
        Stride of the depthwise convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            groups=in_channels,
            bias=False,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)


class LightweightMTLNet224(MultiTaskNet):
    """A MobileNet-style multi-task network: 7 depthwise-separable blocks, shared
    dense layer, one linear head per task.

    Layout (``width=1``): blocks with channels 3-64-128-128-256-256-512-512 and
    strides 2,1,2,1,2,1,2 (each block: depthwise 3x3 conv with the stride ->
    pointwise 1x1 conv -> BatchNorm2d -> ReLU), global average pooling,
    ``Linear(512, 256)`` + ReLU (+ optional dropout), then a linear head per task
    (2, 9 and 7 outputs for :data:`FAIRFACE_TASKS`). The pooling is adaptive, so any
    input size works (224 is the design size; the output stride is 16).

    Trainable parameters with the FairFace tasks, 668,077 in all:

    ========================================  ========================================
    depthwise 3x3 weights (no bias)           9 * (3+64+128+128+256+256+512) = 12,123
    pointwise 1x1 weights (no bias)           3*64 + 64*128 + 128*128 + 128*256
                                              + 256*256 + 256*512 + 512*512 = 516,288
    BatchNorm weight + bias                   2 * (64+128+128+256+256+512+512) = 3,712
    shared Linear(512, 256)                   512*256 + 256 = 131,328
    heads Linear(256, 2/9/7)                  (256*2+2) + (256*9+9) + (256*7+7)
                                              = 514 + 2,313 + 1,799 = 4,626
    total                                     532,123 (backbone) + 135,954 = 668,077
    ========================================  ========================================

    Parameters
    ----------
    tasks : sequence of TaskSpec, default=FAIRFACE_TASKS
        One head per task.
    width : float, default=1.0
        Multiplier of every block's channels (rounded, at least 8).
    hidden : int, default=256
        Width of the shared dense layer.
    dropout : float, default=0.0
        Dropout after the shared dense layer (no parameters).
    """

    def __init__(
        self,
        *,
        tasks: Sequence[TaskSpec] = FAIRFACE_TASKS,
        width: float = 1.0,
        hidden: int = 256,
        dropout: float = 0.0,
    ) -> None:
        if isinstance(width, bool) or not isinstance(width, int | float) or not width > 0:
            raise ConfigurationError(f"width must be a number > 0, got {width!r}")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ConfigurationError(f"hidden must be an integer >= 1, got {hidden!r}")
        if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"dropout must lie in [0, 1), got {dropout!r}")
        super().__init__(
            arch="lightweight",
            arch_kwargs={"width": float(width), "hidden": int(hidden), "dropout": float(dropout)},
            tasks=tasks,
        )
        channels = [max(8, int(round(c * width))) for c in LIGHTWEIGHT_CHANNELS]
        blocks = []
        in_channels = 3
        for out_channels, stride in zip(channels, LIGHTWEIGHT_STRIDES, strict=True):
            blocks.append(DepthwiseSeparableBlock(in_channels, out_channels, stride))
            in_channels = out_channels
        self.backbone = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.shared = nn.Sequential(
            nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.heads = nn.ModuleDict({t.name: nn.Linear(hidden, t.num_outputs) for t in self.tasks})
        self.num_features = in_channels

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The shared dense features ``(N, hidden)``."""
        return self.shared(torch.flatten(self.pool(self.backbone(x)), 1))
