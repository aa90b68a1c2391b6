"""Frozen features of a table's images, computed once and cached in resumable chunks."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit._images import load_rgb
from fairaudit._io import atomic_path
from fairaudit.datasets._transforms import ImageTransform
from fairaudit.exceptions import DataValidationError

__all__ = ["cached_features", "crop_pixels"]

logger = logging.getLogger(__name__)


def crop_pixels(paths: list[str], *, image_size: int = 112) -> np.ndarray:
    """Images resized as the models see them, as ``(n, size, size, 3)`` uint8 RGB.

    The same bilinear resize as :class:`fairaudit.datasets.ImageTransform`
    (without augmentation), so features computed from these pixels match the
    ones a model computes from its input tensor.
    """
    transform = ImageTransform(image_size, normalize=False)
    out = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    for index, path in enumerate(paths):
        x = transform(load_rgb(path)).numpy()
        out[index] = np.rint(x.transpose(1, 2, 0) * 255).astype(np.uint8)
    return out


def _files_key(paths: list[str]) -> str:
    return hashlib.sha256("\n".join(paths).encode("utf-8")).hexdigest()[:16]


def cached_features(
    table: pd.DataFrame,
    extract: Callable[[np.ndarray], np.ndarray],
    cache_dir: str | os.PathLike[str],
    *,
    image_size: int = 112,
    chunk_size: int = 500,
    progress: bool = True,
    desc: str = "features",
) -> np.ndarray:
    """Features of every image of ``table``, computed in chunks that survive a crash.

    Each chunk of ``chunk_size`` rows is written atomically to ``cache_dir`` as
    ``<key>-<start>.npy`` (``key`` hashes the table's image paths in order), so
    a killed run resumes at the first missing chunk and a changed table never
    reads another table's features.

    Parameters
    ----------
    table : pandas.DataFrame
        A loader's table with a ``path`` column (every row must have an image).
    extract : callable
        Maps ``(n, size, size, 3)`` uint8 crops (:func:`crop_pixels`) to ``(n, d)`` features.
    cache_dir : path
    image_size : int, default=112
    chunk_size : int, default=500
    progress : bool, default=True
    desc : str, default="features"

    Returns
    -------
    numpy.ndarray
        ``(len(table), d)`` float32, in the table's row order.

    Raises
    ------
    DataValidationError
        If a row has no image path, or a cached chunk has the wrong number of rows.
    """
    if "path" not in table.columns or table["path"].isna().any():
        missing = int(table["path"].isna().sum()) if "path" in table.columns else len(table)
        raise DataValidationError(
            f"cached_features needs an image path on every row: {missing} row(s) have none"
        )
    paths = [str(p) for p in table["path"]]
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    key = _files_key(paths)
    parts: list[np.ndarray] = []
    starts = range(0, len(paths), chunk_size)
    for start in tqdm(starts, desc=desc, disable=not progress, unit="chunk"):
        stop = min(start + chunk_size, len(paths))
        file = folder / f"{key}-{start:07d}.npy"
        if file.is_file():
            part = np.load(file)
            if len(part) != stop - start:
                raise DataValidationError(
                    f"cached feature chunk {file} has {len(part)} rows, expected {stop - start}; "
                    "delete it to recompute"
                )
        else:
            part = np.asarray(extract(crop_pixels(paths[start:stop], image_size=image_size)))
            part = part.astype(np.float32, copy=False)
            with atomic_path(file) as tmp, open(tmp, "wb") as handle:
                np.save(handle, part)
        parts.append(part)
    logger.info("features of %d images (cache %s, key %s)", len(paths), folder, key)
    return np.concatenate(parts) if parts else np.empty((0, 0), np.float32)
