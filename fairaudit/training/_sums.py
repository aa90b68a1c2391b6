"""The running sums of an epoch (losses and metrics), shared by the epoch loop and resumes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

__all__: list[str] = []


class _Sums:
    """Per-epoch running sums of losses and metrics, in one float64 tensor.

    Layout: ``[n, loss_sum, (task_loss_sum, task_metric_sum) per task]``; the
    metric is the number correct (classification) or the sum of absolute
    errors in the task's unit (regression). One tensor so that one
    ``all_reduce`` combines the processes.
    """

    def __init__(self, tasks: Sequence[Any], values: torch.Tensor | None = None) -> None:
        self.tasks = tuple(tasks)
        self.values = (
            torch.zeros(2 + 2 * len(self.tasks), dtype=torch.float64)
            if values is None
            else values.clone().to(torch.float64)
        )

    def add(self, n: int, loss: float, task_losses: Sequence[float], metrics: Sequence[float]):
        row = [n, loss * n]
        for task_loss, metric in zip(task_losses, metrics, strict=True):
            row += [task_loss * n, metric]
        self.values += torch.tensor(row, dtype=torch.float64)

    def means(self, prefix: str) -> dict[str, float]:
        n = float(self.values[0])
        mean = (lambda s: float(s) / n) if n > 0 else (lambda s: math.nan)
        out = {f"{prefix}_loss": mean(self.values[1])}
        for i, task in enumerate(self.tasks):
            out[f"{prefix}_{task.name}_loss"] = mean(self.values[2 + 2 * i])
            metric = "accuracy" if task.is_classification else "mae"
            out[f"{prefix}_{task.name}_{metric}"] = mean(self.values[3 + 2 * i])
        return out

    @property
    def n(self) -> int:
        return int(self.values[0])
