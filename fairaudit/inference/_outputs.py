"""What a predictor outputs: probabilities per task, and the predictions-table columns.

A model's ``forward`` gives logits (classification) and a sigmoid output in
``[0, 1]`` (regression). :class:`ProbabilityModel` turns these into what users
consume, in one place shared by the torch and ONNX backends (the ONNX graph
contains it): softmax probabilities ``(N, C)`` per classification task, the value
in the task's unit (years: output times ``max_value``) ``(N,)`` per regression task.

The predictions table (what :meth:`Predictor.predict` returns and the audit engine
reads) has, per task: ``{task}_pred`` (the predicted class, a categorical of the
task's classes, or the regression value as float32) and, for classification,
one ``{task}_prob_{class}`` float32 column per class.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn

from fairaudit.vocab import FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES

__all__ = ["ProbabilityModel", "pred_column", "prediction_columns", "prob_column", "task_dtype"]


def pred_column(task: str) -> str:
    """Name of the predicted-label column of a task: ``"{task}_pred"``."""
    return f"{task}_pred"


def prob_column(task: str, cls: str) -> str:
    """Name of the probability column of one class: ``"{task}_prob_{class}"``."""
    return f"{task}_prob_{cls}"


def prediction_columns(tasks: Sequence[object]) -> list[str]:
    """Prediction column names of the tasks, in table order.

    Parameters
    ----------
    tasks : sequence of TaskSpec
        The model's tasks.
    """
    columns: list[str] = []
    for task in tasks:
        columns.append(pred_column(task.name))
        if task.kind == "classification":
            columns.extend(prob_column(task.name, c) for c in task.classes)
    return columns


def task_dtype(task: object) -> pd.CategoricalDtype:
    """Categorical dtype of a classification task's predictions.

    The dtype of the matching :mod:`fairaudit.vocab` vocabulary when the task's
    classes are exactly those (so ``age_pred`` is ordered like ``age``), else an
    unordered categorical of the task's classes.
    """
    for vocabularies in (FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES):
        vocab = vocabularies.get(task.name)
        if vocab is not None and vocab.classes == tuple(task.classes):
            return vocab.dtype
    return pd.CategoricalDtype(list(task.classes), ordered=False)


class ProbabilityModel(nn.Module):
    """Wrap a multi-task model so it outputs probabilities and values.

    Parameters
    ----------
    model : torch.nn.Module
        A fairaudit model (``forward(x) -> dict[task, Tensor]``).
    tasks : sequence of TaskSpec
        The model's tasks (``model.tasks``).

    Notes
    -----
    ``forward`` returns a dict in task order: ``softmax(logits)`` ``(N, C)`` for
    a classification task, ``output * max_value`` ``(N,)`` for a regression task.
    The ONNX export names its outputs after the tasks in this order.
    """

    def __init__(self, model: nn.Module, tasks: Sequence[object]) -> None:
        super().__init__()
        self.model = model
        self.tasks = tuple(tasks)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raw = self.model(x)
        out: dict[str, torch.Tensor] = {}
        for task in self.tasks:
            value = raw[task.name].float()
            if task.kind == "classification":
                out[task.name] = torch.softmax(value, dim=1)
            else:
                out[task.name] = value.reshape(-1) * float(task.max_value)
        return out
