"""Synthetic face chips of a known CIELAB colour (skimage's lab2rgb is the oracle)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image


def lab_for_ita(ita: float, b_star: float, a_star: float = 8.0) -> tuple[float, float, float]:
    """The CIELAB colour of ITA ``ita`` (degrees) at ``b*``: ``L* = 50 + b* tan(ITA)``."""
    return (50.0 + b_star * math.tan(math.radians(ita)), a_star, b_star)


def lab_patch(lab: tuple[float, float, float], size: int = 48) -> np.ndarray:
    """A uniform ``size x size`` uint8 sRGB patch of the CIELAB colour ``lab``."""
    from skimage.color import lab2rgb

    rgb = lab2rgb(np.array([[lab]], dtype=np.float64))[0, 0]
    assert np.all((rgb > 0) & (rgb < 1)), f"{lab} is outside sRGB"
    pixel = np.rint(rgb * 255).astype(np.uint8)
    return np.broadcast_to(pixel, (size, size, 3)).copy()


def write_patch(path: Path, lab: tuple[float, float, float], size: int = 48) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(lab_patch(lab, size)).save(path)  # PNG: lossless
    return path
