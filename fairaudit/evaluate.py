"""Evaluate a checkpoint on labelled images: predictions, audit, headline metrics with CIs.

This chains the library's own stages - :class:`~fairaudit.inference.Predictor` for
the predictions table, :func:`~fairaudit.model_audit.audit_table` for the audit - and
summarises each task by one headline figure with a 95% interval: accuracy for a
classification task, with the inference layer's interval of a rate (exact,
Clopper-Pearson: the interval the report, the slices and the gate give the same
accuracy), and the mean absolute error in years for an age regression, with a
percentile bootstrap of its rows. Model cards are written from it, and the shipped
models' CI test recomputes it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fairaudit.exceptions import DataValidationError, MissingDependencyError

try:
    import torch  # noqa: F401  (the extra "models"; the modules below import it)
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    raise MissingDependencyError.for_extra("models", "torch") from None

from fairaudit.claims._rates import RATE_METHOD
from fairaudit.inference import Predictor
from fairaudit.model_audit import AuditResult, audit_table
from fairaudit.model_audit._views import group_rate_table
from fairaudit.vocab import (
    FAIRFACE_RACE,
    FAIRFACE_TO_UTKFACE_RACE,
    UTKFACE_RACE,
    age_years_to_group,
)

__all__ = [
    "ModelEvaluation",
    "cross_dataset_table",
    "evaluate_checkpoint",
    "evaluate_predictions",
]


#: How the interval of a mean absolute error is computed (the audit keeps no per-row errors).
MAE_METHOD = "percentile bootstrap of the rows"


def group_accuracy(
    audit: AuditResult,
    *,
    tasks: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Accuracy of each task in each group of each attribute, with its exact interval.

    The disparities a model card shows: e.g. gender accuracy of women and of men,
    of each race, of each age group.

    Parameters
    ----------
    audit : AuditResult
    tasks : sequence of str, optional
        Default: every task of the audit.
    confidence : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        ``task``, ``attribute``, ``group``, ``n``, ``correct``, ``accuracy``
        (NaN for an empty group), ``lower``, ``upper`` (the inference layer's
        interval of a rate, :data:`~fairaudit.claims._rates.RATE_METHOD`).
    """
    columns = ["task", "attribute", "group", "n", "correct", "accuracy", "lower", "upper"]
    frames = []
    for task in tasks if tasks is not None else list(audit.tasks):
        for attribute in audit.attributes:
            view = group_rate_table(audit, task, by=attribute, confidence=confidence)
            view = view.rename(columns={"hits": "correct", "rate": "accuracy"})
            frames.append(view.assign(task=task, attribute=attribute)[columns])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class ModelEvaluation:
    """Result of :func:`evaluate_checkpoint`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        The predictions table (one row per image).
    audit : AuditResult
        The full audit of those predictions (every slice, fairness, calibration).
    summary : pandas.DataFrame
        One row per task: ``task``, ``metric`` (``accuracy`` or ``mae_years``),
        ``estimate``, ``lower``, ``upper``, ``interval`` (how the bounds were
        computed: :data:`~fairaudit.claims._rates.RATE_METHOD` for an accuracy, a percentile
        bootstrap of the rows for a mean absolute error), ``n`` (rows evaluated).
    confidence : float
        Coverage of the intervals.
    n_resamples : int
        Bootstrap replicates behind the intervals of mean absolute errors.
    """

    predictions: pd.DataFrame
    audit: AuditResult
    summary: pd.DataFrame
    confidence: float
    n_resamples: int

    def headline(self, task: str) -> float:
        """The headline figure of ``task`` (accuracy, or MAE in years)."""
        rows = self.summary[self.summary["task"] == task]
        if rows.empty:
            evaluated = self.summary["task"].tolist()
            raise DataValidationError(f"no task {task!r}; evaluated {evaluated}")
        return float(rows["estimate"].iloc[0])

    def group_accuracy(self) -> pd.DataFrame:
        """:func:`group_accuracy` of the classification tasks, at :attr:`confidence`."""
        tasks = self.summary.loc[self.summary["metric"] == "accuracy", "task"].tolist()
        return group_accuracy(self.audit, tasks=tasks, confidence=self.confidence)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (for model cards): headline metrics and accuracy per group."""
        return {
            "confidence": self.confidence,
            "n_resamples": self.n_resamples,
            "groups": self.group_accuracy().to_dict(orient="records"),
            "group_interval": RATE_METHOD,
            "metrics": {
                row.task: {
                    "metric": row.metric,
                    "estimate": float(row.estimate),
                    "lower": float(row.lower),
                    "upper": float(row.upper),
                    "interval": row.interval,
                    "n": int(row.n),
                }
                for row in self.summary.itertuples(index=False)
            },
        }


def _mae_interval(
    errors: np.ndarray, *, n_resamples: int, confidence: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap of the mean absolute error, resampling rows.

    The audit keeps only per-cell sums of the errors, which cannot resample the
    spread inside a cell, so the interval of the MAE resamples the rows.
    """
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 100):
        stop = min(start + 100, n_resamples)
        idx = rng.integers(0, errors.size, size=(stop - start, errors.size))
        means[start:stop] = errors[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def _race_vocabulary(values: pd.Series) -> Any:
    """FairFace's or UTKFace's races, by the labels' categories or else their values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = tuple(map(str, values.cat.categories))
        for vocab in (FAIRFACE_RACE, UTKFACE_RACE):
            if categories == vocab.classes:
                return vocab
    present = set(values.dropna().astype(str))
    fairface, utkface = set(FAIRFACE_RACE.classes), set(UTKFACE_RACE.classes)
    if present <= fairface and not present <= utkface:
        return FAIRFACE_RACE
    if present <= utkface and not present <= fairface:
        return UTKFACE_RACE
    return None


def cross_dataset_mappings(
    tasks: Sequence[Any], labels: pd.DataFrame
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, str]]:
    """The declared mappings that evaluate a model on another dataset's labels.

    A FairFace model on UTKFace predicts 7 races where the labels hold 5; a
    UTKFace model on FairFace the other way round. Both are compared in
    UTKFace's 5 groups through :data:`fairaudit.vocab.FAIRFACE_TO_UTKFACE_RACE`
    (East and Southeast Asian -> Asian; Latino_Hispanic and Middle Eastern ->
    Others): the model's races are mapped (a FairFace model), or the labels' are
    (a UTKFace model). An age regression in years is binned into the age groups
    (:func:`fairaudit.vocab.age_years_to_group`). Nothing else is mapped.

    Parameters
    ----------
    tasks : sequence of TaskSpec
        The model's tasks.
    labels : pandas.DataFrame
        The labelled images (a tidy table of :mod:`fairaudit.datasets`).

    Returns
    -------
    mappings : dict
        Per task, the mapping of the model's predictions (``audit_table(mappings=)``).
    labels : pandas.DataFrame
        The labels, with FairFace races mapped to UTKFace's for a UTKFace model.
    notes : dict of str to str
        Per mapped task, what was mapped (for the table).
    """
    mappings: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for task in tasks:
        if task.kind == "regression" and task.name == "age":
            mappings["age"] = age_years_to_group
            notes["age"] = "predicted years binned into the age groups"
    race = next((t for t in tasks if t.name == "race" and t.kind == "classification"), None)
    if race is not None and "race" in labels:
        model_races = tuple(race.classes)
        label_races = _race_vocabulary(labels["race"])
        if model_races == FAIRFACE_RACE.classes and label_races == UTKFACE_RACE:
            mappings["race"] = FAIRFACE_TO_UTKFACE_RACE
            notes["race"] = "the model's 7 FairFace races mapped to UTKFace's 5"
        elif model_races == UTKFACE_RACE.classes and label_races == FAIRFACE_RACE:
            labels = labels.assign(race=FAIRFACE_TO_UTKFACE_RACE.apply(labels["race"]))
            notes["race"] = "the labels' 7 FairFace races mapped to UTKFace's 5"
    return mappings, labels, notes


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    images: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
    batch_size: int = 64,
    threads: int | None = None,
    backend: str = "torch",
    progress: bool = True,
    model: str | None = None,
    data: str | None = None,
) -> ModelEvaluation:
    """Predict labelled images with a checkpoint and summarise each task.

    Parameters
    ----------
    checkpoint : path
        A fairaudit checkpoint (``.pt``).
    images : pandas.DataFrame
        A tidy labels table from :mod:`fairaudit.datasets` (``file``, ``path`` and
        the label columns; ``age_years`` for an age regression). Rows without an
        image must be removed first (``table[table["has_image"]]``).
    n_resamples : int, default=1000
        Bootstrap replicates for the interval of a mean absolute error (an
        accuracy's interval is exact).
    confidence : float, default=0.95
        Interval coverage.
    random_state : int, default=0
        Seed of that bootstrap.
    batch_size, threads, backend, progress
        Passed to :class:`~fairaudit.inference.Predictor`.
    model : str, optional
        The model's name, recorded as the audit's ``metadata["model"]``
        (default: the checkpoint's path).
    data : str, optional
        What ``images`` are (``"fairface val split of data/: 10,954 images"``),
        recorded in the audit's ``metadata["data"]["labels"]``.

    Returns
    -------
    ModelEvaluation

    Raises
    ------
    DataValidationError
        If ``images`` is empty, lacks a label column the model predicts, or
        some images could not be read (they would bias the figures).
    """
    if len(images) == 0:
        raise DataValidationError("no images to evaluate")
    if "has_image" in images and not images["has_image"].all():
        missing = int((~images["has_image"]).sum())
        raise DataValidationError(
            f"{missing} row(s) have no image file; evaluate table[table['has_image']] instead"
        )
    predictor = Predictor.from_checkpoint(
        checkpoint, backend=backend, batch_size=batch_size, threads=threads
    )
    predictions = predictor.run(images, progress=progress).table
    return evaluate_predictions(
        predictions,
        images,
        tasks=predictor.tasks,
        n_resamples=n_resamples,
        confidence=confidence,
        random_state=random_state,
        model=model,
        data=data,
        checkpoint=str(checkpoint),
    )


def evaluate_predictions(
    predictions: pd.DataFrame,
    images: pd.DataFrame,
    *,
    tasks: Sequence[Any],
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
    model: str | None = None,
    data: str | None = None,
    checkpoint: str | None = None,
) -> ModelEvaluation:
    """Summarise each task of a model's predictions of labelled images.

    :func:`evaluate_checkpoint` is this after predicting; call it directly with a
    predictions table made once and shared (e.g. by a report and an evaluation).

    Parameters
    ----------
    predictions : pandas.DataFrame
        :meth:`fairaudit.inference.Predictor.predict` of ``images``.
    images : pandas.DataFrame
        The labelled images (as :func:`evaluate_checkpoint`).
    tasks : sequence of Task
        The model's tasks (``Predictor.tasks``).
    n_resamples, confidence, random_state, model, data
        As :func:`evaluate_checkpoint`.
    checkpoint : str, optional
        The checkpoint that made the predictions, for the provenance.

    Returns
    -------
    ModelEvaluation

    Notes
    -----
    A model evaluated on another dataset's labels (a FairFace model on UTKFace,
    a UTKFace model on FairFace) goes through :func:`cross_dataset_mappings`:
    races compared in UTKFace's 5 groups, ages in years binned into the age
    groups (an age regression is summarised by that accuracy where the labels
    have no ``age_years``). The audit's ``metadata["cross_dataset"]`` says what
    was mapped.

    Raises
    ------
    DataValidationError
        Some images could not be read (they would bias the figures).
    """
    source = checkpoint or model or "the model"
    mappings, images, notes = cross_dataset_mappings(tasks, images)
    tasks = {task.name: task for task in tasks}
    # an age regression is summarised in years where the labels have them, else by the
    # accuracy of its binned ages (FairFace's labels are age groups)
    regression = [
        name
        for name, task in tasks.items()
        if task.kind == "regression" and (name != "age" or "age_years" in images)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audit = audit_table(
            predictions,
            images,
            mappings=mappings,
            model=model or source,
            description=f"{model or source} evaluated on {data or 'labelled images'}",
        )
        audit.metadata["data"] = {
            "predictions": f"predictions of {source} ({len(predictions):,} rows)",
            "labels": data or f"{len(images):,} labelled images",
            "checkpoint": checkpoint,
        }
        if notes:
            audit.metadata["cross_dataset"] = notes
    rng = np.random.default_rng(random_state)
    rows = []
    for name in tasks:
        if name in regression:
            errors = np.abs(
                predictions[f"{name}_pred"].to_numpy(float) - images["age_years"].to_numpy(float)
            )
            lower, upper = _mae_interval(
                errors, n_resamples=n_resamples, confidence=confidence, rng=rng
            )
            rows.append(
                (name, "mae_years", float(errors.mean()), lower, upper, MAE_METHOD, errors.size)
            )
            continue
        overall = group_rate_table(audit, name, confidence=confidence).iloc[0]
        rows.append(
            (
                name,
                "accuracy",
                float(overall["rate"]),
                float(overall["lower"]),
                float(overall["upper"]),
                RATE_METHOD,
                int(overall["n"]),
            )
        )
    summary = pd.DataFrame(
        rows, columns=["task", "metric", "estimate", "lower", "upper", "interval", "n"]
    )
    return ModelEvaluation(predictions, audit, summary, confidence, n_resamples)


def cross_dataset_table(
    models: Mapping[str, str | os.PathLike[str]],
    datasets: Mapping[str, pd.DataFrame],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int = 0,
    threads: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Every model on every dataset, through the declared mappings, with intervals.

    The FairFace paper's cross-dataset table for any checkpoints: each model is
    evaluated (:func:`evaluate_checkpoint`) on each labelled table, FairFace
    models on UTKFace and UTKFace models on FairFace included, through
    :func:`cross_dataset_mappings`.

    Parameters
    ----------
    models : mapping of str to path
        Name -> checkpoint (e.g. ``{name: shipped_model_path(name)}``).
    datasets : mapping of str to pandas.DataFrame
        Name -> labelled images (tidy tables with images, e.g. the UTKFace
        protocol's test split and FairFace val).
    n_resamples, confidence, random_state, threads, progress
        As :func:`evaluate_checkpoint`.

    Returns
    -------
    pandas.DataFrame
        One row per model, dataset and task: ``model``, ``data``, ``task``,
        ``metric`` (``accuracy``, or ``mae_years`` for an age regression on
        labels in years), ``estimate``, ``lower``, ``upper``, ``interval``
        (how the bounds were computed), ``n`` and ``mapping`` (what was mapped, ``""`` if nothing).
    """
    rows = []
    for model_name, checkpoint in models.items():
        for data_name, images in datasets.items():
            evaluation = evaluate_checkpoint(
                checkpoint,
                images,
                n_resamples=n_resamples,
                confidence=confidence,
                random_state=random_state,
                threads=threads,
                progress=progress,
                model=model_name,
                data=data_name,
            )
            notes = evaluation.audit.metadata.get("cross_dataset", {})
            for row in evaluation.summary.itertuples(index=False):
                rows.append(
                    {
                        "model": model_name,
                        "data": data_name,
                        **row._asdict(),
                        "mapping": notes.get(row.task, "") if row.metric == "accuracy" else "",
                    }
                )
    columns = ["model", "data", "task", "metric", "estimate", "lower", "upper", "n", "mapping"]
    return pd.DataFrame(rows, columns=columns)
