"""Array helpers shared by every metric of the core."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["predicted_counts", "safe_divide", "shared", "shared_marginals", "true_counts"]

#: Values computed inside :func:`shared_marginals`: ``(key, id(cm)) -> (cm, value)``.
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
    """Inside, :func:`true_counts`, :func:`predicted_counts` and the per-class scores of
    one array are computed once: the metrics of one call (nine of them sum the same
    axes, six average the same three scores) share them.

    The shared arrays must not be modified in place (no metric does).
    """
    token = _MARGINALS.set({})
    try:
        yield
    finally:
        _MARGINALS.reset(token)


def shared(cm: np.ndarray, key: object, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, or inside :func:`shared_marginals` the value already computed for
    ``key`` of this very array ``cm`` (the value must not be modified in place)."""
    cache = _MARGINALS.get()
    if cache is None:
        return compute()
    entry = (key, id(cm))
    if entry in cache:
        return cache[entry][1]
    value = compute()
    cache[entry] = (cm, value)
    return value


def _marginal(cm: np.ndarray, axis: int) -> np.ndarray:
    if cm.dtype == np.int64:
        spec = "...ij->...i" if axis == -1 else "...ij->...j"
        return shared(cm, axis, lambda: np.einsum(spec, cm))
    return shared(cm, axis, lambda: cm.sum(axis=axis))


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
