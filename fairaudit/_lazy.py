"""Names of a package that load their torch-dependent module on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from fairaudit.exceptions import MissingDependencyError

__all__ = ["torch_attributes"]


def torch_attributes(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names that need torch.

    Parameters
    ----------
    package : str
        The package (``__name__``).
    modules : mapping of str to str
        Name -> the submodule defining it (``"Predictor": "_predictor"``).
    namespace : dict
        The package's ``globals()``: a loaded name is cached there.

    Returns
    -------
    (callable, callable)
        ``__getattr__``, which raises :class:`MissingDependencyError` naming the
        ``models`` extra when torch is missing, and ``__dir__``.
    """

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        MissingDependencyError.require("torch", extra="models")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return getattr_, dir_
