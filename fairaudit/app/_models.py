"""Which model the app predicts with, and what the page says about it.

The app offers the shipped models trained on FairFace (:func:`fairface_models`),
:data:`DEFAULT_MODEL` first choice, or the one named by the script's ``--model``
argument (``fairaudit app --model NAME``, see :func:`parse_app_args`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fairaudit.exceptions import ConfigurationError

if TYPE_CHECKING:
    from fairaudit.inference import Predictor

__all__ = [
    "DEFAULT_MODEL",
    "AppOptions",
    "card_accuracy",
    "check_app_model",
    "fairface_models",
    "load_predictor",
    "model_card_markdown",
    "model_note",
    "parse_app_args",
]

#: The model the app predicts with unless told otherwise: the most accurate FairFace model
#: that needs nothing beyond the extras "models" and "app" (the face-descriptor fusion,
#: more accurate, also needs "detect": choose it in the app or with ``--model``).
DEFAULT_MODEL = "fairface-mobilenet_v2-112"


def _is_fairface(card: dict[str, Any]) -> bool:
    from fairaudit.vocab import FAIRFACE_VOCABULARIES

    tasks = {t["name"]: t for t in card.get("tasks", [])}
    if set(tasks) != set(FAIRFACE_VOCABULARIES):
        return False
    return all(
        tasks[name]["kind"] == "classification" and tuple(tasks[name]["classes"]) == vocab.classes
        for name, vocab in FAIRFACE_VOCABULARIES.items()
    )


def fairface_models() -> tuple[str, ...]:
    """Names of the shipped models that predict FairFace's classes, sorted.

    A model qualifies when its card's tasks are exactly ``gender``, ``age`` and
    ``race`` as classifications over the FairFace vocabularies (2, 9 and 7
    classes), which excludes the UTKFace model (age in years, 5 races).
    """
    from fairaudit.models import shipped_model_card, shipped_models

    return tuple(name for name in shipped_models() if _is_fairface(shipped_model_card(name)))


def check_app_model(name: str) -> str:
    """Return ``name`` if the app can predict with it.

    Raises
    ------
    ConfigurationError
        If ``name`` is not one of :func:`fairface_models` (the message lists them).
    """
    available = fairface_models()
    if name not in available:
        raise ConfigurationError(
            f"the app predicts with a shipped FairFace model, not {name!r}; "
            f"choose one of {list(available)}"
        )
    return name


@dataclass(frozen=True)
class AppOptions:
    """Options of the app script (what follows ``--`` in ``streamlit run``).

    Attributes
    ----------
    model : str
        The model selected when a session starts.
    """

    model: str = DEFAULT_MODEL


def parse_app_args(argv: Sequence[str]) -> AppOptions:
    """Read the app script's own options from its command-line arguments.

    ``streamlit run SCRIPT -- --model NAME`` runs the script with
    ``sys.argv == [SCRIPT, "--model", NAME]``; ``fairaudit app --model NAME`` does
    that. Arguments that are not the app's are ignored (no abbreviations).

    Parameters
    ----------
    argv : sequence of str
        The arguments after the script name (``sys.argv[1:]``).

    Returns
    -------
    AppOptions
        ``model`` is :data:`DEFAULT_MODEL` when no ``--model`` is given.

    Raises
    ------
    ConfigurationError
        If ``--model`` names a model the app cannot use (see :func:`check_app_model`).
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    known, _ = parser.parse_known_args(list(argv))
    return AppOptions(model=check_app_model(known.model))


def load_predictor(name: str) -> Predictor:
    """A predictor of a shipped model, with the default face detector.

    Parameters
    ----------
    name : str
        One of :func:`fairface_models`.

    Raises
    ------
    ConfigurationError
        If the app cannot use that model.
    CheckpointError
        If its weights cannot be loaded.
    """
    from fairaudit.inference import Predictor
    from fairaudit.models import shipped_model_card, shipped_model_path

    check_app_model(name)
    return Predictor.from_checkpoint(
        shipped_model_path(name), expected_arch=shipped_model_card(name)["arch"]
    )


def model_note(name: str) -> str:
    """The short caution the photo page shows beside the predictions.

    It names the model, says that predictions are estimates, gives the model
    card's accuracy per task with its interval, on the card's evaluation data (its
    ``evaluation`` and ``data.evaluation``), and that errors are not spread evenly
    between groups.

    Examples
    --------
    >>> model_note("fairface-mobilenet_v2-112")  # doctest: +ELLIPSIS
    'Predicted by fairface-mobilenet_v2-112. Predictions are estimates, not facts...'
    """
    from fairaudit.models import shipped_model_card

    card = shipped_model_card(name)
    figures = card_accuracy(card)
    measured = f" Accuracy {figures}." if figures else ""
    return (
        f"Predicted by {name}. Predictions are estimates, not facts about a person.{measured} "
        "The model errs more often for some groups than for others: see its model card."
    )


def card_accuracy(card: dict[str, Any]) -> str:
    """A model card's accuracy per task, each with its interval, and what it was measured on.

    Every figure is the card's own (``evaluation.metrics``): estimate and interval in
    percent to one decimal, at the card's level, and the evaluation data named by
    ``data.evaluation`` up to its first colon, with the rows counted.

    Examples
    --------
    >>> card = {
    ...     "data": {"evaluation": "FairFace val: 5,000 labelled images"},
    ...     "evaluation": {
    ...         "confidence": 0.95,
    ...         "metrics": {
    ...             "gender": {
    ...                 "metric": "accuracy", "estimate": 0.894, "lower": 0.8851,
    ...                 "upper": 0.9024, "n": 5000,
    ...             }
    ...         },
    ...     },
    ... }
    >>> card_accuracy(card)
    'on FairFace val (5,000 labelled faces): gender 89.4% (95% interval 88.5-90.2%)'
    """
    from fairaudit.app._photo import task_title

    evaluation = card.get("evaluation") or {}
    metrics = {
        task: entry
        for task, entry in (evaluation.get("metrics") or {}).items()
        if entry.get("metric") == "accuracy"
    }
    if not metrics:
        return ""
    level = f"{100 * float(evaluation.get('confidence', 0.95)):g}% interval"
    figures = ", ".join(
        f"{task_title(task).lower()} {100 * float(entry['estimate']):.1f}% ({level} "
        f"{100 * float(entry['lower']):.1f}-{100 * float(entry['upper']):.1f}%)"
        for task, entry in metrics.items()
    )
    data = str((card.get("data") or {}).get("evaluation") or "").split(":", 1)[0].strip()
    counts = sorted({int(entry.get("n", 0)) for entry in metrics.values()})
    rows = f"{counts[0]:,} labelled faces" if len(counts) == 1 else "labelled faces"
    return f"on {data} ({rows}): {figures}" if data else f"on {rows}: {figures}"


def model_card_markdown(name: str) -> str:
    """The model card of a shipped model as Markdown (the ``.md`` beside its weights).

    Raises
    ------
    CheckpointError
        If no shipped model has that name.
    """
    from importlib import resources

    from fairaudit.models import shipped_model_path

    shipped_model_path(name)  # refuses unknown names
    card = resources.files("fairaudit.models").joinpath("weights", f"{name}.md")
    return card.read_text(encoding="utf-8")
