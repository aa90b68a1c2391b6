"""Group fairness metrics from confusion counts, binary and multiclass.

Input is a count array ``cm`` of shape ``(..., G, C, C)``: ``G`` groups (the cells
of a grouping such as ``race`` or ``gender x race``), true class on axis -2,
predicted class on axis -1. Leading axes (bootstrap replicates) are kept.

Multiclass extension (one-vs-rest). For group ``g`` and class ``k``:

- selection rate ``SR[g, k] = P(pred = k | g)``;
- true positive rate ``TPR[g, k] = P(pred = k | true = k, g)``;
- false positive rate ``FPR[g, k] = P(pred = k | true != k, g)``.

For each class the *difference* is ``max_g - min_g`` and the *ratio* ``min_g / max_g``
over the groups where the rate is defined (a group with no rows, or no row of the
conditioning event, is left out of that class's comparison and ``n_groups`` says
how many groups took part). Equalized odds of a class is the larger difference
(smaller ratio) of its TPR and FPR, defined only when both are (half a metric is no
verdict). The summary over classes (``class="all"``) is
the worst case: the largest difference, the smallest ratio. For a binary task the
summary is the positive class alone (``pos_label``, by default the second class),
which is exactly fairlearn's ``demographic_parity_difference/ratio`` and
``equalized_odds_difference/ratio`` (fairlearn silently uses class 1 only for any
task).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fairaudit.functional._arrays import predicted_counts, true_counts
from fairaudit.functional._arrays import safe_divide as _divide
from fairaudit.functional._intervals import wilson_interval

__all__ = [
    "FAIRNESS_METRICS",
    "fairness_arrays",
    "gap_intervals",
    "gap_statistics",
    "group_rates",
    "rate_counts",
    "rate_rows",
]

#: Fairness metrics reported, in table order: (metric, underlying rate, kind).
FAIRNESS_METRICS: tuple[tuple[str, str, str], ...] = (
    ("demographic_parity_difference", "selection_rate", "difference"),
    ("demographic_parity_ratio", "selection_rate", "ratio"),
    ("disparate_impact_ratio", "selection_rate", "ratio"),
    ("equal_opportunity_difference", "tpr", "difference"),
    ("equal_opportunity_ratio", "tpr", "ratio"),
    ("fpr_difference", "fpr", "difference"),
    ("fpr_ratio", "fpr", "ratio"),
    ("equalized_odds_difference", "tpr+fpr", "difference"),
    ("equalized_odds_ratio", "tpr+fpr", "ratio"),
    ("accuracy_difference", "accuracy", "difference"),
    ("accuracy_ratio", "accuracy", "ratio"),
)


def _rate(num: np.ndarray, den: np.ndarray, floor: int) -> np.ndarray:
    """``num / den``, NaN where the denominator has fewer than ``floor`` rows."""
    rate = _divide(num, den, np.nan)
    if floor > 1:
        rate = np.where(np.asarray(den) >= floor, rate, np.nan)
    return rate


def group_rates(cm: np.ndarray, *, min_support: int = 0) -> dict[str, np.ndarray]:
    """Per-group rates: selection rate, TPR, FPR of shape ``(..., G, C)``, accuracy ``(..., G)``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    min_support : int, default=0
        Rows a rate's denominator needs for the rate to be judged: the group's
        rows for the selection rate and the accuracy, its true rows of the class
        for the TPR, its other rows for the FPR. Rates with fewer rows are NaN.

    Returns
    -------
    dict of str to numpy.ndarray
        Undefined rates (empty group, no row of the conditioning event, fewer
        than ``min_support`` rows) are NaN.
    """
    floor = max(int(min_support), 1)
    n = cm.sum(axis=(-2, -1))[..., None]
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_count = true_counts(cm)
    pred_count = predicted_counts(cm)
    return {
        "selection_rate": _rate(pred_count, n, floor),
        "tpr": _rate(tp, true_count, floor),
        "fpr": _rate(pred_count - tp, n - true_count, floor),
        "accuracy": _rate(tp.sum(axis=-1), n[..., 0], floor),
    }


def gap_statistics(rate: np.ndarray, axis: int) -> dict[str, np.ndarray]:
    """Difference (max - min), ratio (min / max) and extremes of rates over groups.

    Parameters
    ----------
    rate : numpy.ndarray
        Rates with a group axis; NaN rates (undefined or not judged) take no part.
    axis : int
        The group axis.

    Returns
    -------
    dict of str to numpy.ndarray
        ``difference``, ``ratio`` (1 when every rate is 0), ``low``, ``high``,
        ``low_group``, ``high_group`` (indices; ties go to the first group) and
        ``n_groups`` (groups with a defined rate). Values are NaN when fewer than
        two groups have a defined rate.
    """
    defined = ~np.isnan(rate)
    n_groups = defined.sum(axis=axis)
    ok = n_groups >= 2
    low = np.where(defined, rate, np.inf).min(axis=axis)
    high = np.where(defined, rate, -np.inf).max(axis=axis)
    low_arg = np.where(defined, rate, np.inf).argmin(axis=axis)
    high_arg = np.where(defined, rate, -np.inf).argmax(axis=axis)
    diff = np.where(ok, high - low, np.nan)
    ratio = np.where(ok, _divide(np.where(ok, low, 0.0), np.where(ok, high, 0.0), 1.0), np.nan)
    # 0 / 0 (every group has rate 0): the groups are equal, ratio 1
    return {
        "difference": diff,
        "ratio": ratio,
        "low": np.where(ok, low, np.nan),
        "high": np.where(ok, high, np.nan),
        "low_group": low_arg,
        "high_group": high_arg,
        "n_groups": n_groups,
    }


_KEYS = ("value", "low", "high", "low_group", "high_group", "n_groups")


class RateGaps:
    """Gap statistics of each per-group rate of some counts, each computed when first asked.

    The work the gaps of one count array share: :func:`group_rates` once, and
    :func:`gap_statistics` once per rate, however many gaps compare that rate.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`group_rates`).
    """

    def __init__(self, cm: np.ndarray, *, min_support: int = 0) -> None:
        self.cm = cm
        self.min_support = min_support
        self._rates: dict[str, np.ndarray] | None = None
        self._statistics: dict[str, dict[str, np.ndarray]] = {}

    def __getitem__(self, rate: str) -> dict[str, np.ndarray]:
        """:func:`gap_statistics` of one rate over the groups (accuracy has no class axis)."""
        if rate not in self._statistics:
            if self._rates is None:
                self._rates = group_rates(self.cm, min_support=self.min_support)
            if rate not in self._rates:
                raise ValueError(f"unknown rate {rate!r}; known: {[*self._rates, 'tpr+fpr']}")
            axis = -1 if rate == "accuracy" else -2
            self._statistics[rate] = gap_statistics(self._rates[rate], axis=axis)
        return self._statistics[rate]


def _rates_of(rate_name: str) -> tuple[str, ...]:
    """The per-group rates a gap of ``rate_name`` compares."""
    return ("tpr", "fpr") if rate_name == "tpr+fpr" else (rate_name,)


def _gap_arrays(
    statistics: RateGaps, rate_name: str, kind: str, *, n_classes: int, pos: int
) -> dict[str, dict[str, np.ndarray] | np.ndarray | None]:
    """One fairness metric, per class and summarised, from its rates' gap statistics."""
    if rate_name == "accuracy":
        acc = statistics["accuracy"]
        summary = {key: acc[kind if key == "value" else key] for key in _KEYS}
        return {
            "per_class": None,
            "summary": summary,
            "class_index": np.full(np.shape(summary["value"]), -1),
        }
    if rate_name == "tpr+fpr":
        tpr, fpr = statistics["tpr"], statistics["fpr"]
        if kind == "difference":
            use_fpr = np.nan_to_num(fpr[kind], nan=-np.inf) > np.nan_to_num(tpr[kind], nan=-np.inf)
        else:
            use_fpr = np.nan_to_num(fpr[kind], nan=np.inf) < np.nan_to_num(tpr[kind], nan=np.inf)
        stats = {
            key: np.where(
                use_fpr,
                fpr[kind if key == "value" else key],
                tpr[kind if key == "value" else key],
            )
            for key in _KEYS
        }
        # judged only when both halves are: half a metric is no verdict
        both = ~np.isnan(tpr[kind]) & ~np.isnan(fpr[kind])
        for key in ("value", "low", "high"):
            stats[key] = np.where(both, stats[key], np.nan)
    else:
        stats = {key: statistics[rate_name][kind if key == "value" else key] for key in _KEYS}
    value = stats["value"]
    if n_classes == 2:
        index = np.full(value.shape[:-1], pos)
    else:
        worst = -np.inf if kind == "difference" else np.inf
        filled = np.nan_to_num(value, nan=worst)
        index = filled.argmax(axis=-1) if kind == "difference" else filled.argmin(axis=-1)
    summary = {
        key: np.take_along_axis(stats[key], index[..., None], axis=-1)[..., 0] for key in _KEYS
    }
    return {"per_class": stats, "summary": summary, "class_index": index}


def fairness_arrays(
    cm: np.ndarray, *, pos_index: int | None = None, min_support: int = 0
) -> dict[str, dict[str, dict[str, np.ndarray] | np.ndarray | None]]:
    """Every fairness metric, per class and summarised over classes.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    pos_index : int, optional
        Positive class of a binary task (default 1). Ignored when ``C > 2``.
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`group_rates`); 0 judges
        every defined rate.

    Returns
    -------
    dict
        ``{metric: {"per_class": stats or None, "summary": stats, "class_index": array}}``
        where ``stats`` maps ``"value"`` (the metric), ``"low"``/``"high"`` (the lowest
        and highest group rate of the component that determines the value),
        ``"low_group"``/``"high_group"`` (their group indices) and ``"n_groups"``
        (groups where the rate is defined) to arrays of shape ``(..., C)`` per class
        or ``(...)`` for the summary. ``class_index`` is the class the summary comes
        from (-1 for accuracy, which has no class).
    """
    statistics = RateGaps(cm, min_support=min_support)
    pos = 1 if pos_index is None else pos_index
    return {
        metric: _gap_arrays(statistics, rate_name, kind, n_classes=cm.shape[-1], pos=pos)
        for metric, rate_name, kind in FAIRNESS_METRICS
    }


def gap_summary(
    cm: np.ndarray,
    *,
    rate: str,
    kind: str,
    pos_index: int | None = None,
    min_support: int = 0,
    shared: RateGaps | None = None,
) -> np.ndarray:
    """One fairness gap summarised over classes, shape ``(...)``: its ``fairness_arrays`` value.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    rate : {"selection_rate", "tpr", "fpr", "tpr+fpr", "accuracy"}
        The per-group rate compared (``"tpr+fpr"``: equalized odds, the worse of the two).
    kind : {"difference", "ratio"}
        ``max - min`` or ``min / max`` over the groups.
    pos_index : int, optional
        Positive class of a binary task (default 1). Ignored when ``C > 2``.
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`group_rates`).
    shared : RateGaps, optional
        The rates' gap statistics of ``cm`` with the same ``min_support``, shared by
        several gaps of the same counts (default: computed here for this gap alone).
    """
    if kind not in ("difference", "ratio"):
        raise ValueError(f"kind must be 'difference' or 'ratio', got {kind!r}")
    if shared is None:
        shared = RateGaps(cm, min_support=min_support)
    elif shared.cm is not cm or shared.min_support != min_support:
        raise ValueError("shared holds the statistics of other counts or another min_support")
    pos = 1 if pos_index is None else pos_index
    arrays = _gap_arrays(shared, rate, kind, n_classes=cm.shape[-1], pos=pos)
    return arrays["summary"]["value"]


def rate_counts(cm: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per rate, ``(hits, totals)`` of shape ``(..., G, C)`` (accuracy: ``(..., G, 1)``).

    The counts behind :func:`group_rates` (``rate = hits / totals``), for intervals
    and tests of the rates: selection rate ``p_k / n``, TPR ``tp_k / t_k``, FPR
    ``(p_k - tp_k) / (n - t_k)``, accuracy ``sum_k tp_k / n``.
    """
    n = cm.sum(axis=(-2, -1))[..., None]
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    true_count = true_counts(cm)
    pred_count = predicted_counts(cm)
    return {
        "selection_rate": (pred_count, np.broadcast_to(n, pred_count.shape)),
        "tpr": (tp, true_count),
        "fpr": (pred_count - tp, n - true_count),
        "accuracy": (tp.sum(axis=-1, keepdims=True), n),
    }


def rate_rows(rate: str, classes: Sequence[str], k: int) -> str:
    """What the rows behind a group's rate of class ``k`` are, in words.

    The count a group is judged on (and left out for): its true rows of the class for
    a TPR ("rows of class Female"), its true rows of the other classes for an FPR
    ("rows of class Male" for a binary task, "rows not of class Black" otherwise),
    all its rows for accuracy (``k < 0``).

    Examples
    --------
    >>> rate_rows("tpr", ["Male", "Female"], 1), rate_rows("fpr", ["Male", "Female"], 1)
    ('rows of class Female', 'rows of class Male')
    >>> rate_rows("fpr", ["White", "Black", "Indian"], 1), rate_rows("accuracy", [], -1)
    ('rows not of class Black', 'rows')
    """
    if k < 0 or rate not in ("tpr", "fpr"):
        return "rows"
    if rate == "tpr":
        return f"rows of class {classes[k]}"
    if len(classes) == 2:
        return f"rows of class {classes[1 - k]}"
    return f"rows not of class {classes[k]}"


def _gap_bounds(low: np.ndarray, high: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of max - min (or min / max) over the group axis -2 from each group's interval."""
    judged = ~np.isnan(low)
    ok = judged.sum(axis=-2) >= 2
    max_low = np.where(judged, low, -np.inf).max(axis=-2)
    min_low = np.where(judged, low, np.inf).min(axis=-2)
    max_high = np.where(judged, high, -np.inf).max(axis=-2)
    min_high = np.where(judged, high, np.inf).min(axis=-2)
    if kind == "difference":
        lower = np.maximum(0.0, max_low - min_high)
        upper = max_high - min_low
    else:
        lower = _divide(np.where(ok, min_low, 0.0), np.where(ok, max_high, 1.0), 1.0)
        upper = np.minimum(
            1.0, _divide(np.where(ok, min_high, 1.0), np.where(ok, max_low, 0.0), 1.0)
        )
    return np.where(ok, lower, np.nan), np.where(ok, upper, np.nan)


def gap_intervals(
    cm: np.ndarray,
    *,
    confidence: float = 0.95,
    pos_index: int | None = None,
    min_support: int = 0,
) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray] | None]]:
    """Simultaneous confidence intervals of every fairness metric, per class and summarised.

    A gap is a maximum minus a minimum over groups, so a bootstrap of it is biased
    upwards and its percentile interval misses a true gap of 0. Instead, each group's
    rate gets a Wilson interval at level ``1 - alpha / m`` (Bonferroni over the ``m``
    group rates the metric involves), so with probability at least ``confidence``
    every group's interval holds its true rate, and then

    - a difference ``max_g r_g - min_g r_g`` lies in
      ``[max(0, max_g L_g - min_g U_g), max_g U_g - min_g L_g]``;
    - a ratio ``min_g r_g / max_g r_g`` lies in
      ``[min_g L_g / max_g U_g, min(1, min_g U_g / max_g L_g)]``;
    - equalized odds (the worse of the TPR and FPR gaps) lies between the worse
      of their lower and of their upper bounds (``m`` counts both rates);
    - the summary over classes of a multiclass task (the worst class) lies between
      the worst lower and the worst upper bound (``m`` counts every class).

    The intervals cover at least at ``confidence`` whatever the true gap, 0 included,
    and always contain the point estimate of :func:`fairness_arrays` computed with the
    same ``min_support``.

    Parameters
    ----------
    cm : numpy.ndarray, shape (..., G, C, C)
        Confusion counts of each group.
    confidence : float, default=0.95
        Simultaneous coverage.
    pos_index : int, optional
        Positive class of a binary task (default 1), the summary's class.
    min_support : int, default=0
        Rows a group's rate needs to take part (see :func:`group_rates`).

    Returns
    -------
    dict
        ``{metric: {"per_class": (lower, upper) of shape (..., C) or None,
        "summary": (lower, upper) of shape (...)}}``; NaN where the metric is
        undefined (fewer than two groups judge its rate).
    """
    alpha = 1.0 - float(confidence)
    floor = max(int(min_support), 1)
    counts = rate_counts(cm)
    n_classes = cm.shape[-1]
    pos = 1 if pos_index is None else pos_index

    def class_bounds(rate_names: list[str], kind: str, classes: np.ndarray | None):
        """Per-class bounds with Bonferroni over the judged rates of ``classes`` (None: each)."""
        judged = {r: counts[r][1] >= floor for r in rate_names}
        if classes is None:  # each class its own family
            m = sum(judged[r].sum(axis=-2, keepdims=True) for r in rate_names)
        else:
            m = sum(judged[r][..., classes].sum(axis=(-2, -1), keepdims=True) for r in rate_names)
        m = np.maximum(m, 1)
        halves = []
        for r in rate_names:
            hits, totals = counts[r]
            low, high = wilson_interval(
                np.where(judged[r], hits, 0),
                np.where(judged[r], totals, 0),
                confidence=1.0 - alpha / m,
            )
            low = np.where(judged[r], low, np.nan)
            high = np.where(judged[r], high, np.nan)
            halves.append(_gap_bounds(low, high, kind))
        if len(halves) == 1:
            return halves[0]
        pick = np.fmax if kind == "difference" else np.fmin
        lower = pick(halves[0][0], halves[1][0])
        upper = pick(halves[0][1], halves[1][1])
        both = ~np.isnan(halves[0][0]) & ~np.isnan(halves[1][0])
        return np.where(both, lower, np.nan), np.where(both, upper, np.nan)

    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray] | None]] = {}
    for metric, rate_name, kind in FAIRNESS_METRICS:
        rates = list(_rates_of(rate_name))
        if rate_name == "accuracy":
            lower, upper = class_bounds(rates, kind, None)
            out[metric] = {"per_class": None, "summary": (lower[..., 0], upper[..., 0])}
            continue
        per_class = class_bounds(rates, kind, None)
        if n_classes == 2:
            lower, upper = class_bounds(rates, kind, np.array([pos]))
            summary = (lower[..., pos], upper[..., pos])
        else:
            lower, upper = class_bounds(rates, kind, np.arange(n_classes))
            if kind == "difference":
                summary = (np.fmax.reduce(lower, axis=-1), np.fmax.reduce(upper, axis=-1))
            else:  # fmax / fmin skip classes whose gap is undefined
                summary = (np.fmin.reduce(lower, axis=-1), np.fmin.reduce(upper, axis=-1))
        out[metric] = {"per_class": per_class, "summary": summary}
    return out
