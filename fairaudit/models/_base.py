"""The common shape of every fairaudit model: a backbone, then one head per task."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from fairaudit.exceptions import DataValidationError
from fairaudit.models._tasks import TaskSpec, validate_tasks

__all__ = ["MultiTaskNet"]


class MultiTaskNet(nn.Module):
    """Base class: ``backbone`` -> features ``(N, F)`` -> ``heads[task.name]`` per task.

    Subclasses build ``self.backbone`` (an :class:`~torch.nn.Module`) and
    ``self.heads`` (an :class:`~torch.nn.ModuleDict` keyed by task name, each head
    mapping ``(N, F)`` to ``(N, task.num_outputs)``), and implement
    :meth:`forward_features`.

    Attributes
    ----------
    arch : str
        Architecture name, as given to :func:`~fairaudit.models.build_model`.
    arch_kwargs : dict
        JSON-able keyword arguments that rebuild the same architecture with
        ``build_model(arch, tasks=tasks, **arch_kwargs)``.
    tasks : tuple of TaskSpec
        What the outputs mean, in output order.
    """

    arch: str
    arch_kwargs: dict[str, Any]
    tasks: tuple[TaskSpec, ...]
    backbone: nn.Module
    heads: nn.ModuleDict

    def __init__(self, *, arch: str, arch_kwargs: dict[str, Any], tasks: Sequence[TaskSpec]):
        super().__init__()
        self.arch = arch
        self.arch_kwargs = dict(arch_kwargs)
        self.tasks = validate_tasks(tasks)
        self._backbone_frozen = False

    # -- forward ---------------------------------------------------------------
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Shared features ``(N, F)`` of a batch of images ``(N, 3, H, W)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Predict every task.

        Parameters
        ----------
        x : torch.Tensor
            Images, ``(N, 3, H, W)``, normalised as in training.

        Returns
        -------
        dict of str to torch.Tensor
            One entry per task, in task order: logits ``(N, C)`` for a
            classification task, the sigmoid output ``(N,)`` in ``[0, 1]`` for a
            regression task (times ``task.max_value`` gives the value).
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise DataValidationError(
                f"{type(self).__name__} expects images of shape (N, 3, H, W), got {tuple(x.shape)}"
            )
        features = self.forward_features(x)
        return {
            task.name: task.output_from_raw(self.heads[task.name](features)) for task in self.tasks
        }

    # -- transfer-learning strategies -----------------------------------------
    @property
    def backbone_frozen(self) -> bool:
        """Whether the backbone is frozen (feature extraction)."""
        return self._backbone_frozen

    def freeze_backbone(self) -> MultiTaskNet:
        """Feature extraction: the backbone stops learning.

        Its parameters get ``requires_grad=False`` and its modules (BatchNorm
        running statistics, dropout) stay in eval mode even when the model is put
        in training mode. Returns ``self``.
        """
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(False)
        self._backbone_frozen = True
        self.backbone.eval()
        return self

    def unfreeze_backbone(self) -> MultiTaskNet:
        """Fine-tuning: every backbone parameter learns again. Returns ``self``."""
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(True)
        self._backbone_frozen = False
        self.backbone.train(self.training)
        return self

    def train(self, mode: bool = True) -> MultiTaskNet:
        """Set training mode, keeping a frozen backbone in eval mode."""
        super().train(mode)
        if self._backbone_frozen:
            self.backbone.eval()
        return self

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the backbone (e.g. for a smaller fine-tuning learning rate)."""
        return self.backbone.parameters()

    def head_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter outside the backbone (shared neck and task heads)."""
        backbone_ids = {id(p) for p in self.backbone.parameters()}
        return (p for p in self.parameters() if id(p) not in backbone_ids)

    def extra_repr(self) -> str:
        tasks = ", ".join(f"{t.name}:{t.num_outputs}" for t in self.tasks)
        return f"arch={self.arch!r}, tasks=({tasks}), backbone_frozen={self._backbone_frozen}"
