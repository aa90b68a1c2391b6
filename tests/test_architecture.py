"""The house's shape: imports run one way, with no cycles and no reach into private modules.

The test reads every module's source with :mod:`ast` (imports inside functions
included, imports under ``if TYPE_CHECKING:`` excluded, as they never run) and
checks:

- no import cycle among fairaudit's modules;
- no import from a lower layer to a higher one (see ``LAYERS`` and
  ``docs/architecture.md``);
- no module imports a private name (``_x``) or a private module of another
  package (the shared layer-1 helpers ``fairaudit._io``, ``fairaudit._version`` and
  ``fairaudit._images`` are the library's own plumbing and allowed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "fairaudit"

#: Layers, lowest first: a module may import only from its own layer's packages
#: (without cycles) or from lower layers.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_version", "_io", "_images", "_lazy", "exceptions", "vocab", "schema"),
    ("functional",),
    ("claims",),
    ("datasets", "audit", "metrics", "models", "detect", "attributes"),
    ("training", "inference", "findings"),
    ("evaluate", "model_card", "report", "compare", "gate", "publish"),
    ("demo", "app", "cli", "__main__", "__init__", "data"),
)
SHARED_PRIVATE = {"fairaudit._io", "fairaudit._version", "fairaudit._images", "fairaudit._lazy"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every ``(module, imported name or None)`` a module's code can run."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[str, str | None, int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, None, node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:
            self.found.append((target, alias.name, node.lineno))


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_ROOT.rglob("*.py"))}


MODULES = _all_modules()


def _edges() -> dict[str, list[tuple[str, str | None, int]]]:
    out = {}
    for name, path in MODULES.items():
        visitor = _Imports(name, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        internal = []
        for target, imported, line in visitor.found:
            if target != "fairaudit" and not target.startswith("fairaudit."):
                continue
            # ``from fairaudit.pkg import submodule`` imports the submodule
            if imported and f"{target}.{imported}" in MODULES:
                target, imported = f"{target}.{imported}", None
            internal.append((target, imported, line))
        out[name] = internal
    return out


EDGES = _edges()


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(module: str) -> int:
    top = _top(module)
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module}: package {top!r} is in no layer of LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_no_import_from_a_higher_layer() -> None:
    bad = []
    for module, edges in EDGES.items():
        for target, _, line in edges:
            if target == "fairaudit":
                target_layer = len(LAYERS) - 1
            else:
                target_layer = _layer(target)
            if target_layer > _layer(module):
                bad.append(f"{MODULES[module].name}:{line} {module} imports {target}")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_cycle() -> None:
    graph = {m: sorted({t for t, _, _ in edges if t in MODULES}) for m, edges in EDGES.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _private(target: str, imported: str | None) -> bool:
    parts = target.split(".")[1:]
    return any(p.startswith("_") and p != "__init__" for p in parts) or bool(
        imported and imported.startswith("_") and imported != "__version__"
    )


def test_no_private_import_across_packages() -> None:
    bad = []
    for module, edges in EDGES.items():
        for target, imported, line in edges:
            if _top(target) == _top(module) or target in SHARED_PRIVATE:
                continue
            if _private(target, imported):
                name = f"{target}.{imported}" if imported else target
                bad.append(f"{module}:{line} imports private {name}")
    assert not bad, "private names imported from another package:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", ["compare", "gate", "report"])
def test_consumers_use_only_public_metrics(package: str) -> None:
    bad = [
        f"{module}:{line} {target} {imported or ''}"
        for module, edges in EDGES.items()
        if _top(module) == package
        for target, imported, line in edges
        if _top(target) == "metrics" and _private(target, imported)
    ]
    assert not bad, bad


def test_the_walker_sees_lazy_and_relative_imports() -> None:
    """The checks above can fail: the walker finds imports inside functions."""
    source = "def f():\n    from fairaudit.cli import main\n    from . import _x\n"
    visitor = _Imports("fairaudit.functional._fake", is_package=False)
    visitor.visit(ast.parse(source))
    assert ("fairaudit.cli", "main", 2) in visitor.found
    assert ("fairaudit.functional", "_x", 3) in visitor.found
    assert _layer("fairaudit.cli") > _layer("fairaudit.functional._fake")
    assert _private("fairaudit.metrics._result", "AuditResult")
