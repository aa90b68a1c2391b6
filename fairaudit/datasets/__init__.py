"""Face datasets: loaders (FairFace, UTKFace), integrity checks, image sets, a torch ``Dataset``.

The loaders return a :class:`LoadedDataset`: a tidy label table (columns ``file``,
``path``, ``split``, ``gender``, ``age``, ``race``, + ``service_test`` for FairFace,
``age_years`` for UTKFace, and ``has_image``) and a :class:`LoadReport` counting
what was found, missing, repaired, dropped or excluded. Nothing is dropped silently.

:func:`resolve_images` turns a folder, image files or a label table into an
:class:`ImageSet` (``file``, ``path``, true labels), the input of prediction
(:mod:`fairaudit.inference`) and of the detector audit (:mod:`fairaudit.detect`).

:class:`FaceDataset`, :func:`collate_faces` and :class:`ImageTransform` need torch (the
extra ``fairaudit-faces[models]``) and are imported on first use; everything else works in
the core install.
"""

from __future__ import annotations

from fairaudit._images import load_rgb, to_rgb
from fairaudit._lazy import torch_attributes
from fairaudit.datasets._autodetect import load_dataset
from fairaudit.datasets._fairface import load_fairface, load_fairface_labels
from fairaudit.datasets._image_sets import (
    IMAGE_EXTENSIONS,
    ImageSet,
    images_from_files,
    images_from_folder,
    images_from_table,
    resolve_images,
)
from fairaudit.datasets._integrity import IntegrityReport, check_integrity
from fairaudit.datasets._near_duplicates import find_near_duplicates, perceptual_hash
from fairaudit.datasets._report import LabelRepair, LoadedDataset, LoadReport
from fairaudit.datasets._utkface import load_utkface, parse_utkface_name

#: The names that need torch (the extra ``models``), by the private module defining
#: them: imported on first use, so that the loaders, integrity checks and image sets
#: work in the core install.
_NEEDS_TORCH = {
    "FaceDataset": "_torchdata",
    "collate_faces": "_torchdata",
    "ImageTransform": "_transforms",
}

__all__ = [
    "IMAGE_EXTENSIONS",
    "FaceDataset",
    "ImageSet",
    "ImageTransform",
    "IntegrityReport",
    "LabelRepair",
    "LoadReport",
    "LoadedDataset",
    "check_integrity",
    "find_near_duplicates",
    "collate_faces",
    "images_from_files",
    "images_from_folder",
    "images_from_table",
    "load_dataset",
    "load_fairface",
    "load_fairface_labels",
    "load_rgb",
    "load_utkface",
    "parse_utkface_name",
    "perceptual_hash",
    "resolve_images",
    "to_rgb",
]


__getattr__, __dir__ = torch_attributes(__name__, _NEEDS_TORCH, globals())
