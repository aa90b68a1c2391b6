"""Trained models shipped inside the package, each with its model card."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairaudit.exceptions import CheckpointError, MissingDependencyError

if TYPE_CHECKING:
    from fairaudit.models._checkpoint import LoadedCheckpoint

__all__ = ["load_shipped_model", "shipped_model_card", "shipped_model_path", "shipped_models"]


def _weights_dir() -> Path:
    return Path(str(resources.files("fairaudit.models").joinpath("weights")))


def shipped_models() -> tuple[str, ...]:
    """Names of the trained models shipped with fairaudit (those with a card and weights)."""
    folder = _weights_dir()
    return tuple(
        sorted(p.stem for p in folder.glob("*.json") if (folder / f"{p.stem}.pt").is_file())
    )


def shipped_model_path(name: str) -> Path:
    """Path of a shipped model's checkpoint.

    Raises
    ------
    CheckpointError
        If no shipped model has that name (the message lists the names).
    """
    path = _weights_dir() / f"{name}.pt"
    if name not in shipped_models():
        raise CheckpointError(
            f"no shipped model named {name!r}; available: {list(shipped_models())}"
        )
    return path


def shipped_model_card(name: str) -> dict[str, Any]:
    """The model card of a shipped model: data, recipe, command, metrics, training time."""
    shipped_model_path(name)
    text = (_weights_dir() / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_shipped_model(name: str, *, map_location: str = "cpu") -> LoadedCheckpoint:
    """Load a shipped model (safely: ``weights_only=True``), checked against its card."""
    MissingDependencyError.require("torch", extra="models")
    from fairaudit.models._checkpoint import load_checkpoint

    card = shipped_model_card(name)
    return load_checkpoint(
        shipped_model_path(name), expected_arch=card["arch"], map_location=map_location
    )
