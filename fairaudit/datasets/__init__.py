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

from fairaudit._lazy import torch_attributes
from fairaudit.datasets._autodetect import load_dataset
from fairaudit.datasets._fairface import load_fairface
from fairaudit.datasets._image_sets import ImageSet, images_from_folder
from fairaudit.datasets._integrity import IntegrityReport, check_integrity
from fairaudit.datasets._near_duplicates import find_near_duplicates
from fairaudit.datasets._report import LoadedDataset
from fairaudit.datasets._utkface import load_utkface

#: The names that need torch (the extra ``models``), by the private module defining
#: them: imported on first use, so that the loaders, integrity checks and image sets
#: work in the core install.
_NEEDS_TORCH = {
    "FaceDataset": "._torchdata",
}

__all__ = [
    "FaceDataset",
    "ImageSet",
    "IntegrityReport",
    "LoadedDataset",
    "check_integrity",
    "find_near_duplicates",
    "images_from_folder",
    "load_dataset",
    "load_fairface",
    "load_utkface",
]


__getattr__, __dir__ = torch_attributes(__name__, _NEEDS_TORCH, globals())
