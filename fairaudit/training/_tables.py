"""Training and validation tables of a dataset folder, as the recipes define them."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pandas as pd

from fairaudit.exceptions import DataValidationError
from fairaudit.training._splits import stratified_holdout_split, utkface_protocol_split

__all__ = ["TrainingTables", "load_training_tables"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingTables:
    """The tables a training run uses.

    Attributes
    ----------
    train : pandas.DataFrame
        The rows the model learns from.
    val : pandas.DataFrame
        The rows of the validation loss (early stopping, choice of ``best.pt``).
    test : pandas.DataFrame or None
        The rows left for the final evaluation: UTKFace's protocol test part;
        FairFace's official validation split when part of its training split
        is held out for ``val``; otherwise None (FairFace's official
        validation split is then both ``val`` and the evaluation set).
    summary : str
        What was loaded, and what was left out and why.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame | None
    summary: str


def load_training_tables(
    dataset: str,
    data_root: str | os.PathLike[str],
    *,
    seed: int = 0,
    holdout_fraction: float | None = None,
) -> TrainingTables:
    """Load a dataset folder and cut it into training tables.

    FairFace: the official ``train`` and ``val`` splits; rows whose image is
    absent are dropped and counted in the summary. With ``holdout_fraction``,
    that share of the training rows (stratified by gender x age x race,
    seeded: :func:`stratified_holdout_split`) becomes ``val`` and the official
    validation split becomes ``test``. UTKFace: the original study's protocol
    (:func:`utkface_protocol_split`, ages 10-65, seeded).

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
        if holdout_fraction is None:
            return TrainingTables(train=train, val=val, test=None, summary=summary)
        parts = stratified_holdout_split(train, fraction=holdout_fraction, seed=seed)
        summary += (
            f"; {len(parts['holdout'])} train rows held out for validation "
            f"(fraction {holdout_fraction:g}, stratified by gender x age x race, seed {seed}), "
            f"{len(parts['train'])} left to train on; the official val rows are kept for "
            "the final evaluation"
        )
        return TrainingTables(train=parts["train"], val=parts["holdout"], test=val, summary=summary)
    if dataset == "utkface":
        if holdout_fraction is not None:
            raise DataValidationError(
                "holdout_fraction is for FairFace: the UTKFace protocol has its own validation part"
            )
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
