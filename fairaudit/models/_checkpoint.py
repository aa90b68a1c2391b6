"""Model checkpoints: atomic writes, safe reads (``weights_only=True``), clear errors.

A checkpoint is a ``torch.save`` file of one dict holding only tensors and plain
containers/primitives (so it loads with ``torch.load(weights_only=True)``, which
cannot run code)::

    format            "fairaudit.checkpoint"
    format_version    1
    library_version   fairaudit version that wrote it
    torch_version     torch version that wrote it
    arch, arch_kwargs rebuild with build_model(arch, tasks=tasks, **arch_kwargs)
    tasks             [TaskSpec.to_dict(), ...] (names, class vocabularies, kinds)
    input_size        image side the model was trained at
    backbone_frozen   whether the backbone was frozen (feature extraction)
    state_dict        the model's tensors
    extra             anything else of the same plain kinds (epoch, optimizer and
                      scheduler state dicts, history, config, class weights...)
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fairaudit._io import atomic_path
from fairaudit._version import __version__
from fairaudit.exceptions import CheckpointError, FairAuditError
from fairaudit.models._base import MultiTaskNet
from fairaudit.models._pretrained import load_state_dict_strict
from fairaudit.models._registry import build_model
from fairaudit.models._tasks import TaskSpec, validate_tasks

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "LoadedCheckpoint",
    "load_checkpoint",
    "save_checkpoint",
]

#: Name stored in every checkpoint.
CHECKPOINT_FORMAT = "fairaudit.checkpoint"
#: Version of the layout; a reader refuses any other.
CHECKPOINT_FORMAT_VERSION = 1
#: The largest image side a checkpoint may ask for: a larger one (100,000 took 23.8 GB)
#: is refused before any image is resized to it.
MAX_INPUT_SIZE = 1024

_LEAF_TYPES = (type(None), bool, int, float, str, bytes, torch.Tensor, torch.dtype, torch.device)
_CONTAINER_TYPES = (dict, OrderedDict, list, tuple, torch.Size)


@dataclass
class LoadedCheckpoint:
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    model : MultiTaskNet
        The rebuilt model with its weights, in eval mode.
    arch : str
        Architecture name.
    tasks : tuple of TaskSpec
        What the outputs mean.
    input_size : int
        Image side the model was trained at.
    extra : dict
        The ``extra`` given to :func:`save_checkpoint` (``{}`` if none).
    path : pathlib.Path
        The file read.
    arch_kwargs : dict
        Options that rebuilt the architecture.
    library_version : str
        fairaudit version that wrote the file.
    """

    model: MultiTaskNet
    arch: str
    tasks: tuple[TaskSpec, ...]
    input_size: int
    extra: dict[str, Any]
    path: Path
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    library_version: str = ""


def _check_plain(value: Any, where: str) -> None:
    """Refuse anything ``torch.load(weights_only=True)`` could not read back."""
    if isinstance(value, torch.Tensor):
        return
    kind = type(value)
    if kind in _LEAF_TYPES:
        return
    if kind in (dict, OrderedDict):
        for key, item in value.items():
            if type(key) not in (str, int, float, bool, type(None)):
                raise CheckpointError(
                    f"cannot save {where}: key {key!r} is a {type(key).__name__}; use str/int keys"
                )
            _check_plain(item, f"{where}[{key!r}]")
        return
    if kind in (list, tuple, torch.Size):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    hint = " (convert it with float()/int()/.tolist() or torch.as_tensor())"
    if kind.__module__ == "pathlib" or isinstance(value, os.PathLike):
        hint = " (convert it with str())"
    raise CheckpointError(
        f"cannot save {where}: a {kind.__module__}.{kind.__qualname__} is not a tensor or a "
        f"plain container/primitive, so the checkpoint could not be loaded safely{hint}"
    )


def _atomic_torch_save(payload: Any, path: Path) -> None:
    """``torch.save`` through :func:`fairaudit._io.atomic_path` (temp file, fsync, replace)."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            torch.save(payload, handle)
    except FairAuditError:
        raise
    except Exception as exc:
        raise CheckpointError(f"could not write checkpoint {path}: {exc}") from exc


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    input_size: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a model checkpoint atomically.

    Parameters
    ----------
    path : path-like
        Destination (parent folders are created). An existing file is replaced
        only once the new one is completely written.
    model : MultiTaskNet
        A model built by :func:`~fairaudit.models.build_model` (it has ``arch``,
        ``arch_kwargs`` and ``tasks``).
    input_size : int
        Image side the model expects (e.g. 224).
    extra : dict, optional
        Training state to keep: epoch, optimizer/scheduler ``state_dict()``,
        history, configuration, class weights... Only tensors, ``None``, bool, int,
        float, str, bytes, torch dtypes/devices and dict/list/tuple of them.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    CheckpointError
        If the model lacks ``arch``/``arch_kwargs``/``tasks``, ``extra`` holds an
        object that could not be loaded safely (the message names its key), or
        the file cannot be written (no partial file is left behind).
    """
    path = Path(path)
    for attribute in ("arch", "arch_kwargs", "tasks"):
        if not hasattr(model, attribute):
            raise CheckpointError(
                f"cannot save {path}: the model has no {attribute!r} attribute; build it with "
                "fairaudit.models.build_model"
            )
    if (
        isinstance(input_size, bool)
        or not isinstance(input_size, int)
        or not 1 <= input_size <= MAX_INPUT_SIZE
    ):
        raise CheckpointError(
            f"cannot save {path}: input_size must be an int in [1, {MAX_INPUT_SIZE}], "
            f"got {input_size!r}"
        )
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise CheckpointError(
            f"cannot save {path}: extra must be a dict, got {type(extra).__name__}"
        )
    _check_plain(extra, "extra")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "library_version": __version__,
        "torch_version": str(torch.__version__),
        "arch": model.arch,
        "arch_kwargs": dict(model.arch_kwargs),
        "tasks": [task.to_dict() for task in model.tasks],
        "input_size": input_size,
        "backbone_frozen": bool(getattr(model, "backbone_frozen", False)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra,
    }
    _check_plain(payload, "checkpoint")
    _atomic_torch_save(payload, path)
    return path


def _read_payload(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint path is not a file: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):
            raise CheckpointError(
                f"{path}: refused to load: the file contains objects other than tensors and "
                "plain containers (an unsafe pickle that could run code); only fairaudit "
                "checkpoints are accepted"
            ) from exc
        raise CheckpointError(
            f"{path}: refused to load: not a fairaudit checkpoint (the safe weights-only reader "
            "rejected it: a corrupt file, or a pickle that is not a torch checkpoint)"
        ) from exc
    except Exception as exc:  # truncated zip, garbage bytes, EOF...
        raise CheckpointError(
            f"{path}: not a fairaudit checkpoint (corrupt, truncated or not a torch file: "
            f"{type(exc).__name__})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        hint = ""
        if (
            isinstance(payload, dict)
            and payload
            and all(isinstance(v, torch.Tensor) for v in payload.values())
        ):
            hint = " (it looks like a bare state dict; save models with save_checkpoint)"
        raise CheckpointError(f"{path}: not a fairaudit checkpoint{hint}")
    version = payload.get("format_version")
    if version != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r} (written by fairaudit "
            f"{payload.get('library_version', '?')}); this fairaudit {__version__} reads "
            f"version {CHECKPOINT_FORMAT_VERSION}"
        )
    required = ("arch", "arch_kwargs", "tasks", "input_size", "state_dict", "extra")
    missing = [k for k in required if k not in payload]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks the field(s) {missing}")
    return payload


def _describe(tasks: Sequence[TaskSpec]) -> str:
    return "; ".join(
        f"{t.name}: {list(t.classes)}"
        if t.is_classification
        else f"{t.name}: regression x{t.max_value:g}"
        for t in tasks
    )


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    expected_arch: str | None = None,
    expected_tasks: Sequence[TaskSpec] | None = None,
    map_location: str | torch.device = "cpu",
) -> LoadedCheckpoint:
    """Load a checkpoint written by :func:`save_checkpoint`, safely.

    The file is read with ``torch.load(weights_only=True)`` (it cannot run code),
    the model is rebuilt with :func:`~fairaudit.models.build_model` and its
    weights loaded with ``strict=True``.

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    expected_arch : str, optional
        Refuse a checkpoint of another architecture.
    expected_tasks : sequence of TaskSpec, optional
        Refuse a checkpoint whose tasks (names, order, classes, kinds) differ.
    map_location : str or torch.device, default="cpu"
        Device of the loaded tensors and model.

    Returns
    -------
    LoadedCheckpoint
        The model (in eval mode) and what the checkpoint says about it.

    Raises
    ------
    CheckpointError
        Naming the file, if it is missing, not a checkpoint or corrupt, an unsafe
        pickle, of another format version, of another architecture or class
        vocabulary than expected, or its weights do not fit the architecture.
    """
    path = Path(path)
    payload = _read_payload(path, map_location)
    arch = payload["arch"]
    try:
        tasks = validate_tasks(TaskSpec.from_dict(d) for d in payload["tasks"])
    except (FairAuditError, TypeError) as exc:
        raise CheckpointError(f"{path}: invalid task list in checkpoint: {exc}") from exc
    if expected_arch is not None and arch != expected_arch:
        raise CheckpointError(
            f"{path}: checkpoint is of architecture {arch!r}, expected {expected_arch!r}"
        )
    if expected_tasks is not None:
        expected = tuple(expected_tasks)
        if expected != tasks:
            raise CheckpointError(
                f"{path}: checkpoint tasks differ from the expected ones: checkpoint has "
                f"[{_describe(tasks)}], expected [{_describe(expected)}]"
            )
    arch_kwargs = payload["arch_kwargs"]
    if not isinstance(arch_kwargs, dict):
        raise CheckpointError(
            f"{path}: arch_kwargs must be a dict, got {type(arch_kwargs).__name__}"
        )
    try:
        model = build_model(arch, tasks=tasks, **arch_kwargs)
    except FairAuditError as exc:
        raise CheckpointError(f"{path}: cannot rebuild architecture {arch!r}: {exc}") from exc
    state = payload["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict must be a dict, got {type(state).__name__}")
    load_state_dict_strict(model, state, source=f"{path}: architecture {arch!r} {arch_kwargs}")
    if payload.get("backbone_frozen"):
        model.freeze_backbone()
    model.to(map_location)
    model.eval()
    input_size = payload["input_size"]
    if (
        isinstance(input_size, bool)
        or not isinstance(input_size, int)
        or not 1 <= input_size <= MAX_INPUT_SIZE
    ):
        raise CheckpointError(
            f"{path}: invalid input_size {input_size!r} (an int in [1, {MAX_INPUT_SIZE}]: "
            f"images of {MAX_INPUT_SIZE}x{MAX_INPUT_SIZE} are already far beyond any face model)"
        )
    extra = payload["extra"]
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: extra must be a dict, got {type(extra).__name__}")
    return LoadedCheckpoint(
        model=model,
        arch=arch,
        tasks=tasks,
        input_size=input_size,
        extra=extra,
        path=path,
        arch_kwargs=dict(arch_kwargs),
        library_version=str(payload.get("library_version", "")),
    )
