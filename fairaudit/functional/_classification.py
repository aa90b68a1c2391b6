"""Classification metrics computed from confusion counts, over any leading axes.

Every function takes a count array ``cm`` of shape ``(..., C, C)`` (true class on
the second-to-last axis, predicted class on the last) and returns an array with
the leading axes ``...`` (slices, bootstrap replicates) kept, so the same code
gives point estimates and bootstrap replicates.

Conventions follow scikit-learn applied to the rows of one slice
(``metric(y_true[mask], y_pred[mask])``):

- a slice without rows has ``NaN`` for every metric (flagged ``"empty"`` by the
  tables that show it);
- precision of a class never predicted, recall of a class never true, and F1
  of a class neither true nor predicted are "ill-defined" and take the value
  ``zero_division`` (0.0 by default, as scikit-learn);
- macro averages run over the classes present in the slice (true or predicted),
  as scikit-learn does when it is not given ``labels``; weighted averages weight
  by the number of true rows of each class;
- balanced accuracy is the mean recall over the classes present among the true
  labels of the slice (``sklearn.metrics.balanced_accuracy_score``).
"""

from __future__ import annotations

import numpy as np

from fairaudit.functional._arrays import predicted_counts, shared, true_counts
from fairaudit.functional._arrays import safe_divide as _divide

__all__ = [
    "accuracy",
    "averaged_scores",
    "balanced_accuracy",
    "per_class_scores",
    "support",
]


def support(cm: np.ndarray) -> np.ndarray:
    """Number of rows of each slice."""
    return cm.sum(axis=(-2, -1))


def accuracy(cm: np.ndarray) -> np.ndarray:
    """Fraction of correct predictions; NaN for an empty slice."""
    return _divide(np.trace(cm, axis1=-2, axis2=-1), support(cm), np.nan)


def per_class_score(cm: np.ndarray, *, score: str, zero_division: float = 0.0) -> np.ndarray:
    """One per-class score (``"precision"``, ``"recall"`` or ``"f1"``) of shape ``(..., C)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., C, C)
        Confusion counts.
    score : {"precision", "recall", "f1"}
        ``tp_k / p_k``, ``tp_k / t_k`` or ``2 tp_k / (t_k + p_k)``.
    zero_division : float, default=0.0
        Value of an ill-defined score (a zero denominator).
    """
    if score not in ("precision", "recall", "f1"):
        raise ValueError(f"score must be 'precision', 'recall' or 'f1', got {score!r}")
    return shared(cm, (score, zero_division), lambda: _per_class_score(cm, score, zero_division))


def _per_class_score(cm: np.ndarray, score: str, zero_division: float) -> np.ndarray:
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    if score == "precision":
        return _divide(tp, predicted_counts(cm), zero_division)
    if score == "recall":
        return _divide(tp, true_counts(cm), zero_division)
    return _divide(2 * tp, true_counts(cm) + predicted_counts(cm), zero_division)


def per_class_scores(
    cm: np.ndarray, *, zero_division: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1, each of shape ``(..., C)``."""
    precision, recall, f1 = (
        per_class_score(cm, score=score, zero_division=zero_division)
        for score in ("precision", "recall", "f1")
    )
    return precision, recall, f1


def averaged_score(
    cm: np.ndarray, *, score: str, average: str, zero_division: float = 0.0
) -> np.ndarray:
    """Macro or weighted average of one per-class score, of shape ``(...)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., C, C)
        Confusion counts.
    score : {"precision", "recall", "f1"}
        The per-class score averaged (:func:`per_class_score`).
    average : {"macro", "weighted"}
        ``"macro"``: unweighted mean over the classes present in the slice (as
        true or predicted label). ``"weighted"``: mean weighted by the number of
        true rows of each class.
    zero_division : float, default=0.0
        Value of ill-defined per-class scores (NaN makes the average skip them).

    Returns
    -------
    numpy.ndarray
        NaN for an empty slice.
    """
    true_count = true_counts(cm).astype(np.float64)
    if average == "macro":
        weights = ((true_count + predicted_counts(cm)) > 0).astype(np.float64)
    elif average == "weighted":
        weights = true_count
    else:
        raise ValueError(f"average must be 'macro' or 'weighted', got {average!r}")
    values = per_class_score(cm, score=score, zero_division=zero_division)
    undefined = np.isnan(values)
    w = np.where(undefined, 0.0, weights)
    # NaN scores weigh 0 (the scores are finite elsewhere: ratios of counts)
    return _divide((np.where(undefined, 0.0, values) * w).sum(axis=-1), w.sum(axis=-1), np.nan)


def averaged_scores(
    cm: np.ndarray, *, average: str, zero_division: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Macro or weighted precision, recall and F1, each of shape ``(...)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., C, C)
        Confusion counts.
    average : {"macro", "weighted"}
        See :func:`averaged_score`.
    zero_division : float, default=0.0
        Value of ill-defined per-class scores (NaN makes the averages skip them).

    Returns
    -------
    tuple of numpy.ndarray
        precision, recall, F1; NaN for an empty slice.
    """
    precision, recall, f1 = (
        averaged_score(cm, score=score, average=average, zero_division=zero_division)
        for score in ("precision", "recall", "f1")
    )
    return precision, recall, f1


def balanced_accuracy(cm: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present among the true labels of the slice."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_count = true_counts(cm)
    recall = _divide(tp, true_count, 0.0)
    present = true_count > 0
    return _divide((recall * present).sum(axis=-1), present.sum(axis=-1), np.nan)
