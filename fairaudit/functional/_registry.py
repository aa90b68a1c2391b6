"""The one registry of metrics: every name a result, bootstrap, report, comparison or gate shows.

Three kinds of metric, each a pure function of confusion counts ``cm`` of shape
``(..., C, C)`` (true class on axis -2, predicted on -1) that keeps the leading axes,
so the same call gives point estimates and bootstrap replicates:

- :data:`SLICE_METRICS`: one value per slice, shape ``(...)`` (accuracy, macro F1, ...);
- :data:`CLASS_METRICS`: one value per slice and class, shape ``(..., C)`` (recall,
  precision, F1, false positive rate, selection rate);
- :data:`GAP_METRICS`: one value per grouping, from the counts of its groups
  ``(..., G, C, C)``: the fairness metrics of :func:`fairness_arrays`.

:data:`METRICS` holds all three by name. Consumers ask the registry for names,
directions (``higher_is_better``), readable labels and definitions, and compute with
:func:`slice_metric_values`, :func:`class_metric_values` and :func:`gap_values`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fairaudit.functional._classification import (
    accuracy,
    averaged_scores,
    balanced_accuracy,
    per_class_scores,
)
from fairaudit.functional._fairness import FAIRNESS_METRICS, fairness_arrays, group_rates

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
    """One registered metric.

    Attributes
    ----------
    name : str
        The name every table, report, comparison and gate uses.
    kind : {"slice", "class", "gap"}
        A value per slice, per slice and class, or per grouping (a gap between groups).
    label : str
        Readable name for sentences and headers ("macro F1").
    definition : str
        What it is, in terms of the counts (``tp_k``, ``t_k``, ``p_k``, ``n``).
    higher_is_better : bool or None
        Direction of improvement; ``None`` when neither (a selection rate).
    rate : str or None
        For a gap: the per-group rate compared (``"accuracy"``, ``"selection_rate"``,
        ``"tpr"``, ``"fpr"`` or ``"tpr+fpr"``).
    gap_kind : {"difference", "ratio"} or None
        For a gap: ``max - min`` or ``min / max``.
    """

    name: str
    kind: MetricKind
    label: str
    definition: str
    higher_is_better: bool | None
    rate: str | None = None
    gap_kind: str | None = None


def _slice(name: str, label: str, definition: str, higher: bool = True) -> MetricSpec:
    return MetricSpec(name, "slice", label, definition, higher)


def _class(name: str, label: str, definition: str, higher: bool | None = True) -> MetricSpec:
    return MetricSpec(name, "class", label, definition, higher)


#: Per-slice metrics, in table order (the columns of ``AuditResult.metrics``).
SLICE_METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        _slice(
            "accuracy",
            "accuracy",
            "sum_k tp_k / n: the share of rows whose predicted class is the true class.",
        ),
        _slice(
            "balanced_accuracy",
            "balanced accuracy",
            "Mean recall over the classes with t_k > 0 in the slice.",
        ),
        _slice(
            "precision_macro",
            "macro precision",
            "Unweighted mean of the per-class precision over the classes present in the slice "
            "(t_k + p_k > 0), as scikit-learn's average='macro'.",
        ),
        _slice(
            "recall_macro",
            "macro recall",
            "Unweighted mean of the per-class recall over the classes present.",
        ),
        _slice(
            "f1_macro", "macro F1", "Unweighted mean of the per-class F1 over the classes present."
        ),
        _slice(
            "precision_weighted",
            "weighted precision",
            "Mean of the per-class precision weighted by t_k.",
        ),
        _slice(
            "recall_weighted",
            "weighted recall",
            "Mean of the per-class recall weighted by t_k (equals accuracy).",
        ),
        _slice("f1_weighted", "weighted F1", "Mean of the per-class F1 weighted by t_k."),
        _slice("error_rate", "error rate", "1 - accuracy.", higher=False),
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
        ),
        _class(
            "precision", "precision", "tp_k / p_k for one class (0 when nothing is predicted as k)."
        ),
        _class("f1", "F1", "2 tp_k / (t_k + p_k) for one class (0 when t_k + p_k = 0)."),
        _class(
            "fpr",
            "false positive rate",
            "(p_k - tp_k) / (n - t_k): the share of rows not of class k predicted as k.",
            higher=False,
        ),
        _class(
            "selection_rate",
            "selection rate",
            "p_k / n: the share of the slice's rows predicted as class k.",
            higher=None,
        ),
    )
}

#: Definitions of the gaps (the report's glossary shows them as written here).
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
    label = name.replace("fpr_", "false positive rate ").replace("_", " ")
    return MetricSpec(
        name,
        "gap",
        label,
        _GAP_DEFINITIONS[name],
        kind == "ratio",
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
    names = _names(metrics, SLICE_METRICS, "slice")
    computed: dict[str, np.ndarray] = {}
    wanted = set(names)
    if wanted & {"accuracy", "error_rate"}:
        computed["accuracy"] = accuracy(cm)
        computed["error_rate"] = 1.0 - computed["accuracy"]
    if "balanced_accuracy" in wanted:
        computed["balanced_accuracy"] = balanced_accuracy(cm)
    for average in ("macro", "weighted"):
        keys = [f"{score}_{average}" for score in ("precision", "recall", "f1")]
        if wanted & set(keys):
            values = averaged_scores(cm, average=average, zero_division=zero_division)
            computed.update(zip(keys, values, strict=True))
    return {name: computed[name] for name in names}


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
    names = _names(metrics, CLASS_METRICS, "class")
    precision, recall, f1 = per_class_scores(cm, zero_division=zero_division)
    rates = group_rates(cm[..., None, :, :])
    parts = {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": rates["fpr"][..., 0, :],
        "selection_rate": rates["selection_rate"][..., 0, :],
    }
    return {name: parts[name] for name in names}


def gap_values(
    cm: np.ndarray,
    metrics: Iterable[str] | None = None,
    *,
    pos_index: int | None = None,
    min_support: int = 0,
) -> dict[str, np.ndarray]:
    """Summary values of gap metrics from group counts ``(..., G, C, C)``, shape ``(...)``.

    The summary over classes is that of :func:`fairness_arrays`: the positive class
    of a binary task, the worst class of a multiclass one.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    metrics : iterable of str, optional
        Names from :data:`GAP_METRICS` (default: all).
    pos_index : int, optional
        Positive class of a binary task (default 1).
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`group_rates`).

    Returns
    -------
    dict of str to numpy.ndarray
    """
    names = _names(metrics, GAP_METRICS, "gap")
    arrays = fairness_arrays(cm, pos_index=pos_index, min_support=min_support)
    return {name: arrays[name]["summary"]["value"] for name in names}
