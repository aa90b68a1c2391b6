"""Array helpers shared by every metric of the core."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import numpy as np

__all__ = ["predicted_counts", "safe_divide", "shared_marginals", "true_counts"]

#: Marginals computed inside :func:`shared_marginals`: ``(axis, id(cm)) -> (cm, sums)``.
#: The entry holds ``cm`` itself, so its id cannot be reused while the entry lives.
_MARGINALS: contextvars.ContextVar[dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None] = (
    contextvars.ContextVar("fairaudit_marginals", default=None)
)


def safe_divide(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den`` element-wise (broadcast), ``fill`` where ``den == 0``.

    Parameters
    ----------
    num, den : array-like
        Numerator and denominator.
    fill : float
        Value where the denominator is zero (NaN for undefined, 0 for scikit-learn's
        ``zero_division=0``).

    Returns
    -------
    numpy.ndarray of float64
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    shape = num.shape if num.shape == den.shape else np.broadcast_shapes(num.shape, den.shape)
    out = np.full(shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


@contextlib.contextmanager
def shared_marginals() -> Iterator[None]:
    """Inside, :func:`true_counts` and :func:`predicted_counts` of one array are computed
    once: the metrics of one call (nine of them sum the same axes) share them.

    The shared sums must not be modified in place (no metric does).
    """
    token = _MARGINALS.set({})
    try:
        yield
    finally:
        _MARGINALS.reset(token)


def _marginal(cm: np.ndarray, axis: int) -> np.ndarray:
    cache = _MARGINALS.get()
    key = (axis, id(cm))
    if cache is not None and key in cache:
        return cache[key][1]
    if cm.dtype == np.int64:
        sums = np.einsum("...ij->...i" if axis == -1 else "...ij->...j", cm)
    else:
        sums = cm.sum(axis=axis)
    if cache is not None:
        cache[key] = (cm, sums)
    return sums


def true_counts(cm: np.ndarray) -> np.ndarray:
    """Rows of each true class, ``cm.sum(axis=-1)`` of counts ``(..., C, C)``.

    Int64 counts are summed by :func:`numpy.einsum`, several times faster than a
    reduction over an axis of a few classes, and exact (integers); other dtypes by
    ``sum``, as before.
    """
    return _marginal(cm, -1)


def predicted_counts(cm: np.ndarray) -> np.ndarray:
    """Rows predicted as each class, ``cm.sum(axis=-2)`` (as :func:`true_counts`)."""
    return _marginal(cm, -2)
