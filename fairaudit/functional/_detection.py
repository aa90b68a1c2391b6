"""Detection rates: the gap between groups in how often a face detector finds the face.

Per group, ``n`` images and ``detected`` images where the detector found a face.
:func:`detection_counts` builds the per-cell counts from per-image results;
:func:`detection_gap` compares the groups with enough images.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fairaudit.functional._significance import chi2_homogeneity

__all__ = ["DetectionGap", "detection_counts", "detection_gap"]


class DetectionGap(NamedTuple):
    """The gap between the lowest and highest detection rate of the judged groups.

    Indices refer to the groups given to :func:`detection_gap`; they are -1, and
    the values NaN, when fewer than two groups are judged.
    """

    low: int
    high: int
    low_rate: float
    high_rate: float
    difference: float
    ratio: float
    p_value: float
    n_groups: int
    small_groups: int


def detection_gap(n: np.ndarray, detected: np.ndarray, *, min_support: int) -> DetectionGap:
    """Lowest vs highest detection rate among the groups with enough images.

    Parameters
    ----------
    n, detected : numpy.ndarray of int, shape (G,)
        Images and detected images of each group.
    min_support : int
        Groups with fewer images (and empty groups) are not judged: they take no
        part in the gap or the test, and are counted in ``small_groups`` (empty
        groups are not).

    Returns
    -------
    DetectionGap
        ``difference = high_rate - low_rate``; ``ratio = low_rate / high_rate``
        (NaN when ``high_rate`` is 0); ``p_value`` of Pearson's chi-square test
        of homogeneity (``scipy.stats.chi2_contingency`` without continuity
        correction) on the judged groups x [detected, missed] table, 1.0 when no
        or every image was detected (all rates equal); ``n_groups`` judged
        groups. Ties go to the first group in order.
    """
    n = np.asarray(n, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    judged = np.flatnonzero(n >= max(int(min_support), 1))
    small = int(((n > 0) & (n < int(min_support))).sum())
    if judged.size < 2:
        nan = float("nan")
        return DetectionGap(-1, -1, nan, nan, nan, nan, nan, int(judged.size), small)
    rates = detected[judged] / n[judged]
    low, high = int(np.argmin(rates)), int(np.argmax(rates))
    _, p_value, _ = chi2_homogeneity(detected[judged], n[judged])
    low_rate, high_rate = float(rates[low]), float(rates[high])
    return DetectionGap(
        low=int(judged[low]),
        high=int(judged[high]),
        low_rate=low_rate,
        high_rate=high_rate,
        difference=high_rate - low_rate,
        ratio=low_rate / high_rate if high_rate > 0 else float("nan"),
        p_value=p_value,
        n_groups=int(judged.size),
        small_groups=small,
    )


def detection_counts(cell: np.ndarray, detected: np.ndarray, *, n_cells: int) -> np.ndarray:
    """Per-cell ``[n_images, n_detected]`` of images with a cell code and a detected flag.

    Parameters
    ----------
    cell : numpy.ndarray of int
        Cell code of each image (see :func:`cell_index`).
    detected : numpy.ndarray of bool
        Whether the detector found a face in each image.
    n_cells : int
        Number of cells.

    Returns
    -------
    numpy.ndarray of int64, shape (n_cells, 2)
    """
    cell = np.asarray(cell, dtype=np.int64)
    detected = np.asarray(detected, dtype=bool)
    n = np.bincount(cell, minlength=n_cells)
    hits = np.bincount(cell[detected], minlength=n_cells)
    return np.stack([n, hits], axis=1).astype(np.int64)
