"""Fairness gaps over the rates a gate can judge: each rate needs ``min_support`` rows.

:meth:`AuditResult.fairness` compares every rate that is defined. A gate must not
fail on noise, so here a group's rate takes part only when its own denominator has
at least ``min_support`` rows: the group's rows for the selection rate and the
accuracy, the group's true rows of the class for the TPR, its other rows for the FPR.
Everything else (difference ``max - min``, ratio ``min / max``, equalized odds as the
worse of TPR and FPR, the summary over classes: the positive class of a binary task,
the worst class of a multiclass one) is :func:`fairaudit.metrics.fairness_arrays`'s
definition, and with ``min_support=0`` the values are exactly
:meth:`AuditResult.fairness`'s.
"""

from __future__ import annotations

import numpy as np

from fairaudit.metrics._fairness import FAIRNESS_METRICS, _stats

__all__ = ["judged_fairness"]


def _rate(num: np.ndarray, den: np.ndarray, floor: int) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den >= floor)
    return out


def judged_fairness(
    cm: np.ndarray, *, pos_index: int | None, min_support: int
) -> dict[str, dict[str, float | int]]:
    """Every fairness metric's summary over the rates with enough rows.

    Parameters
    ----------
    cm : numpy.ndarray, shape (G, C, C)
        Confusion counts of each group.
    pos_index : int, optional
        Positive class of a binary task (default 1).
    min_support : int
        Rows a rate's denominator needs (at least 1).

    Returns
    -------
    dict
        ``{metric: {"value", "low_group", "high_group", "class_index"}}``: the value
        (NaN when fewer than two groups judge the rate), the indices of the groups
        behind it and the class it comes from (-1 for accuracy).
    """
    floor = max(int(min_support), 1)
    n = cm.sum(axis=(1, 2))
    true = cm.sum(axis=2)
    predicted = cm.sum(axis=1)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    per_rate = {
        "selection_rate": _stats(_rate(predicted, n[:, None], floor), axis=0),
        "tpr": _stats(_rate(tp, true, floor), axis=0),
        "fpr": _stats(_rate(predicted - tp, n[:, None] - true, floor), axis=0),
    }
    accuracy = _stats(_rate(tp.sum(axis=1), n, floor), axis=0)
    n_classes = cm.shape[-1]
    out: dict[str, dict[str, float | int]] = {}
    for metric, rate_name, kind in FAIRNESS_METRICS:
        if rate_name == "accuracy":
            out[metric] = {
                "value": float(accuracy[kind]),
                "low_group": int(accuracy["low_group"]),
                "high_group": int(accuracy["high_group"]),
                "class_index": -1,
            }
            continue
        if rate_name == "tpr+fpr":
            tpr, fpr = per_rate["tpr"], per_rate["fpr"]
            if kind == "difference":
                use_fpr = np.nan_to_num(fpr[kind], nan=-np.inf) > np.nan_to_num(
                    tpr[kind], nan=-np.inf
                )
            else:
                use_fpr = np.nan_to_num(fpr[kind], nan=np.inf) < np.nan_to_num(
                    tpr[kind], nan=np.inf
                )
            stats = {
                key: np.where(use_fpr, fpr[key], tpr[key])
                for key in (kind, "low_group", "high_group")
            }
        else:
            stats = per_rate[rate_name]
        values = stats[kind]
        if n_classes == 2:
            k = 1 if pos_index is None else pos_index
        else:
            worst = -np.inf if kind == "difference" else np.inf
            filled = np.nan_to_num(values, nan=worst)
            k = int(filled.argmax() if kind == "difference" else filled.argmin())
        out[metric] = {
            "value": float(values[k]),
            "low_group": int(stats["low_group"][k]),
            "high_group": int(stats["high_group"][k]),
            "class_index": k,
        }
    return out
