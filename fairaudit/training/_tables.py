"""Training and validation tables of a dataset folder, as the recipes define them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.training._splits import utkface_protocol_split

__all__ = ["TrainingTables", "load_training_tables"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingTables:
    """The tables a training run uses.

    Attributes
    ----------
    train, val : pandas.DataFrame
    test : pandas.DataFrame or None
        UTKFace's held-out protocol test part (None for FairFace, whose
        validation split is its test set).
    summary : str
        What was loaded, and what was left out and why.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame | None
    summary: str


def load_training_tables(
    dataset: str, data_root: str | os.PathLike[str], *, seed: int = 0
) -> TrainingTables:
    """Load a dataset folder and cut it into training tables.

    FairFace: the official ``train`` and ``val`` splits; rows whose image is
    absent are dropped and counted in the summary. UTKFace: the original
    study's protocol (:func:`utkface_protocol_split`, ages 10-65, seeded).

    Raises
    ------
    DataValidationError
        Unknown dataset, missing folder, or any loader error.
    """
    from fairaudit.datasets import load_fairface, load_utkface

    if dataset == "fairface":
        loaded = load_fairface(data_root, splits=("train", "val"), on_missing_image="drop")
        table = loaded.table
        train = table[table["split"] == "train"].reset_index(drop=True)
        val = table[table["split"] == "val"].reset_index(drop=True)
        summary = (
            f"FairFace {loaded.root}: {len(train)} train and {len(val)} val rows with images "
            f"({loaded.report.n_dropped} rows without image dropped)"
        )
        return TrainingTables(train=train, val=val, test=None, summary=summary)
    if dataset == "utkface":
        loaded = load_utkface(data_root)
        parts = utkface_protocol_split(loaded.table, seed=seed)
        excluded = len(loaded.table) - sum(len(p) for p in parts.values())
        summary = (
            f"UTKFace {loaded.root}: protocol split (ages 10-65, seed {seed}): "
            f"{len(parts['train'])} train, {len(parts['val'])} val, {len(parts['test'])} test "
            f"({excluded} rows outside the age range, {loaded.report.n_malformed} malformed "
            "file names excluded)"
        )
        return TrainingTables(
            train=parts["train"], val=parts["val"], test=parts["test"], summary=summary
        )
    raise DataValidationError(f"unknown dataset {dataset!r}: expected 'fairface' or 'utkface'")
