"""Array helpers shared by every metric of the core."""

from __future__ import annotations

import numpy as np

__all__ = ["safe_divide"]


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
