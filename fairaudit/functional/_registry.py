"""The one registry of metrics: every name a result, bootstrap, report, comparison or gate shows.

Three kinds of metric, each a pure function of confusion counts ``cm`` of shape
``(..., C, C)`` (true class on axis -2, predicted on -1) that keeps the leading axes,
so the same call gives point estimates and bootstrap replicates. Each
:class:`MetricSpec` carries that function (:attr:`MetricSpec.function`), so adding a
metric is adding its spec (and its oracle in ``tests/model_audit/test_common.py``):

- :data:`SLICE_METRICS`: one value per slice, shape ``(...)`` (accuracy, macro F1, ...);
- :data:`CLASS_METRICS`: one value per slice and class, shape ``(..., C)`` (recall,
  precision, F1, false positive rate, selection rate);
- :data:`GAP_METRICS`: one value per grouping, from the counts of its groups
  ``(..., G, C, C)``: the fairness metrics of :func:`fairness_arrays`.

:data:`METRICS` holds all three by name. Consumers ask the registry for names,
directions (``higher_is_better``), readable labels and definitions, and compute with
:func:`slice_metric_values`, :func:`class_metric_values` and :func:`gap_values`, which
call the specs' functions; the report's glossary takes the definitions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fairaudit.functional._arrays import shared_marginals
from fairaudit.functional._classification import (
    accuracy,
    averaged_score,
    balanced_accuracy,
    per_class_score,
)
from fairaudit.functional._fairness import FAIRNESS_METRICS, RateGaps, gap_summary, group_rates

__all__ = [
    "CLASS_METRICS",
    "GAP_METRICS",
    "METRICS",
    "SLICE_METRICS",
    "MetricSpec",
    "class_metric_values",
    "gap_values",
    "slice_metric_values",
]

MetricKind = Literal["slice", "class", "gap"]


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric: its name, its words and its computation.

    Attributes
    ----------
    name : str
        The name every table, report, comparison and gate uses.
    kind : {"slice", "class", "gap"}
        A value per slice, per slice and class, or per grouping (a gap between groups).
    label : str
        Readable name for sentences and headers ("macro F1").
    definition : str
        What it is, in terms of the counts (``tp_k``, ``t_k``, ``p_k``, ``n``); the
        report's glossary shows it.
    higher_is_better : bool or None
        Direction of improvement; ``None`` when neither (a selection rate).
    function : callable
        The computation on counts, keeping the leading axes. A slice metric:
        ``function(cm, *, zero_division)`` with ``cm`` of shape ``(..., C, C)``, giving
        ``(...)``; a class metric: the same call, giving ``(..., C)``; a gap:
        ``function(cm, *, pos_index, min_support, shared=None)`` with ``cm`` of shape
        ``(..., G, C, C)``, giving ``(...)``; ``shared`` (a ``RateGaps`` of the same
        counts) lets the gaps of one call share their group rates.
    rate : str or None
        For a gap: the per-group rate compared (``"accuracy"``, ``"selection_rate"``,
        ``"tpr"``, ``"fpr"`` or ``"tpr+fpr"``).
    gap_kind : {"difference", "ratio"} or None
        For a gap: ``max - min`` or ``min / max``.

    Raises
    ------
    TypeError
        When ``function`` is not callable: a metric without its computation.
    """

    name: str
    kind: MetricKind
    label: str
    definition: str
    higher_is_better: bool | None
    function: Callable[..., np.ndarray]
    rate: str | None = None
    gap_kind: str | None = None

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise TypeError(
                f"metric {self.name!r} has no function to compute it "
                f"(got {self.function!r}); a MetricSpec carries its computation"
            )
        if self.kind not in ("slice", "class", "gap"):
            raise ValueError(f"metric {self.name!r}: kind must be slice, class or gap")


def _error_rate(cm: np.ndarray, *, zero_division: float = 0.0) -> np.ndarray:
    return 1.0 - accuracy(cm)


def _counts_only(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    """``fn(cm)`` called as a slice metric (it has no ill-defined score to fill)."""

    @functools.wraps(fn)
    def metric(cm: np.ndarray, *, zero_division: float = 0.0) -> np.ndarray:
        return fn(cm)

    return metric


def _averaged(score: str, average: str) -> Callable[..., np.ndarray]:
    def metric(cm: np.ndarray, *, zero_division: float = 0.0) -> np.ndarray:
        return averaged_score(cm, score=score, average=average, zero_division=zero_division)

    metric.__name__ = f"{score}_{average}"
    return metric


def _per_class(score: str) -> Callable[..., np.ndarray]:
    def metric(cm: np.ndarray, *, zero_division: float = 0.0) -> np.ndarray:
        return per_class_score(cm, score=score, zero_division=zero_division)

    metric.__name__ = score
    return metric


def _slice_rate(rate: str) -> Callable[..., np.ndarray]:
    """A per-class rate of :func:`group_rates`, each slice its own group (NaN: undefined)."""

    def metric(cm: np.ndarray, *, zero_division: float = 0.0) -> np.ndarray:
        return group_rates(cm[..., None, :, :])[rate][..., 0, :]

    metric.__name__ = rate
    return metric


def _slice(
    name: str,
    label: str,
    definition: str,
    function: Callable[..., np.ndarray],
    higher: bool = True,
) -> MetricSpec:
    return MetricSpec(name, "slice", label, definition, higher, function)


def _class(
    name: str,
    label: str,
    definition: str,
    function: Callable[..., np.ndarray],
    higher: bool | None = True,
) -> MetricSpec:
    return MetricSpec(name, "class", label, definition, higher, function)


#: Per-slice metrics, in table order (the columns of ``AuditResult.metrics``).
SLICE_METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _slice(
            "accuracy",
            "accuracy",
            "sum_k tp_k / n: the share of rows whose predicted class is the true class.",
            _counts_only(accuracy),
        ),
        _slice(
            "balanced_accuracy",
            "balanced accuracy",
            "Mean recall over the classes with t_k > 0 in the slice.",
            _counts_only(balanced_accuracy),
        ),
        _slice(
            "precision_macro",
            "macro precision",
            "Unweighted mean of the per-class precision over the classes present in the slice "
            "(t_k + p_k > 0), as scikit-learn's average='macro'.",
            _averaged("precision", "macro"),
        ),
        _slice(
            "recall_macro",
            "macro recall",
            "Unweighted mean of the per-class recall over the classes present.",
            _averaged("recall", "macro"),
        ),
        _slice(
            "f1_macro",
            "macro F1",
            "Unweighted mean of the per-class F1 over the classes present.",
            _averaged("f1", "macro"),
        ),
        _slice(
            "precision_weighted",
            "weighted precision",
            "Mean of the per-class precision weighted by t_k.",
            _averaged("precision", "weighted"),
        ),
        _slice(
            "recall_weighted",
            "weighted recall",
            "Mean of the per-class recall weighted by t_k (equals accuracy).",
            _averaged("recall", "weighted"),
        ),
        _slice(
            "f1_weighted",
            "weighted F1",
            "Mean of the per-class F1 weighted by t_k.",
            _averaged("f1", "weighted"),
        ),
        _slice("error_rate", "error rate", "1 - accuracy.", _error_rate, higher=False),
    )
}

#: Per-slice, per-class scores (the score columns of ``AuditResult.per_class``).
CLASS_METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _class(
            "recall",
            "recall",
            "tp_k / t_k for one class, its true positive rate (0 when t_k = 0).",
            _per_class("recall"),
        ),
        _class(
            "precision",
            "precision",
            "tp_k / p_k for one class (0 when nothing is predicted as k).",
            _per_class("precision"),
        ),
        _class(
            "f1",
            "F1",
            "2 tp_k / (t_k + p_k) for one class (0 when t_k + p_k = 0).",
            _per_class("f1"),
        ),
        _class(
            "fpr",
            "false positive rate",
            "(p_k - tp_k) / (n - t_k): the share of rows not of class k predicted as k.",
            _slice_rate("fpr"),
            higher=False,
        ),
        _class(
            "selection_rate",
            "selection rate",
            "p_k / n: the share of the slice's rows predicted as class k.",
            _slice_rate("selection_rate"),
            higher=None,
        ),
    )
}

#: Definitions of the gaps (the report's glossary shows them as written here); the
#: rate and kind of each gap, its computation, are :data:`FAIRNESS_METRICS`.
_GAP_DEFINITIONS = {
    "demographic_parity_difference": "Fairness gap of the selection rate SR[g,k] = P(pred=k | g).",
    "demographic_parity_ratio": "Ratio of the selection rate across groups (min / max).",
    "disparate_impact_ratio": (
        "The same ratio of selection rates as demographic_parity_ratio; the four-fifths rule "
        "passes when it is at least 0.8."
    ),
    "equal_opportunity_difference": (
        "Fairness gap of the true positive rate TPR[g,k] = P(pred=k | true=k, g)."
    ),
    "equal_opportunity_ratio": "Ratio of the true positive rate across groups (min / max).",
    "fpr_difference": "Fairness gap of the false positive rate FPR[g,k] = P(pred=k | true!=k, g).",
    "fpr_ratio": "Ratio of the false positive rate across groups (min / max).",
    "equalized_odds_difference": "max(TPR difference, FPR difference) of the class.",
    "equalized_odds_ratio": "min(TPR ratio, FPR ratio) of the class.",
    "accuracy_difference": "Accuracy of the best group minus that of the worst group (no class).",
    "accuracy_ratio": "Accuracy of the worst group divided by that of the best group.",
}


def _gap_spec(name: str, rate: str, kind: str) -> MetricSpec:
    if name not in _GAP_DEFINITIONS:
        raise RuntimeError(f"the fairness metric {name!r} has no definition in the registry")
    label = name.replace("fpr_", "false positive rate ").replace("_", " ")
    return MetricSpec(
        name,
        "gap",
        label,
        _GAP_DEFINITIONS[name],
        kind == "ratio",
        functools.partial(gap_summary, rate=rate, kind=kind),
        rate=rate,
        gap_kind=kind,
    )


#: Gaps between groups (fairness metrics), in table order.
GAP_METRICS: dict[str, MetricSpec] = {
    name: _gap_spec(name, rate, kind) for name, rate, kind in FAIRNESS_METRICS
}

#: Every registered metric by name.
METRICS: dict[str, MetricSpec] = {**SLICE_METRICS, **CLASS_METRICS, **GAP_METRICS}


def _names(metrics: Iterable[str] | None, registry: dict[str, MetricSpec], kind: str) -> list[str]:
    """The metrics asked for (default: the whole registry, in order), each one registered."""
    names = list(registry) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in registry]
    if unknown:
        raise KeyError(f"unknown {kind} metric(s) {unknown}; known: {list(registry)}")
    return names


def _values(
    cm: np.ndarray,
    metrics: Iterable[str] | None,
    registry: dict[str, MetricSpec],
    kind: str,
    **options: object,
) -> dict[str, np.ndarray]:
    """Each metric asked for, computed by its spec's function, in the order asked."""
    return {
        name: registry[name].function(cm, **options) for name in _names(metrics, registry, kind)
    }


def slice_metric_values(
    cm: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    zero_division: float = 0.0,
) -> dict[str, np.ndarray]:
    """Values of per-slice metrics from counts ``(..., C, C)``, each of shape ``(...)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., C, C)
        Confusion counts of each slice (leading axes: slices, replicates).
    metrics : iterable of str, optional
        Names from :data:`SLICE_METRICS` (default: all, in registry order).
    zero_division : float, default=0.0
        Value of ill-defined per-class scores inside the averages (as scikit-learn).

    Returns
    -------
    dict of str to numpy.ndarray
        In the order asked; NaN for empty slices.
    """
    with shared_marginals():  # the averages sum the same axes of cm: once
        return _values(cm, metrics, SLICE_METRICS, "slice", zero_division=zero_division)


def class_metric_values(
    cm: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    zero_division: float = 0.0,
) -> dict[str, np.ndarray]:
    """Values of per-class scores from counts ``(..., C, C)``, each of shape ``(..., C)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., C, C)
        Confusion counts of each slice.
    metrics : iterable of str, optional
        Names from :data:`CLASS_METRICS` (default: all, in registry order).
    zero_division : float, default=0.0
        Value of ill-defined precision, recall and F1 (NaN leaves them undefined).
        The false positive rate and selection rate are NaN when undefined.

    Returns
    -------
    dict of str to numpy.ndarray
    """
    return _values(cm, metrics, CLASS_METRICS, "class", zero_division=zero_division)


def gap_values(
    cm: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    pos_index: int | None = None,
    min_support: int = 0,
) -> dict[str, np.ndarray]:
    """Summary values of gap metrics from group counts ``(..., G, C, C)``, shape ``(...)``.

    The summary over classes is that of :func:`~fairaudit.functional.fairness_arrays`:
    the positive class of a binary task, the worst class of a multiclass one.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    metrics : iterable of str, optional
        Names from :data:`GAP_METRICS` (default: all).
    pos_index : int, optional
        Positive class of a binary task (default 1).
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`~fairaudit.functional.group_rates`).

    Returns
    -------
    dict of str to numpy.ndarray
    """
    shared = RateGaps(cm, min_support=min_support)
    return _values(
        cm, metrics, GAP_METRICS, "gap", pos_index=pos_index, min_support=min_support, shared=shared
    )
