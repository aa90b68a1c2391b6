"""MobileNetV2 (Sandler et al., 2018) in plain torch, with torchvision's layout.

The modules carry the same names as torchvision's ``mobilenet_v2`` (``features.N...``,
``classifier.1``), so torchvision's ImageNet file ``mobilenet_v2-b0353104.pth`` loads
into :class:`MobileNetV2` with ``strict=True`` -- without torchvision installed.
"""

from __future__ import annotations

import torch
from torch import nn

from fairaudit.exceptions import ConfigurationError

__all__ = ["MobileNetV2"]

# t (expansion), c (channels), n (repeats), s (stride of the first repeat)
_INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor``, never dropping more than 10 %."""
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


class _ConvBNReLU6(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU6 (torchvision's ``Conv2dNormActivation``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
    ) -> None:
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class _InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise 3x3 -> project 1x1 (linear), residual when shapes match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_ConvBNReLU6(in_channels, hidden, kernel_size=1))
        layers += [
            _ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 with torchvision's module names and initialisation.

    Parameters
    ----------
    num_classes : int, default=1000
        Output classes of the classifier; ``0`` gives no classifier (the forward
        pass returns the pooled features, ``(N, num_features)``), as timm does.
    width_mult : float, default=1.0
        Channel multiplier.
    dropout : float, default=0.2
        Dropout before the classifier.

    Attributes
    ----------
    num_features : int
        Width of the pooled features (1280 at ``width_mult=1``).
    """

    def __init__(
        self, *, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ConfigurationError(f"num_classes must be an integer >= 0, got {num_classes!r}")
        if not isinstance(width_mult, int | float) or not width_mult > 0:
            raise ConfigurationError(f"width_mult must be a number > 0, got {width_mult!r}")
        input_channels = _make_divisible(32 * width_mult)
        self.num_features = _make_divisible(1280 * max(1.0, width_mult))
        features: list[nn.Module] = [_ConvBNReLU6(3, input_channels, stride=2)]
        for t, c, n, s in _INVERTED_RESIDUAL_SETTING:
            out_channels = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(
                    _InvertedResidual(input_channels, out_channels, s if i == 0 else 1, t)
                )
                input_channels = out_channels
        features.append(_ConvBNReLU6(input_channels, self.num_features, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.num_classes = num_classes
        if num_classes:
            self.classifier: nn.Module = nn.Sequential(
                nn.Dropout(p=dropout), nn.Linear(self.num_features, num_classes)
            )
        else:
            self.classifier = nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's initialisation, so random-init behaviour matches too.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled features ``(N, num_features)``."""
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(N, num_classes)``, or the pooled features if ``num_classes=0``."""
        return self.classifier(self.forward_features(x))
