"""FairFace's joint label counts shipped inside the package (aggregate figures only)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from fairaudit.dataset_audit._counts import LabelCounts
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import ATTRIBUTES, FAIRFACE_VOCABULARIES

__all__ = ["FAIRFACE_SPLITS", "build_fairface_label_counts", "fairface_label_counts"]

#: The official FairFace label files' splits.
FAIRFACE_SPLITS: tuple[str, ...] = ("train", "val")
_RESOURCE = "fairface_label_counts.csv"


def fairface_label_counts(*, split: str = "train") -> LabelCounts:
    """Joint gender x age x race counts of FairFace's official label files.

    These aggregate figures (252 numbers, no image and no per-image row) ship
    inside the package so the dataset audit runs with nothing downloaded. They
    were built from ``fairface_label_train.csv`` (86,744 rows) and
    ``fairface_label_val.csv`` (10,954 rows) by :func:`build_fairface_label_counts`.

    Parameters
    ----------
    split : {"train", "val"}
        Which label file's counts.
    """
    if split not in FAIRFACE_SPLITS:
        raise DataValidationError(f"FairFace split must be one of {FAIRFACE_SPLITS}, got {split!r}")
    with resources.files("fairaudit.data").joinpath(_RESOURCE).open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f)
    frame = frame[frame["split"] == split]
    return LabelCounts.from_frame(
        frame, attributes=ATTRIBUTES, vocabularies=FAIRFACE_VOCABULARIES, source=_RESOURCE
    )


def build_fairface_label_counts(labels_dir: str | Path) -> pd.DataFrame:
    """Rebuild the embedded counts table from FairFace's label CSVs.

    Parameters
    ----------
    labels_dir : path
        Folder holding ``fairface_label_train.csv`` and ``fairface_label_val.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``split, gender, age, race, count``: one row per combination
        (zeros included), in vocabulary order - the format of the shipped file.
    """
    frames = []
    for split in FAIRFACE_SPLITS:
        path = Path(labels_dir) / f"fairface_label_{split}.csv"
        if not path.is_file():
            raise DataValidationError(f"FairFace label file not found: {path}")
        labels = pd.read_csv(path, dtype=str, keep_default_na=False)
        counts = LabelCounts.from_table(
            labels, attributes=ATTRIBUTES, vocabularies=FAIRFACE_VOCABULARIES, source=str(path)
        ).to_frame()
        counts.insert(0, "split", split)
        frames.append(counts)
    return pd.concat(frames, ignore_index=True)
