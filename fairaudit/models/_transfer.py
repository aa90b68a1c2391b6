"""Transfer-learning multi-task models: a pretrained backbone, then per-task MLP heads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from fairaudit.exceptions import ConfigurationError
from fairaudit.models._backbones import BACKBONES, create_backbone
from fairaudit.models._base import MultiTaskNet
from fairaudit.models._tasks import FAIRFACE_TASKS, TaskSpec

__all__ = ["TransferMTLNet", "TransformerPool"]


class TransformerPool(nn.Module):
    """A small Transformer encoder over the cells of a feature map, then mean pooling.

    ``(N, C, h, w)`` -> 1x1 projection to ``dim`` -> + depthwise 3x3 conv
    (a positional encoding that works at any input size) -> ``layers`` pre-norm
    encoder layers over the ``h*w`` tokens -> LayerNorm -> mean over tokens ->
    ``(N, dim)``.
    """

    def __init__(
        self, in_channels: int, *, dim: int = 128, layers: int = 2, heads: int = 4
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigurationError(
                f"transformer_dim ({dim}) must be divisible by transformer_heads ({heads})"
            )
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=1)
        self.pos = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=2 * dim, dropout=0.1, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.num_features = dim

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        x = self.proj(feature_map)
        x = x + self.pos(x)
        tokens = self.encoder(x.flatten(2).transpose(1, 2))
        return self.norm(tokens).mean(dim=1)


class _GlobalAvgPool(nn.Module):
    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(feature_map, 1), 1)


class TransferMTLNet(MultiTaskNet):
    """The UTKFace study's transfer model: pretrained backbone, global pooling, MLP heads.

    Each task's head is ``Linear(F, 128) -> ReLU -> Linear(128, 128) -> ReLU ->
    Linear(128, outputs)`` (with ``head_units=(128, 128)``); gender and race are
    softmax classifications (logits out), age either 9 groups or a regression
    (sigmoid output; times ``max_value`` gives years).

    The two strategies of the study: *feature extraction* (:meth:`freeze_backbone`,
    or ``build_model(..., freeze_backbone=True)``: no backbone parameter learns and
    its BatchNorm statistics stay fixed in training mode) and *fine-tuning* (all
    parameters learn).

    Parameters
    ----------
    backbone : str, default="mobilenet_v2"
        A backbone name (see :data:`~fairaudit.models.BACKBONES`); also the
        model's ``arch``.
    tasks : sequence of TaskSpec, default=FAIRFACE_TASKS
        One head per task.
    pretrained : bool, default=False
        Load the backbone's ImageNet weights from a local file (never downloads).
    weights_path : path-like or torchvision weights, optional
        The local backbone weight file (implies ``pretrained``).
    head_units : sequence of int, default=(128, 128)
        Hidden dense layers of every head.
    dropout : float, default=0.0
        Dropout after the pooling (before the heads).
    transformer_layers : int, optional
        Transformer encoder layers between backbone and pooling (0: plain global
        average pooling). Default: the backbone's (2 for
        ``"mobilenet_v1_transformer"``, else 0).
    transformer_dim, transformer_heads : int, default=128, 4
        Width and attention heads of that encoder.
    """

    def __init__(
        self,
        *,
        backbone: str = "mobilenet_v2",
        tasks: Sequence[TaskSpec] = FAIRFACE_TASKS,
        pretrained: bool = False,
        weights_path: Any = None,
        weights_sha256: str | None = None,
        head_units: Sequence[int] = (128, 128),
        dropout: float = 0.0,
        transformer_layers: int | None = None,
        transformer_dim: int = 128,
        transformer_heads: int = 4,
    ) -> None:
        if backbone not in BACKBONES:
            raise ConfigurationError(
                f"unknown backbone {backbone!r}; choose one of {sorted(BACKBONES)}"
            )
        head_units = tuple(head_units)
        if not all(isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in head_units):
            raise ConfigurationError(f"head_units must be positive integers, got {head_units!r}")
        if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"dropout must lie in [0, 1), got {dropout!r}")
        if transformer_layers is None:
            transformer_layers = BACKBONES[backbone].transformer_layers
        if not isinstance(transformer_layers, int) or transformer_layers < 0:
            raise ConfigurationError(
                f"transformer_layers must be an integer >= 0, got {transformer_layers!r}"
            )
        arch_kwargs: dict[str, Any] = {
            "head_units": list(head_units),
            "dropout": float(dropout),
            "transformer_layers": transformer_layers,
        }
        if transformer_layers:
            arch_kwargs |= {
                "transformer_dim": transformer_dim,
                "transformer_heads": transformer_heads,
            }
        super().__init__(arch=backbone, arch_kwargs=arch_kwargs, tasks=tasks)
        self.backbone = create_backbone(
            backbone,
            pretrained=pretrained,
            weights_path=weights_path,
            weights_sha256=weights_sha256,
        )
        channels = int(self.backbone.num_features)
        if transformer_layers:
            self.pool: nn.Module = TransformerPool(
                channels, dim=transformer_dim, layers=transformer_layers, heads=transformer_heads
            )
            self.num_features = transformer_dim
        else:
            self.pool = _GlobalAvgPool()
            self.num_features = channels
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({t.name: self._make_head(head_units, t) for t in self.tasks})

    def _make_head(self, head_units: tuple[int, ...], task: TaskSpec) -> nn.Sequential:
        layers: list[nn.Module] = []
        width = self.num_features
        for units in head_units:
            layers += [nn.Linear(width, units), nn.ReLU(inplace=True)]
            width = units
        layers.append(nn.Linear(width, task.num_outputs))
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features ``(N, F)`` (after dropout)."""
        return self.dropout(self.pool(self.backbone.forward_feature_map(x)))
