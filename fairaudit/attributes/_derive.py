"""Derived attributes of every image of a dataset, as a table joinable by ``file``.

One row per image: the skin's ITA and its two binnings, the image conditions and
their bins, how the skin was found, and a status. Long runs write finished chunks
to ``{output}.parts/`` (atomically) and resume from them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from fairaudit._images import load_rgb, to_rgb
from fairaudit._io import atomic_path, open_chunk_folder
from fairaudit.attributes._colour import (
    SKIN_TONE,
    SKIN_TYPE,
    individual_typology_angle,
    skin_tone_category,
    skin_type_category,
    srgb_to_lab,
)
from fairaudit.attributes._conditions import (
    CONDITION_BINS,
    bin_condition,
    laplacian_variance,
    luma,
)
from fairaudit.attributes._skin import LANDMARK_SOURCES, FaceLandmarker, skin_mask
from fairaudit.datasets._image_sets import resolve_images
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError
from fairaudit.schema import FILE_COLUMN, PATH_COLUMN
from fairaudit.vocab import Vocabulary

__all__ = [
    "ATTRIBUTE_STATUSES",
    "DERIVED_VOCABULARIES",
    "VALUE_COLUMNS",
    "derive_attributes",
    "face_attributes",
    "write_attributes",
]

logger = logging.getLogger(__name__)

#: Bump when a value's definition changes: parts of an older run are then not reused.
_ALGORITHM_VERSION = 1

#: The per-image values, in the table's order (see docs/derived-attributes.md).
VALUE_COLUMNS: tuple[str, ...] = (
    "ita",
    "skin_lightness",
    "skin_b",
    "skin_pixels",
    "brightness",
    "contrast",
    "blur",
    "face_size",
)
#: The grouping columns (ordered categoricals) and their classes.
DERIVED_VOCABULARIES: Mapping[str, Vocabulary] = {
    "skin_tone": SKIN_TONE,
    "skin_type": SKIN_TYPE,
    **{bins.vocabulary.name: bins.vocabulary for bins in CONDITION_BINS.values()},
}
#: ``attributes_status``: ``"ok"``; ``"greyscale"`` (no colour on the skin: no ITA, the
#: conditions are computed); ``"no skin"`` (the skin region holds fewer than 20 pixels: no
#: ITA); ``"unreadable"`` (the image could not be decoded, the reason in
#: ``attributes_error``); ``"missing"`` (a labelled row without an image file).
ATTRIBUTE_STATUSES: tuple[str, ...] = ("ok", "greyscale", "no skin", "unreadable", "missing")
_STATUS = "attributes_status"
_ERROR = "attributes_error"
_SOURCE = "skin_region"
#: Fewer skin pixels than this give no ITA (NaN).
_MIN_SKIN_PIXELS = 20
#: Skin whose median chroma (sqrt(a*^2 + b*^2)) is below this is grey: a black-and-white
#: photo, whose ITA (about +-90 degrees, b* being about 0) would be meaningless.
_MIN_SKIN_CHROMA = 2.0


def face_attributes(
    image: str | os.PathLike[str] | Image.Image | np.ndarray,
    *,
    landmarker: FaceLandmarker | None = None,
) -> dict[str, Any]:
    """The derived values of one face chip (no bins).

    Parameters
    ----------
    image : path, PIL image or ``(h, w, 3)`` uint8 RGB array
        The face chip the model sees (e.g. a FairFace or UTKFace image).
    landmarker : FaceLandmarker, optional
        Default: a new ``FaceLandmarker()`` (dlib's landmarks when installed).

    Returns
    -------
    dict
        :data:`VALUE_COLUMNS`, ``skin_region`` (one of
        :data:`~fairaudit.attributes.LANDMARK_SOURCES`) and ``attributes_status``
        (``"ok"``; ``"greyscale"`` for skin without colour and ``"no skin"`` for a skin
        region of fewer than 20 pixels: ``ita`` is NaN).
    """
    if isinstance(image, np.ndarray):
        rgb = image
    else:
        pil = load_rgb(image) if isinstance(image, str | os.PathLike) else to_rgb(image)
        rgb = np.asarray(pil)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DataValidationError(
            f"face_attributes needs an RGB uint8 image (h, w, 3), got {rgb.dtype} {rgb.shape}"
        )
    if min(rgb.shape[:2]) < 3:
        raise DataValidationError(f"image of {rgb.shape[1]}x{rgb.shape[0]} px is too small")
    rgb = np.ascontiguousarray(rgb)
    landmarker = landmarker if landmarker is not None else FaceLandmarker()
    lab = srgb_to_lab(rgb)
    regions, face_size, source = landmarker.skin_regions(rgb)
    mask = skin_mask(rgb.shape[:2], regions)
    n_skin = int(mask.sum())
    skin_l = skin_b = ita = float("nan")
    status = "ok" if n_skin >= _MIN_SKIN_PIXELS else "no skin"
    if n_skin >= _MIN_SKIN_PIXELS:
        skin = lab[mask]
        skin_l = float(np.median(skin[:, 0]))
        skin_b = float(np.median(skin[:, 2]))
        if np.median(np.hypot(skin[:, 1], skin[:, 2])) < _MIN_SKIN_CHROMA:
            status = "greyscale"
        else:
            ita = float(individual_typology_angle(skin_l, skin_b))
    lightness = lab[..., 0]
    return {
        "ita": ita,
        "skin_lightness": skin_l,
        "skin_b": skin_b,
        "skin_pixels": n_skin,
        "brightness": float(lightness.mean()),
        "contrast": float(lightness.std() / 100.0),
        "blur": laplacian_variance(luma(rgb)),
        "face_size": face_size,
        _SOURCE: source,
        _STATUS: status,
    }


def _value_rows(paths: list[str], landmarker: FaceLandmarker, bar: Any) -> pd.DataFrame:
    rows = []
    for path in paths:
        row: dict[str, Any] = {c: np.nan for c in VALUE_COLUMNS}
        row.update({_SOURCE: None, _STATUS: "ok", _ERROR: None})
        try:
            rgb = np.asarray(load_rgb(path))
            values = face_attributes(rgb, landmarker=landmarker)
        except (OSError, ValueError, Image.DecompressionBombError, DataValidationError) as exc:
            # a file PIL cannot decode (OSError, ValueError), or an image too small to use
            row.update({_STATUS: "unreadable", _ERROR: f"{type(exc).__name__}: {exc}"})
        else:
            row.update(values)
        rows.append(row)
        bar.update(1)
    return pd.DataFrame(rows, columns=[*VALUE_COLUMNS, _SOURCE, _STATUS, _ERROR])


def _with_bins(values: pd.DataFrame) -> pd.DataFrame:
    """The value table with its grouping columns (ordered categoricals), in the documented order."""
    ita = values["ita"].to_numpy(np.float64)
    bins = {
        "skin_tone": skin_tone_category(ita),
        "skin_type": skin_type_category(ita),
        **{
            spec.vocabulary.name: bin_condition(column, values[column].to_numpy(np.float64))
            for column, spec in CONDITION_BINS.items()
        },
    }
    out = values.copy()
    for name, labels in bins.items():
        out[name] = pd.Categorical(labels, dtype=DERIVED_VOCABULARIES[name].dtype)
    out[_SOURCE] = pd.Categorical(out[_SOURCE], categories=list(LANDMARK_SOURCES))
    out[_STATUS] = pd.Categorical(out[_STATUS], categories=list(ATTRIBUTE_STATUSES))
    # one dtype for the messages, whether computed now or read back from a chunk
    out[_ERROR] = pd.Series([None if pd.isna(v) else str(v) for v in out[_ERROR]], index=out.index)
    order = [FILE_COLUMN, *DERIVED_VOCABULARIES, *VALUE_COLUMNS, _SOURCE, _STATUS, _ERROR]
    return out[order]


def write_attributes(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write an attributes table atomically as ``.csv`` or ``.parquet`` (needs pyarrow).

    Parquet keeps the bins' class order (ordered categoricals); from a CSV file the
    classes are read back as text (pass :data:`DERIVED_VOCABULARIES` to the audit to
    keep their order).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataValidationError(f"{path}: write the attributes to a .csv or .parquet file")
    if suffix == ".csv":
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        return path
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"{path}: writing Parquet needs pyarrow (pip install pyarrow); or write a .csv file"
        ) from None
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def _fingerprint(files: list[str], chunk_size: int, mode: str) -> dict[str, Any]:
    digest = hashlib.sha256("\n".join(files).encode("utf-8")).hexdigest()
    return {
        "n_images": len(files),
        "chunk_size": chunk_size,
        "files_sha256": digest,
        "landmarks": mode,
        "algorithm": _ALGORITHM_VERSION,
    }


def _read_part(part: Path, files: list[str]) -> pd.DataFrame:
    done = pd.read_csv(part, dtype={FILE_COLUMN: str, _SOURCE: object, _ERROR: object})
    if done[FILE_COLUMN].tolist() != files:
        raise DataValidationError(f"{part} does not hold this chunk's images; remove it to redo")
    return done.drop(columns=[FILE_COLUMN])


def derive_attributes(
    images: object,
    *,
    output: str | os.PathLike[str] | None = None,
    resume: bool = False,
    chunk_size: int = 500,
    landmarks: str = "auto",
    model_folder: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Skin tone and image conditions of every image, one row per image, joinable by ``file``.

    Parameters
    ----------
    images : folder, image files, label table, LoadedDataset or ImageSet
        Anything :func:`fairaudit.datasets.resolve_images` accepts; its ``file``
        values are the join key of the labels and predictions tables.
    output : path, optional
        Also write the table here (``.csv`` or ``.parquet``), atomically; each
        finished chunk of ``chunk_size`` images is first written to
        ``{output}.parts/``, removed at the end.
    resume : bool, default=False
        Continue a killed run of the same ``output``: finished chunks are read back.
    chunk_size : int, default=500
    landmarks : {"auto", "dlib", "chip"}, default="auto"
        The skin region: dlib's 68 landmarks (``"auto"``: when installed), or the
        chip's fixed boxes (``"chip"``). See :class:`FaceLandmarker`.
    model_folder : path, optional
        Folder of dlib's model files.
    limit : int, optional
        Only the first ``limit`` images.
    progress : bool, default=True
        A progress bar (tqdm) over the images.

    Returns
    -------
    pandas.DataFrame
        ``file``; the grouping columns :data:`DERIVED_VOCABULARIES` (ordered
        categoricals: ``skin_tone``, ``skin_type``, ``brightness_level``,
        ``contrast_level``, ``sharpness``, ``face_size_level``); the values
        :data:`VALUE_COLUMNS`; ``skin_region``; ``attributes_status`` and
        ``attributes_error``. Labelled rows without an image file are kept with
        status ``"missing"``, unreadable images with ``"unreadable"``; their
        values and bins are missing.

    Raises
    ------
    DataValidationError
        Parts of an earlier run without ``resume``, or of another image list.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    image_set = resolve_images(images, limit=limit)
    if limit is not None:
        image_set = replace(image_set, missing=())
    landmarker = FaceLandmarker(mode=landmarks, model_folder=model_folder)
    files = image_set.table[FILE_COLUMN].astype(str).tolist()
    paths = image_set.table[PATH_COLUMN].astype(str).tolist()
    parts: Path | None = None
    if output is not None:
        output = Path(output)
        if output.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise DataValidationError(f"{output}: write the attributes to a .csv or .parquet file")
        parts = output.with_name(output.name + ".parts")
        for tmp in parts.glob(".*.tmp") if parts.is_dir() else ():
            tmp.unlink(missing_ok=True)
        fingerprint = _fingerprint(files, chunk_size, landmarker.mode)
        open_chunk_folder(
            parts, fingerprint, resume=resume, what="image list, chunk size or landmark mode"
        )
    chunks: list[pd.DataFrame] = []
    resumed = 0
    with tqdm(total=len(files), desc="attributes", unit="img", disable=not progress) as bar:
        for k, start in enumerate(range(0, len(files), chunk_size)):
            stop = min(start + chunk_size, len(files))
            part = parts / f"part-{k:05d}.csv" if parts is not None else None
            if part is not None and part.exists():
                chunk = _read_part(part, files[start:stop])
                bar.update(stop - start)
                resumed += 1
            else:
                chunk = _value_rows(paths[start:stop], landmarker, bar)
                if part is not None:
                    with atomic_path(part) as tmp:
                        chunk.assign(**{FILE_COLUMN: files[start:stop]}).to_csv(tmp, index=False)
            chunks.append(chunk)
    if resumed:
        logger.info("resumed: %d finished chunk(s) read from %s", resumed, parts)
    values = (
        pd.concat(chunks, ignore_index=True)
        if chunks
        else _value_rows([], landmarker, tqdm(disable=True))
    )
    values.insert(0, FILE_COLUMN, files)
    if image_set.missing:
        absent = pd.DataFrame({FILE_COLUMN: list(image_set.missing), _STATUS: "missing"})
        values = pd.concat([values, absent], ignore_index=True)
    counts = values[_STATUS].value_counts().to_dict()
    if counts.get("unreadable") or counts.get("missing"):
        logger.warning(
            "attributes of %d image(s): %d unreadable, %d without an image file (kept as rows "
            "with attributes_status and no values)",
            len(values),
            counts.get("unreadable", 0),
            counts.get("missing", 0),
        )
    table = _with_bins(values)
    if output is not None:
        write_attributes(table, output)
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
    return table
