"""What a predictor outputs: probabilities per task, and the predictions-table columns.

A model's ``forward`` gives logits (classification) and a sigmoid output in
``[0, 1]`` (regression). :class:`ProbabilityModel` turns these into what users
consume, in one place shared by the torch and ONNX backends (the ONNX graph
contains it): softmax probabilities ``(N, C)`` per classification task, the value
in the task's unit (years: output times ``max_value``) ``(N,)`` per regression task.

The predictions table (what :meth:`Predictor.predict` returns and the audit engine
reads) has, per task: ``{task}_pred`` (the predicted class, a categorical of the
task's classes, or the regression value as float32) and, for classification,
one ``{task}_prob_{class}`` float32 column per class. The column names and status
values are defined in :mod:`fairaudit.schema`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from fairaudit._io import atomic_path, atomic_write_text
from fairaudit.exceptions import DataValidationError, FairAuditError, MissingDependencyError
from fairaudit.schema import (
    ERROR_COLUMN,
    FACE_BOX_COLUMNS,
    FILE_COLUMN,
    LABEL_COLUMNS,
    STATUS_COLUMN,
    STATUS_NO_FACE,
    STATUS_OK,
    STATUS_UNREADABLE,
    pred_column,
    prob_column,
)
from fairaudit.vocab import FAIRFACE_VOCABULARIES, UTKFACE_VOCABULARIES

__all__ = [
    "BOX_COLUMNS",
    "STATUS_NO_FACE",
    "STATUS_OK",
    "STATUS_UNREADABLE",
    "ProbabilityModel",
    "build_predictions_table",
    "pred_column",
    "prediction_columns",
    "prob_column",
    "provenance_path",
    "task_columns",
    "task_dtype",
    "write_predictions",
]

#: Columns of a detected face in a predictions table: its index in the image
#: (largest first) and its box in the original image's pixels
#: (:data:`fairaudit.schema.FACE_BOX_COLUMNS`; the box alone is
#: :data:`fairaudit.schema.BOX_COORDINATE_COLUMNS`).
BOX_COLUMNS: tuple[str, ...] = FACE_BOX_COLUMNS


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


def task_columns(
    tasks: Sequence[object], outputs: Mapping[str, np.ndarray], ok: np.ndarray
) -> dict[str, object]:
    """The prediction columns of the tasks (see :func:`prediction_columns`), by name.

    Parameters
    ----------
    tasks : sequence of TaskSpec
        The model's tasks.
    outputs : mapping of str to numpy.ndarray
        Per task, ``(N, C)`` probabilities or ``(N,)`` values.
    ok : numpy.ndarray of bool
        Rows that were predicted; the others get missing values.

    Returns
    -------
    dict of str to array
        ``{task}_pred`` (categorical of the task's classes, or float32 values)
        and ``{task}_prob_{class}`` (float32) columns, in table order.
    """
    ok = np.asarray(ok, dtype=bool)
    columns: dict[str, object] = {}
    for task in tasks:
        values = np.asarray(outputs[task.name], dtype=np.float32)
        _check_finite(task.name, values, ok)
        if task.kind == "classification":
            values = values.reshape(len(ok), len(task.classes))
            codes = np.where(ok, values.argmax(axis=1), -1) if len(values) else np.array([], int)
            columns[pred_column(task.name)] = pd.Categorical.from_codes(
                codes, dtype=task_dtype(task)
            )
            for j, cls in enumerate(task.classes):
                columns[prob_column(task.name, cls)] = np.where(ok, values[:, j], np.nan).astype(
                    np.float32
                )
        else:
            columns[pred_column(task.name)] = np.where(ok, values.reshape(-1), np.nan).astype(
                np.float32
            )
    return columns


def _check_finite(task: str, values: np.ndarray, ok: np.ndarray) -> None:
    """Refuse NaN or infinite outputs of predicted rows: such a row has no label to give."""
    if not ok.any():
        return
    bad = np.flatnonzero(ok & ~np.isfinite(values.reshape(len(ok), -1)).all(axis=1))
    if bad.size:
        shown = ", ".join(str(int(r) + 1) for r in bad[:10])
        raise FairAuditError(
            f"the model's {task} outputs are not finite (NaN or inf) in {bad.size} of "
            f"{int(ok.sum())} predicted row(s) (row(s) {shown}{', ...' if bad.size > 10 else ''}"
            "): its weights or inputs are broken; no prediction was written"
        )


def build_predictions_table(
    images: pd.DataFrame,
    tasks: Sequence[object],
    outputs: Mapping[str, np.ndarray],
    ok: np.ndarray,
    errors: Sequence[str | None],
) -> pd.DataFrame:
    """Assemble the predictions table.

    Parameters
    ----------
    images : pandas.DataFrame
        The images predicted (``file``, true labels when known), one row each.
    tasks : sequence of TaskSpec
        The model's tasks.
    outputs : mapping of str to numpy.ndarray
        Per task, ``(N, C)`` probabilities or ``(N,)`` values; rows of images that
        could not be read are ignored.
    ok : numpy.ndarray of bool
        Whether each image was read and predicted.
    errors : sequence of str or None
        Why each unreadable image could not be read (None for the others).

    Returns
    -------
    pandas.DataFrame
        Columns ``file``, the true labels present in ``images`` (``gender``,
        ``age``, ``race``, ``age_years``), then per task ``{task}_pred`` and
        ``{task}_prob_{class}`` (float32), then ``status`` (``"ok"`` or
        ``"unreadable"``) and ``error``. Unreadable rows have missing
        predictions and probabilities.
    """
    ok = np.asarray(ok, dtype=bool)
    columns: dict[str, object] = {FILE_COLUMN: images[FILE_COLUMN].astype("str").to_numpy()}
    for name in LABEL_COLUMNS:
        if name in images.columns:
            columns[name] = images[name].to_numpy() if name == "age_years" else images[name].array
    columns.update(task_columns(tasks, outputs, ok))
    columns[STATUS_COLUMN] = pd.array(np.where(ok, STATUS_OK, STATUS_UNREADABLE), dtype="str")
    columns[ERROR_COLUMN] = pd.array(list(errors), dtype="str")
    table = pd.DataFrame(columns)
    if "age_years" in table.columns:
        table["age_years"] = table["age_years"].astype(images["age_years"].dtype)
    return table


def provenance_path(path: str | os.PathLike[str]) -> Path:
    """Where the provenance of a predictions file is written: ``{path}.provenance.json``."""
    path = Path(path)
    return path.with_name(path.name + ".provenance.json")


def write_predictions(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a predictions table to CSV or Parquet (by the file suffix), atomically.

    Parameters
    ----------
    table : pandas.DataFrame
        The predictions table.
    path : path-like
        ``.csv`` or ``.parquet`` / ``.pq`` file. Parent folders are created.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    A table with ``attrs["provenance"]`` (the predictions of an outside model:
    its file, sha256 and spec) keeps it: in the Parquet file's metadata, and
    beside either format as ``{path}.provenance.json``.

    Raises
    ------
    DataValidationError
        If the suffix is neither CSV nor Parquet, or ``path`` is a folder.
    MissingDependencyError
        If Parquet is asked for without pyarrow installed.
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if path.is_dir():
        raise DataValidationError(f"{path} is a folder: give the predictions file to write")
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataValidationError(
            f"{path}: unknown predictions format {suffix!r}; use a .csv or .parquet file name"
        )
    provenance = table.attrs.get("provenance")
    if provenance is not None:
        atomic_write_text(
            provenance_path(path), json.dumps(provenance, indent=2, sort_keys=True) + "\n"
        )
    if suffix == ".csv":
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        return path
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "writing Parquet needs pyarrow: pip install pyarrow (or write a .csv file)"
        ) from None
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path
