"""Array helpers shared by every metric of the core."""

from __future__ import annotations

import numpy as np

__all__ = ["predicted_counts", "safe_divide", "true_counts"]


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


def true_counts(cm: np.ndarray) -> np.ndarray:
    """Rows of each true class, ``cm.sum(axis=-1)`` of counts ``(..., C, C)``.

    Int64 counts are summed by :func:`numpy.einsum`, several times faster than a
    reduction over an axis of a few classes, and exact (integers); other dtypes by
    ``sum``, as before.
    """
    return np.einsum("...ij->...i", cm) if cm.dtype == np.int64 else cm.sum(axis=-1)


def predicted_counts(cm: np.ndarray) -> np.ndarray:
    """Rows predicted as each class, ``cm.sum(axis=-2)`` (as :func:`true_counts`)."""
    return np.einsum("...ij->...j", cm) if cm.dtype == np.int64 else cm.sum(axis=-2)
