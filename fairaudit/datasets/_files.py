"""Fast existence checks: one ``os.scandir`` listing per folder instead of one stat per file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FileCheck", "files_exist", "list_files"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_files(folder: str | os.PathLike[str]) -> set[str]:
    """Names of the regular files (or links to them) directly inside ``folder``.

    A folder that does not exist gives an empty set.
    """
    try:
        with os.scandir(folder) as entries:
            return {e.name for e in entries if e.is_file()}
    except (FileNotFoundError, NotADirectoryError):
        return set()


@dataclass(frozen=True)
class FileCheck:
    """Result of :func:`files_exist`."""

    exists: np.ndarray
    paths: list[str]
    unlabelled_images: tuple[str, ...]
    n_folders: int


def files_exist(root: Path, relative: Iterable[str]) -> FileCheck:
    """Whether each ``root / relative`` file exists, listing each folder once.

    Parameters
    ----------
    root : pathlib.Path
        Absolute folder the relative paths start from.
    relative : iterable of str
        Paths relative to ``root`` with ``/`` separators (``"val/12.jpg"``).

    Returns
    -------
    FileCheck
        ``exists`` (bool per path), ``paths`` (absolute path strings),
        ``unlabelled_images`` (image files in the listed folders that no path
        names, relative to ``root``) and the number of folders listed.
    """
    prefix = str(root).rstrip("/\\") + os.sep
    listings: dict[str, set[str]] = {}
    named: dict[str, set[str]] = {}
    flags = []
    paths = []
    for rel in relative:
        full = prefix + rel.replace("/", os.sep) if os.sep != "/" else prefix + rel
        folder, _, name = full.rpartition(os.sep)
        names = listings.get(folder)
        if names is None:
            names = listings[folder] = list_files(folder)
            named[folder] = set()
        named[folder].add(name)
        flags.append(name in names)
        paths.append(full)
    unlabelled = []
    for folder, names in listings.items():
        for name in names - named[folder]:
            if name.lower().endswith(_IMAGE_SUFFIXES) and not name.startswith("."):
                unlabelled.append(os.path.relpath(os.path.join(folder, name), root))
    return FileCheck(
        exists=np.asarray(flags, dtype=bool),
        paths=paths,
        unlabelled_images=tuple(sorted(unlabelled)),
        n_folders=len(listings),
    )
