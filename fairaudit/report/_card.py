"""The model card a report shows: the plain mapping its caller passes in, checked.

The report never looks a card up (that would lift the torch-free report onto the
models): the shells (``cli``, ``demo``, ``app``) load it with
:mod:`fairaudit.models._cards` and pass it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fairaudit.exceptions import DataValidationError

if TYPE_CHECKING:
    from fairaudit.model_audit import AuditResult

__all__ = ["resolve_model_card"]


def resolve_model_card(
    audit: AuditResult, model_card: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The model card to show: the one given, checked against the audit; None without one.

    The caller loads the card (for the shipped model an audit names:
    ``fairaudit.models._cards.audited_model_card``); the report never looks one up.

    Raises
    ------
    DataValidationError
        If the card is not a mapping, or if its tasks do not cover the audited tasks
        (a task absent from the card, or other classes without a recorded mapping).
    """
    if model_card is None:
        return None
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
