"""Names of a package that load their module on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from fairaudit.exceptions import MissingDependencyError

__all__ = ["lazy_attributes", "torch_attributes"]


def lazy_attributes(
    package: str,
    modules: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    before: Callable[[], None] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names imported on first use.

    Parameters
    ----------
    package : str
        The package (``__name__``).
    modules : mapping of str to str
        Name -> the module defining it, relative to ``package`` with a leading dot
        (``"Predictor": "._predictor"``) or absolute (``"fairaudit.inputs._tasks"``).
    namespace : dict
        The package's ``globals()``: a loaded name is cached there.
    before : callable, optional
        Called before a submodule is imported (e.g. to check a dependency).

    Returns
    -------
    (callable, callable)
        ``__getattr__`` and ``__dir__``.
    """

    def getattr_(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if before is not None:
            before()
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return getattr_, dir_


def torch_attributes(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """:func:`lazy_attributes` for names that need torch.

    Their ``__getattr__`` raises :class:`MissingDependencyError` naming the ``models``
    extra when torch is missing.
    """
    return lazy_attributes(
        package,
        modules,
        namespace,
        before=lambda: MissingDependencyError.require("torch", extra="models"),
    )
