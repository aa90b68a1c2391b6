"""Imbalance statistics of a class-count vector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError

__all__ = ["IMBALANCE_STATISTICS", "imbalance_statistics"]

#: The six imbalance statistics of the product specification, in report order.
IMBALANCE_STATISTICS: tuple[str, ...] = (
    "max_ratio",
    "min_ratio",
    "ratio_range",
    "cv",
    "entropy_bits",
    "gini",
)


def imbalance_statistics(counts: Sequence[int] | np.ndarray | pd.Series) -> pd.Series:
    """Imbalance statistics of one attribute's class counts.

    With ``n_c`` the count of class ``c`` over the ``K`` classes of the attribute's
    vocabulary (absent classes count 0), ``N = sum n_c`` and ``p_c = n_c / N``:

    ============================  ==================================================
    ``max_ratio``                 ``max p_c`` (share of the largest class)
    ``min_ratio``                 ``min p_c`` (share of the smallest class)
    ``ratio_range``               ``max p_c - min p_c``
    ``cv``                        ``std(n) / mean(n)``, population std (``ddof=0``)
    ``entropy_bits``              ``-sum p_c log2 p_c`` (``0 log 0 = 0``)
    ``gini``                      ``1 - sum p_c**2`` (Gini impurity)
    ``imbalance_ratio``           ``max n_c / min n_c`` (inf when a class is empty)
    ``normalized_entropy``        ``entropy_bits / log2 K`` (1 = perfectly balanced)
    ============================  ==================================================

    A perfectly balanced attribute has ``max_ratio = min_ratio = 1/K``,
    ``ratio_range = cv = 0``, ``entropy_bits = log2 K`` and ``gini = 1 - 1/K``.

    Parameters
    ----------
    counts : array-like of int
        Class counts, one per class of the vocabulary.

    Returns
    -------
    pandas.Series
        ``n``, ``n_classes`` and the statistics above, as floats.

    Raises
    ------
    DataValidationError
        If there are no classes, a negative count, or no rows at all.

    Examples
    --------
    >>> s = imbalance_statistics([30, 10])
    >>> [round(float(s[name]), 3) for name in ("max_ratio", "cv", "gini")]
    [0.75, 0.5, 0.375]
    """
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or n.size == 0:
        raise DataValidationError("imbalance statistics need a non-empty vector of class counts")
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise DataValidationError(f"class counts must be finite and non-negative, got {n.tolist()}")
    total = n.sum()
    if total == 0:
        raise DataValidationError("imbalance statistics of an empty dataset are undefined")
    p = n / total
    nonzero = p[p > 0]
    entropy = float(-(nonzero * np.log2(nonzero)).sum())
    k = n.size
    values = {
        "n": total,
        "n_classes": float(k),
        "max_ratio": float(p.max()),
        "min_ratio": float(p.min()),
        "ratio_range": float(p.max() - p.min()),
        "cv": float(n.std(ddof=0) / n.mean()),
        "entropy_bits": entropy,
        "gini": float(1.0 - np.sum(p**2)),
        "imbalance_ratio": float(n.max() / n.min()) if n.min() > 0 else float("inf"),
        "normalized_entropy": entropy / np.log2(k) if k > 1 else 1.0,
    }
    return pd.Series(values, name="imbalance")
