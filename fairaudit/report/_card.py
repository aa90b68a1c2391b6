"""Model cards in a report: the card to show, and a card named on the command line."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairaudit.exceptions import DataValidationError

if TYPE_CHECKING:
    from fairaudit.model_audit import AuditResult

__all__ = ["load_model_card", "resolve_model_card"]


def load_model_card(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """A model card from a JSON file, or a shipped model's card by name.

    Parameters
    ----------
    name_or_path : str or path-like
        A path to a card's JSON file (as :func:`fairaudit.model_card.package_run`
        writes), or the name of a shipped model (:func:`fairaudit.models.shipped_models`).

    Raises
    ------
    DataValidationError
        If the file is not JSON or not a JSON object, or if the name is neither a
        file nor a shipped model (the message lists the shipped models).
    """
    path = Path(name_or_path)
    if path.is_file():
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataValidationError(f"{path}: not a JSON model card ({exc})") from exc
        if not isinstance(card, dict):
            raise DataValidationError(
                f"{path}: a model card is a JSON object, not {type(card).__name__}"
            )
        return card
    from fairaudit.models import shipped_model_card, shipped_models

    name = str(name_or_path)
    if name in shipped_models():
        return shipped_model_card(name)
    raise DataValidationError(
        f"model card {name!r} is neither a JSON file nor a shipped model "
        f"(shipped: {list(shipped_models())})"
    )


def resolve_model_card(
    audit: AuditResult, model_card: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The model card to show: the given one, else the shipped model the audit names.

    When ``model_card`` is None and ``audit.metadata["model"]`` names a shipped model
    (:func:`fairaudit.models.shipped_models`), its card is used.

    Raises
    ------
    DataValidationError
        If the card is not a mapping, or if its tasks do not cover the audited tasks
        (a task absent from the card, or other classes without a recorded mapping).
    """
    if model_card is None:
        name = audit.metadata.get("model")
        if not isinstance(name, str) or not name:
            return None
        from fairaudit.models import shipped_model_card, shipped_models

        if name not in shipped_models():
            return None
        model_card = shipped_model_card(name)
    if not isinstance(model_card, Mapping):
        raise DataValidationError(
            f"a model card must be a mapping (the JSON object of a card), "
            f"got {type(model_card).__name__}"
        )
    card = dict(model_card)
    card_tasks = card.get("tasks")
    if isinstance(card_tasks, list) and card_tasks:
        by_name = {str(t.get("name")): t for t in card_tasks if isinstance(t, Mapping)}
        mapped = audit.metadata.get("mappings") or {}
        name = card.get("name", "the model card")
        missing = [t for t in audit.tasks if t not in by_name]
        if missing:
            raise DataValidationError(
                f"model card {name!r} has tasks {list(by_name)}, but the audit has "
                f"task(s) {missing} the model does not predict: incompatible card"
            )
        for task, vocab in audit.tasks.items():
            spec = by_name[task]
            classes = spec.get("classes")
            if (
                spec.get("kind", "classification") == "classification"
                and isinstance(classes, list)
                and tuple(str(c) for c in classes) != vocab.classes
                and task not in mapped
            ):
                raise DataValidationError(
                    f"model card {name!r}: task {task!r} has classes {classes}, but the "
                    f"audit's {task!r} has {list(vocab.classes)} and records no mapping "
                    "between them: incompatible card"
                )
    return card
