"""Image sets: what a user asks to predict or detect on, resolved into one table of images.

Shared by :mod:`fairaudit.inference` (predictions) and :mod:`fairaudit.detect`
(the detector audit). Inputs are a folder of images (searched recursively), a list
of image files, or a label table from :mod:`fairaudit.datasets` (FairFace, UTKFace,
a labels CSV). All of them become an :class:`ImageSet`: a table with one row per image to predict
(``file``, ``path`` and the true labels when known) and the counts of what was
left out and why (labelled rows without image file, non-image files in a folder),
so nothing is dropped silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.schema import FILE_COLUMN, LABEL_COLUMNS, PATH_COLUMN

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageSet",
    "images_from_files",
    "images_from_folder",
    "images_from_table",
    "resolve_images",
]

logger = logging.getLogger(__name__)

#: File name endings (lower case) treated as images when a folder is searched.
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
)
_SHOWN = 5


def _abbreviate(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


@dataclass(frozen=True)
class ImageSet:
    """The images to predict on, and what was left out of them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per image: ``file`` (the join key: the labels' relative name, or
        the path relative to the input folder, or the path as given), ``path``
        (absolute path) and the true labels ``gender``, ``age``, ``race``
        (``age_years``) when the input had them.
    source : str
        What the images came from (folder, labels file, "list of N files").
    missing : tuple of str
        ``file`` values of labelled rows whose image file does not exist (not
        predicted; counted in the summary).
    ignored : tuple of str
        Files of the input skipped: non-image names in a folder, or the files a
        dataset loader excluded (malformed UTKFace names, non-image files).
    """

    table: pd.DataFrame
    source: str
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.table)

    @property
    def n_missing(self) -> int:
        """Number of labelled rows without an image file."""
        return len(self.missing)

    @property
    def has_labels(self) -> bool:
        """Whether the table carries any true-label column."""
        return any(c in self.table.columns for c in LABEL_COLUMNS)

    def head(self, n: int) -> ImageSet:
        """The first ``n`` images (the left-out counts are kept as they are)."""
        if n < 1:
            raise DataValidationError(f"limit must be a positive number of images, got {n}")
        return replace(self, table=self.table.head(n).reset_index(drop=True))


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def images_from_folder(folder: str | os.PathLike[str]) -> ImageSet:
    """Every image under a folder, recursively, in sorted order.

    Hidden files and folders (names starting with ``.``) are skipped; other
    files whose name is not an image name (see :data:`IMAGE_EXTENSIONS`) are
    counted in :attr:`ImageSet.ignored`.

    Parameters
    ----------
    folder : path-like
        The folder to search.

    Returns
    -------
    ImageSet
        ``file`` is the POSIX path relative to ``folder`` (``"sub/a.jpg"``).

    Raises
    ------
    DataValidationError
        If the folder does not exist, is not a folder, or holds no image.
    """
    root = Path(folder).expanduser().resolve()
    if not root.exists():
        raise DataValidationError(f"image folder not found: {root}")
    if not root.is_dir():
        raise DataValidationError(f"{root} is not a folder")
    images: list[str] = []
    ignored: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            rel = Path(dirpath, name).relative_to(root).as_posix()
            (images if _is_image_name(name) else ignored).append(rel)
    images.sort()
    ignored.sort()
    if not images:
        what = f"; it holds {len(ignored)} other file(s): {_abbreviate(ignored)}" if ignored else ""
        raise DataValidationError(
            f"no images found in folder {root} (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)}){what}"
        )
    if ignored:
        logger.info(
            "%s: ignoring %d non-image file(s): %s", root, len(ignored), _abbreviate(ignored)
        )
    root_str = str(root)
    table = pd.DataFrame(
        {
            FILE_COLUMN: pd.array(images, dtype="str"),
            PATH_COLUMN: pd.array([os.path.join(root_str, f) for f in images], dtype="str"),
        }
    )
    return ImageSet(table=table, source=root_str, ignored=tuple(ignored))


def images_from_files(files: Sequence[str | os.PathLike[str]]) -> ImageSet:
    """A list of image files, in the given order.

    Parameters
    ----------
    files : sequence of path-like
        Image files. Their ``file`` key is the path as given (POSIX form).

    Raises
    ------
    DataValidationError
        If the list is empty, a file does not exist or is a folder, or a file is
        listed twice.
    """
    if isinstance(files, str | os.PathLike):
        files = [files]
    files = list(files)
    if not files:
        raise DataValidationError("no image files given")
    keys = [Path(f).as_posix() for f in files]
    paths = [Path(f).expanduser().resolve() for f in files]
    missing = [k for k, p in zip(keys, paths) if not p.exists()]
    if missing:
        raise DataValidationError(f"image file(s) not found: {_abbreviate(missing)}")
    folders = [k for k, p in zip(keys, paths) if p.is_dir()]
    if folders:
        raise DataValidationError(
            f"expected image files, got folder(s) {_abbreviate(folders)}: pass one folder "
            "on its own, or a list of files"
        )
    duplicated = pd.Series(paths).duplicated()
    if duplicated.any():
        dups = [k for k, d in zip(keys, duplicated) if d]
        raise DataValidationError(f"image file(s) listed more than once: {_abbreviate(dups)}")
    table = pd.DataFrame(
        {
            FILE_COLUMN: pd.array(keys, dtype="str"),
            PATH_COLUMN: pd.array([str(p) for p in paths], dtype="str"),
        }
    )
    return ImageSet(table=table, source=f"list of {len(keys)} file(s)")


def images_from_table(table: pd.DataFrame, *, source: str = "label table") -> ImageSet:
    """The images of a label table from :mod:`fairaudit.datasets`.

    Rows whose image does not exist (``has_image`` False) are not predicted; they
    are counted in :attr:`ImageSet.missing`. The true labels (``gender``, ``age``,
    ``race``, ``age_years``) are carried over when present.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy label table with at least ``file`` and ``path`` columns
        (``has_image`` optional: when absent, existence is checked here).
    source : str, default="label table"
        Name of the table's origin, for messages.

    Raises
    ------
    DataValidationError
        If a column is missing, ``file`` has duplicates or empty values, or no row
        has an image.
    """
    if not isinstance(table, pd.DataFrame):
        raise DataValidationError(
            f"expected a label table (pandas DataFrame), got {type(table).__name__}"
        )
    absent = [c for c in (FILE_COLUMN, PATH_COLUMN) if c not in table.columns]
    if absent:
        raise DataValidationError(
            f"{source}: missing column(s) {absent} (a label table from fairaudit.datasets has "
            "'file' and 'path'; load labels with an image root to get paths)"
        )
    files = table[FILE_COLUMN]
    empty = files.isna() | (files.astype(str).str.strip() == "")
    if empty.any():
        raise DataValidationError(
            f"{source}: column 'file' is empty at row(s) {list(files.index[empty][:_SHOWN])}"
        )
    if files.duplicated().any():
        dups = files[files.duplicated()].astype(str).tolist()
        raise DataValidationError(f"{source}: 'file' values listed twice: {_abbreviate(dups)}")
    if "has_image" in table.columns:
        has_image = table["has_image"].fillna(False).astype(bool).to_numpy()
    else:
        has_image = (
            table[PATH_COLUMN]
            .map(lambda p: isinstance(p, str) and os.path.isfile(p))
            .to_numpy(bool)
        )
    has_image = has_image & table[PATH_COLUMN].notna().to_numpy()
    missing = tuple(files[~has_image].astype(str).tolist())
    if not has_image.any():
        raise DataValidationError(
            f"{source}: none of the {len(table)} labelled rows has an image file "
            f"(e.g. {_abbreviate(list(missing))}); check the image root"
        )
    if missing:
        logger.warning(
            "%s: %d labelled row(s) have no image file and are not predicted: %s",
            source,
            len(missing),
            _abbreviate(list(missing)),
        )
    keep = [FILE_COLUMN, PATH_COLUMN, *(c for c in LABEL_COLUMNS if c in table.columns)]
    out = table.loc[has_image, keep].reset_index(drop=True)
    out[FILE_COLUMN] = out[FILE_COLUMN].astype("str")
    out[PATH_COLUMN] = out[PATH_COLUMN].astype("str")
    return ImageSet(table=out, source=source, missing=missing)


def resolve_images(
    images: object,
    *,
    limit: int | None = None,
) -> ImageSet:
    """Turn any supported input into an :class:`ImageSet`.

    Parameters
    ----------
    images : ImageSet, DataFrame, LoadedDataset, path-like or sequence of path-like
        A label table (or a :class:`~fairaudit.datasets.LoadedDataset`), a folder
        (searched recursively), one image file, or a list of image files.
    limit : int, optional
        Keep only the first ``limit`` images.

    Returns
    -------
    ImageSet

    Raises
    ------
    DataValidationError
        For an unsupported input type, or any error of the ``images_from_*``
        functions.
    """
    if isinstance(images, ImageSet):
        image_set = images
    elif isinstance(images, pd.DataFrame):
        image_set = images_from_table(images)
    elif hasattr(images, "table") and isinstance(getattr(images, "table", None), pd.DataFrame):
        report = getattr(images, "report", None)
        source = str(getattr(report, "root", "") or getattr(images, "root", "label table"))
        image_set = images_from_table(images.table, source=source)
        skipped = (*getattr(report, "malformed_names", ()), *getattr(report, "ignored_files", ()))
        if skipped:
            image_set = replace(image_set, ignored=tuple(skipped))
    elif isinstance(images, str | os.PathLike):
        path = Path(images).expanduser()
        image_set = images_from_folder(path) if path.is_dir() else images_from_files([path])
    elif isinstance(images, Sequence) and all(isinstance(i, str | os.PathLike) for i in images):
        image_set = images_from_files(images)
    else:
        raise DataValidationError(
            "images must be a folder, an image file, a list of image files or a label table; "
            f"got {type(images).__name__}"
        )
    return image_set.head(limit) if limit is not None else image_set
