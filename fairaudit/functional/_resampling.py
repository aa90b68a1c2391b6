"""Resampling from counts: the multinomial bootstrap and percentile intervals.

Resampling ``N`` rows with replacement and counting them is the same as drawing the
flattened count array from ``Multinomial(N, counts / N)``, so a replicate costs one
multinomial draw over the non-zero cells, whatever the number of rows. Every metric
of the core keeps leading axes, so the functions that give point estimates give the
replicates' values too.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["multinomial_replicates", "percentile_interval"]


def multinomial_replicates(
    counts: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap replicates of a count array (rows resampled with replacement).

    Parameters
    ----------
    counts : numpy.ndarray of int
        Any-shaped counts summing to ``N``.
    n_resamples : int
        Number of replicates.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n_resamples, *counts.shape)
        Each replicate sums to ``N``; cells with zero count stay zero.
    """
    flat = np.asarray(counts, dtype=np.int64).ravel()
    total = int(flat.sum())
    out = np.zeros((n_resamples, flat.size), dtype=np.int64)
    nonzero = np.flatnonzero(flat)
    if total and n_resamples:
        out[:, nonzero] = rng.multinomial(total, flat[nonzero] / total, size=n_resamples)
    return out.reshape(n_resamples, *np.shape(counts))


def percentile_interval(
    replicates: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware percentile bounds of each column of ``(R, S)`` replicates.

    Parameters
    ----------
    replicates : numpy.ndarray, shape (R, S)
        Replicated values of ``S`` statistics; NaN where undefined.
    alpha : float
        Tail probability of each side (``(1 - confidence) / 2``).

    Returns
    -------
    (lower, upper, std_error, n_valid)
        The ``alpha`` and ``1 - alpha`` quantiles of the defined replicates
        (numpy's ``"linear"`` method), their standard deviation (``ddof=1``) and
        the number of defined replicates; NaN bounds where none is defined.
    """
    ordered = np.sort(replicates, axis=0)  # NaN sort last
    n_valid = (~np.isnan(replicates)).sum(axis=0)
    bounds = []
    for q in (alpha, 1 - alpha):
        position = q * np.maximum(n_valid - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(n_valid - 1, 0))
        low = np.take_along_axis(ordered, below[None], axis=0)[0]
        high = np.take_along_axis(ordered, above[None], axis=0)[0]
        value = low + (high - low) * (position - below)
        bounds.append(np.where(n_valid > 0, value, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        std = np.nanstd(replicates, axis=0, ddof=1)
    std = np.where(n_valid > 1, std, np.nan)
    return bounds[0], bounds[1], std, n_valid
