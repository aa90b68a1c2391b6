"""Class weights for imbalanced attributes: ``n / (C * count_c)`` per task."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import Vocabulary

__all__ = ["compute_class_weights"]

logger = logging.getLogger(__name__)


def compute_class_weights(
    table: pd.DataFrame,
    *,
    vocabularies: Mapping[str, Vocabulary],
    tasks: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Balanced class weights per task, from a label table.

    The weight of class ``c`` is ``n / (C * count_c)`` (scikit-learn's
    ``"balanced"`` rule), where ``n`` is the number of labelled rows and ``C`` the
    number of classes of the vocabulary. A class absent from the table gets
    weight 0 (it never appears as a target, so the value has no effect) and is
    reported in the log.

    Parameters
    ----------
    table : pandas.DataFrame
        Training label table with one column per task.
    vocabularies : mapping of str to Vocabulary
        The class vocabulary of each task.
    tasks : sequence of str, optional
        Tasks to weight; default every key of ``vocabularies``.

    Returns
    -------
    dict of str to torch.Tensor
        One float32 tensor of length ``C`` per task, in vocabulary order.

    Raises
    ------
    DataValidationError
        If a task column is missing or the table is empty.
    UnknownLabelError
        If a label lies outside its vocabulary (row and value named).
    """
    tasks = list(vocabularies) if tasks is None else list(tasks)
    if len(table) == 0:
        raise DataValidationError("cannot compute class weights from an empty training table")
    weights: dict[str, torch.Tensor] = {}
    for task in tasks:
        if task not in table.columns:
            raise DataValidationError(
                f"class weights: the training table has no column {task!r} "
                f"(columns: {list(table.columns)})"
            )
        vocab = vocabularies[task]
        codes = vocab.encode(table[task], source="training table")
        counts = np.bincount(codes, minlength=len(vocab)).astype(np.float64)
        with np.errstate(divide="ignore"):
            w = np.where(counts > 0, len(codes) / (len(vocab) * counts), 0.0)
        absent = [vocab.classes[i] for i in np.flatnonzero(counts == 0)]
        if absent:
            logger.warning(
                "class weights for %r: class(es) %s absent from the training table (weight 0)",
                task,
                absent,
            )
        weights[task] = torch.as_tensor(w, dtype=torch.float32)
    return weights
