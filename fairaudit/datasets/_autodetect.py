"""Load a dataset from a path, recognising FairFace folders, labels CSVs and UTKFace folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fairaudit.datasets._fairface import load_fairface, load_fairface_labels
from fairaudit.datasets._report import LoadedDataset
from fairaudit.datasets._utkface import load_utkface
from fairaudit.exceptions import DataValidationError

__all__ = ["load_dataset"]


def load_dataset(path: str | os.PathLike[str], **options: Any) -> LoadedDataset:
    """Load FairFace or UTKFace from ``path``, whichever it holds.

    - a ``.csv`` file: :func:`load_fairface_labels` (images looked for beside the
      file's folder when it is a ``labels/`` folder, else in the file's folder);
    - a folder with ``labels/fairface_label_*.csv`` or ``fairface_label_*.csv``:
      :func:`load_fairface` with every split found (train, val, then others);
    - otherwise a folder of images: :func:`load_utkface`.

    Parameters
    ----------
    path : path-like
        File or folder.
    **options
        Keyword options passed on to the chosen loader.

    Returns
    -------
    LoadedDataset

    Raises
    ------
    DataValidationError
        ``path`` does not exist, or the chosen loader's errors.
    """
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise DataValidationError(f"no such file or folder: {path}")
    if path.is_file():
        image_root = path.parent.parent if path.parent.name == "labels" else path.parent
        options.setdefault("image_root", image_root)
        return load_fairface_labels(path, **options)
    label_files = sorted((path / "labels").glob("fairface_label_*.csv")) or sorted(
        path.glob("fairface_label_*.csv")
    )
    if label_files:
        found = [f.name[len("fairface_label_") : -len(".csv")] for f in label_files]
        order = [s for s in ("train", "val") if s in found] + [
            s for s in found if s not in ("train", "val")
        ]
        options.setdefault("splits", tuple(order))
        return load_fairface(path, **options)
    return load_utkface(path, **options)
