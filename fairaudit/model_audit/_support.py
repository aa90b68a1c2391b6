"""Slices too small to judge: the threshold, the warning, and each slice's status.

Kept apart from the tables of :mod:`~fairaudit.model_audit._views` (which need pandas)
so that what judges a saved audit (the gate) reads the threshold without them.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["DEFAULT_MIN_SUPPORT", "SmallSliceWarning", "slice_status", "warn_small_slices"]

#: Slices with fewer rows are marked ``"small"`` (and a warning is issued).
DEFAULT_MIN_SUPPORT = 30


class SmallSliceWarning(UserWarning):
    """Some slices have fewer rows than ``min_support``; they are marked, not hidden."""


def slice_status(n: np.ndarray, min_support: int) -> np.ndarray:
    """``"empty"`` (no row), ``"small"`` (under ``min_support`` rows) or ``"ok"`` per slice."""
    n = np.asarray(n)
    return np.where(n == 0, "empty", np.where(n < min_support, "small", "ok"))


def warn_small_slices(n: np.ndarray, min_support: int, what: str) -> None:
    """Warn (:class:`SmallSliceWarning`) when some of the slices counted in ``n`` are small."""
    small = int((np.asarray(n) < min_support).sum())
    if small:
        empty = int((np.asarray(n) == 0).sum())
        warnings.warn(
            f"{what}: {small} of {np.size(n)} slice(s) have fewer than {min_support} rows "
            f"({empty} empty); they are marked in column 'status'",
            SmallSliceWarning,
            stacklevel=4,  # the caller of an AuditResult method
        )
