"""The house's shape: imports run one way, with no circles.

The test reads every module's source with :mod:`ast` (imports inside functions and
under ``if TYPE_CHECKING:`` included: every import the code names) and checks:

- no import circle among fairaudit's modules;
- no import from a lower layer to a higher one (see ``LAYERS`` and
  ``docs/architecture.md``);
- the torch-free packages (``TORCH_FREE``: report, compare, gate, findings, publish)
  import neither the models, training and inference packages nor torch: a model card
  is handed to the report as a plain mapping.

Layering, not privacy: a package may import another package's private module (the
public API is what ``docs/api.md`` lists, for users; ``tests/test_public_api.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "fairaudit"

#: Layers, lowest first: a module may import only from its own layer's packages
#: (without cycles) or from lower layers.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_version", "_io", "_saved", "_images", "_lazy", "exceptions", "vocab", "schema"),
    ("functional",),
    ("claims",),
    ("inputs",),
    ("datasets", "dataset_audit", "model_audit", "models", "detect", "attributes"),
    ("training", "inference", "findings"),
    ("evaluate", "model_card", "report", "compare", "gate", "publish"),
    ("demo", "app", "cli", "__main__", "__init__", "data"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _Imports(ast.NodeVisitor):
    """Every ``(module, imported name or None)`` a module's code names.

    Imports inside functions and under ``if TYPE_CHECKING:`` count too: a circle
    closed by a lazy or a typing-only import is still a circle in the design.
    """

    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[str, str | None, int]] = []

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


def test_the_walker_sees_lazy_and_relative_imports() -> None:
    """The checks above can fail: the walker finds imports inside functions."""
    source = "def f():\n    from fairaudit.cli import main\n    from . import _x\n"
    visitor = _Imports("fairaudit.functional._fake", is_package=False)
    visitor.visit(ast.parse(source))
    assert ("fairaudit.cli", "main", 2) in visitor.found
    assert ("fairaudit.functional", "_x", 3) in visitor.found
    assert _layer("fairaudit.cli") > _layer("fairaudit.functional._fake")

    typing_only = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fairaudit.cli import main\n"
    )
    visitor = _Imports("fairaudit.functional._fake", is_package=False)
    visitor.visit(ast.parse(typing_only))
    assert ("fairaudit.cli", "main", 3) in visitor.found


#: Packages of the torch-free core that reports and decisions are made of: none may
#: import the models, training, inference or torch (the extra "models"), not even lazily.
TORCH_FREE: tuple[str, ...] = ("report", "compare", "gate", "findings", "publish")
#: What they may not import: fairaudit's torch packages and torch itself.
TORCH_SIDE: tuple[str, ...] = (
    "fairaudit.models",
    "fairaudit.training",
    "fairaudit.inference",
    "torch",
)


def _every_import(module: str) -> list[tuple[str, str | None, int]]:
    """Every import a module names (fairaudit's and others', lazy and typing-only too)."""
    path = MODULES[module]
    visitor = _Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor.found


def _imports_the_torch_side(target: str, imported: str | None) -> bool:
    names = [target] + ([f"{target}.{imported}"] if imported else [])
    return any(name == side or name.startswith(side + ".") for name in names for side in TORCH_SIDE)


def test_the_torch_free_packages_import_no_model_training_inference_or_torch() -> None:
    checked = [m for m in MODULES if _top(m) in TORCH_FREE]
    assert len({_top(m) for m in checked}) == len(TORCH_FREE)
    bad = [
        f"{MODULES[module].name}:{line} {module} imports "
        f"{target}{'.' + imported if imported else ''}"
        for module in checked
        for target, imported, line in _every_import(module)
        if _imports_the_torch_side(target, imported)
    ]
    assert not bad, "torch-free packages importing the torch side:\n" + "\n".join(bad)


def test_the_torch_side_check_sees_every_form() -> None:
    """``import torch``, ``from torch import nn``, ``from fairaudit import models`` and a
    lazy ``from fairaudit.models._shipped import ...`` are all caught."""
    source = (
        "import torch.nn\n"
        "from torch import nn\n"
        "from fairaudit import models\n"
        "def f():\n    from fairaudit.models._shipped import shipped_models\n"
        "from fairaudit.modelsx import y\n"
    )
    visitor = _Imports("fairaudit.report._fake", is_package=False)
    visitor.visit(ast.parse(source))
    caught = [line for target, name, line in visitor.found if _imports_the_torch_side(target, name)]
    assert caught == [1, 2, 3, 5]
