"""Model cards as the shells (``cli``, ``demo``, ``app``) hand them to a report.

A report never looks a card up: it shows the plain mapping it is given. These are
the look-ups, torch-free: a card from a JSON file or a shipped model's name
(``fairaudit report --model-card``), and the card of the shipped model an audit names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fairaudit.exceptions import DataValidationError
from fairaudit.models._shipped import shipped_model_card, shipped_models

__all__ = ["audited_model_card", "load_model_card"]


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
    name = str(name_or_path)
    if name in shipped_models():
        return shipped_model_card(name)
    raise DataValidationError(
        f"model card {name!r} is neither a JSON file nor a shipped model "
        f"(shipped: {list(shipped_models())})"
    )


def audited_model_card(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The card of the shipped model an audit's metadata names (``metadata["model"]``).

    Parameters
    ----------
    metadata : mapping
        An audit's metadata (``AuditResult.metadata``).

    Returns
    -------
    dict or None
        None when the metadata names no model, or a model that is not shipped.
    """
    name = metadata.get("model")
    if not isinstance(name, str) or name not in shipped_models():
        return None
    return shipped_model_card(name)
