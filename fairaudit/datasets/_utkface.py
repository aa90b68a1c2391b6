"""UTKFace loader: labels parsed strictly from ``<age>_<gender>_<race>_<datetime>.jpg.chip.jpg``."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from fairaudit.datasets._report import LoadedDataset, LoadReport
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import GENDER, UTKFACE_RACE, age_years_to_group

__all__ = ["UTKFACE_NAME_PATTERN", "load_utkface", "parse_utkface_name"]

logger = logging.getLogger(__name__)

#: A well-formed UTKFace file name: age (years), gender (0 male, 1 female), race
#: (0 White, 1 Black, 2 Asian, 3 Indian, 4 Others), a digits-only date-time, then
#: ``.jpg.chip.jpg`` (aligned & cropped set) or ``.jpg`` (in-the-wild set).
UTKFACE_NAME_PATTERN = re.compile(r"(\d{1,3})_([01])_([0-4])_(\d+)\.jpg(?:\.chip\.jpg)?")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_MALFORMED_POLICIES = ("report", "raise")


def parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """Parse ``(age_years, gender_code, race_code)`` from a UTKFace file name.

    Returns None for a name that does not match :data:`UTKFACE_NAME_PATTERN`
    exactly (nothing is guessed: a missing field, an extra space or a missing dot
    all make the name malformed).

    Examples
    --------
    >>> parse_utkface_name("25_1_2_20170116174525125.jpg.chip.jpg")
    (25, 1, 2)
    >>> parse_utkface_name("39_1_20170116174525125.jpg.chip.jpg") is None
    True
    """
    match = UTKFACE_NAME_PATTERN.fullmatch(name)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _image_names(folder: Path) -> tuple[list[str], list[str]]:
    """(image file names, other non-hidden file names) of a folder, sorted."""
    images, others = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            if entry.name.lower().endswith(_IMAGE_SUFFIXES):
                images.append(entry.name)
            else:
                others.append(entry.name)
    return sorted(images), sorted(others)


def load_utkface(root: str | os.PathLike[str], *, on_malformed: str = "report") -> LoadedDataset:
    """Load UTKFace, whose labels live only in the file names.

    Parameters
    ----------
    root : path-like
        Folder holding the images (``UTKFace/``), or its parent when that holds a
        single ``UTKFace`` sub-folder.
    on_malformed : {"report", "raise"}, default="report"
        File names that do not parse (see :func:`parse_utkface_name`) are never
        guessed: they are excluded from the table and listed in
        ``report.malformed_names`` ("report"), or raise :class:`DataValidationError`.

    Returns
    -------
    LoadedDataset
        Table with columns ``file`` (name relative to the folder), ``path``,
        ``split`` (``"all"``), ``gender``, ``age`` (FairFace age group, from
        ``age_years``), ``race`` (UTKFace's 5 groups), ``age_years`` (Int64) and
        ``has_image`` (all True), sorted by file name.

    Raises
    ------
    DataValidationError
        The folder does not exist or holds no image, or a name is malformed with
        ``on_malformed="raise"``.
    """
    if on_malformed not in _MALFORMED_POLICIES:
        raise DataValidationError(
            f"on_malformed must be one of {_MALFORMED_POLICIES}, got {on_malformed!r}"
        )
    folder = Path(root).expanduser().resolve()
    if not folder.is_dir():
        raise DataValidationError(f"UTKFace folder not found: {folder}")
    names, others = _image_names(folder)
    if not names and (folder / "UTKFace").is_dir():
        folder = folder / "UTKFace"
        names, others = _image_names(folder)
    if not names:
        raise DataValidationError(
            f"no images (.jpg/.jpeg/.png) in {folder}: expected UTKFace files named "
            "<age>_<gender>_<race>_<datetime>.jpg.chip.jpg"
        )
    if others:
        logger.info("%s: ignoring %d non-image files, e.g. %s", folder, len(others), others[:3])

    parsed = [(name, parse_utkface_name(name)) for name in names]
    good = [(name, p) for name, p in parsed if p is not None]
    malformed = tuple(name for name, p in parsed if p is None)
    if malformed:
        message = (
            f"{folder}: {len(malformed)} file name(s) do not match "
            f"<age>_<gender 0|1>_<race 0-4>_<datetime>.jpg.chip.jpg: {list(malformed[:10])}"
        )
        if on_malformed == "raise":
            raise DataValidationError(message)
        logger.warning("%s (excluded)", message)
    if not good:
        raise DataValidationError(f"{folder}: none of the {len(names)} image names parses")

    files = [name for name, _ in good]
    codes = np.array([p for _, p in good], dtype=np.int64).reshape(-1, 3)
    folder_str = str(folder)
    table = pd.DataFrame(
        {
            "file": pd.array(files, dtype="str"),
            "path": pd.array([os.path.join(folder_str, f) for f in files], dtype="str"),
            "split": pd.Categorical(["all"] * len(files), categories=["all"]),
            "gender": pd.Categorical.from_codes(codes[:, 1], dtype=GENDER.dtype),
            "age": age_years_to_group(codes[:, 0]),
            "race": pd.Categorical.from_codes(codes[:, 2], dtype=UTKFACE_RACE.dtype),
            "age_years": pd.array(codes[:, 0], dtype="Int64"),
            "has_image": np.ones(len(files), dtype=bool),
        }
    )
    report = LoadReport(
        dataset="utkface",
        n_rows=len(table),
        n_images_found=len(table),
        n_missing_images=0,
        malformed_names=malformed,
        root=folder_str,
        splits={"all": {"n_rows": len(table), "n_images_found": len(table), "n_missing_images": 0}},
        ignored_files=tuple(others),
    )
    return LoadedDataset(table=table, report=report, root=folder)
