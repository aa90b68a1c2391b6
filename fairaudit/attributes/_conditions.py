"""Image conditions: brightness, RMS contrast, sharpness (variance of the Laplacian), and
the documented ranges each is binned into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fairaudit.vocab import Vocabulary

__all__ = [
    "CONDITION_BINS",
    "ConditionBins",
    "bin_condition",
    "laplacian_variance",
    "luma",
]

#: ITU-R BT.601 luma weights (PIL's ``convert("L")``, OpenCV's ``COLOR_RGB2GRAY``).
_LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class ConditionBins:
    """Ranges of one image condition: ``edges`` split the values into ``vocabulary``'s classes.

    A value ``v`` falls in class ``k`` when ``edges[k-1] <= v < edges[k]`` (the first
    class is below ``edges[0]``, the last at or above ``edges[-1]``).
    """

    column: str
    vocabulary: Vocabulary
    edges: tuple[float, ...]
    unit: str

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.vocabulary) - 1 or list(self.edges) != sorted(self.edges):
            raise ValueError(f"{self.column}: {len(self.vocabulary)} classes need ascending edges")


#: The binned image conditions, by the column of their value (see docs/derived-attributes.md).
CONDITION_BINS: Mapping[str, ConditionBins] = {
    "brightness": ConditionBins(
        "brightness",
        Vocabulary("brightness_level", ("dark", "dim", "normal", "bright"), ordered=True),
        (30.0, 45.0, 60.0),
        "mean L* of the image (0-100)",
    ),
    "contrast": ConditionBins(
        "contrast",
        Vocabulary("contrast_level", ("low", "medium", "high"), ordered=True),
        (0.15, 0.25),
        "standard deviation of L* / 100 (RMS contrast)",
    ),
    "blur": ConditionBins(
        "blur",
        Vocabulary("sharpness", ("blurred", "soft", "sharp"), ordered=True),
        (20.0, 100.0),
        "variance of the Laplacian of the 8-bit luma (higher is sharper)",
    ),
    "face_size": ConditionBins(
        "face_size",
        Vocabulary("face_size_level", ("small", "medium", "large"), ordered=True),
        (64.0, 128.0),
        "side of the face box in pixels of the image as stored",
    ),
}


def luma(rgb: ArrayLike) -> np.ndarray:
    """8-bit-scale luma (BT.601) of an ``(h, w, 3)`` RGB image, as float64 (0-255)."""
    arr = np.asarray(rgb, dtype=np.float64)
    return arr @ _LUMA


def laplacian_variance(grey: ArrayLike) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D image (the usual blur measure).

    The kernel ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` over the interior pixels (no
    border padding), as ``cv2.Laplacian(grey, cv2.CV_64F).var()`` up to the border.
    Lower is blurrier; it scales with the square of the intensity scale (here 0-255).
    """
    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 3:
        raise ValueError(f"laplacian_variance needs a 2-D image of at least 3x3, got {g.shape}")
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def bin_condition(column: str, values: ArrayLike) -> np.ndarray:
    """The class of each value of a condition (:data:`CONDITION_BINS`), ``None`` for NaN."""
    bins = CONDITION_BINS[column]
    v = np.asarray(values, dtype=np.float64)
    index = np.searchsorted(np.asarray(bins.edges), v, side="right")
    out = np.asarray(bins.vocabulary.classes, dtype=object)[np.minimum(index, len(bins.edges))]
    return np.where(np.isnan(v), None, out)
