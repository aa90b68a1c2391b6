"""Writers of tiny synthetic datasets (always into tmp_path, never into the repository)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

HEADER = ("file", "age", "gender", "race", "service_test")


def write_image(
    path: Path, *, seed: int = 0, size: int = 16, mode: str = "RGB", fmt: str | None = None
) -> Path:
    """Write a small random image (JPEG unless the suffix says otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    if mode != "RGB":
        image = image.convert(mode)
    image.save(path, format=fmt or ("PNG" if path.suffix == ".png" else "JPEG"), quality=90)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


TRAIN_ROWS = [
    ("train/1.jpg", "20-29", "Male", "White", "True"),
    ("train/2.jpg", "0-2", "Female", "Black", "False"),
    ("train/3.jpg", "more than 70", "Female", "Indian", "False"),
    ("train/4.jpg", "30-39", "Male", "East Asian", "True"),
]
VAL_ROWS = [
    ("val/1.jpg", "3-9", "Male", "Middle Eastern", "False"),
    ("val/2.jpg", "50-59", "Female", "Latino_Hispanic", "True"),
]
