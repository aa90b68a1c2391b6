"""The top-level namespace: every advertised name resolves, and importing stays light.

The core (``pip install fairaudit-faces``) has no torch: every module but the model ones
imports without it, and the model commands say which extra to install.
"""

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import fairaudit
from fairaudit.exceptions import MissingDependencyError

#: The public modules (docs/api.md lists their ``__all__``; everything else is private).
PUBLIC_MODULES = (
    "fairaudit",
    "fairaudit.exceptions",
    "fairaudit.vocab",
    "fairaudit.schema",
    "fairaudit.functional",
    "fairaudit.claims",
    "fairaudit.datasets",
    "fairaudit.dataset_audit",
    "fairaudit.model_audit",
    "fairaudit.models",
    "fairaudit.detect",
    "fairaudit.attributes",
    "fairaudit.training",
    "fairaudit.inference",
    "fairaudit.findings",
    "fairaudit.evaluate",
    "fairaudit.model_card",
    "fairaudit.report",
    "fairaudit.compare",
    "fairaudit.gate",
    "fairaudit.publish",
    "fairaudit.demo",
    "fairaudit.app",
    "fairaudit.cli",
)
#: Packages of the library's own plumbing, with no public name (docs/architecture.md).
INTERNAL_PACKAGES = ("fairaudit.inputs",)
#: The modules that need torch (the extra ``models``); every other one is the core.
MODEL_MODULES = (
    "fairaudit.training",
    "fairaudit.inference",
    "fairaudit.evaluate",
    "fairaudit.model_card",
)
HAS_TORCH = importlib.util.find_spec("torch") is not None
#: Makes ``import torch`` (and the other optional packages) fail in a child interpreter,
#: as in the core install (a finder, not ``sys.modules[name] = None``, which SciPy probes).
_WITHOUT_TORCH = """\
import sys

class _Absent:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in {"torch", "torchvision", "timm", "cv2"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, _Absent)
"""


def test_every_lazy_name_resolves_to_the_subpackage_object():
    import importlib

    for name, module in fairaudit._LAZY.items():
        if not HAS_TORCH and name in {"Predictor", "load_checkpoint"}:
            with pytest.raises(MissingDependencyError, match=r"fairaudit-faces\[models\]"):
                getattr(fairaudit, name)
            continue
        assert getattr(fairaudit, name) is getattr(importlib.import_module(module), name)


def test_unknown_attribute_raises_attribute_error():
    try:
        fairaudit.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_does_not_pull_torch():
    code = "import sys, fairaudit, fairaudit.dataset_audit; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from fairaudit._io import atomic_write_text

    umask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "out.json", "{}")
    finally:
        os.umask(umask)
    assert path.read_text() == "{}"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


#: The most unique public names the API may hold (fairlearn.metrics holds 42).
MAX_PUBLIC_NAMES = 150


def _api_sections() -> dict[str, list[tuple[str, str]]]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    sections = {}
    for module, body in re.findall(r"^## `([\w.]+)`\n\n[^\n]*\n\n((?:- [^\n]*\n?)*)", text, re.M):
        sections[module] = re.findall(r"^- `(\w+)`: (.+)$", body, re.M)
    return sections


def test_api_doc_lists_exactly_the_public_names():
    import importlib
    import inspect

    sections = _api_sections()
    assert list(sections) == list(PUBLIC_MODULES)
    for name in PUBLIC_MODULES:
        if not HAS_TORCH and name in MODEL_MODULES:
            continue
        module = importlib.import_module(name)
        listed = [entry for entry, _ in sections[name]]
        assert listed == sorted(n for n in module.__all__ if n != "__version__"), name
        for attribute, description in sections[name]:
            assert attribute in dir(module), f"{name}.{attribute}"
            try:
                obj = getattr(module, attribute)
            except MissingDependencyError:  # a lazy name of the extra "models", core install
                assert not HAS_TORCH, f"{name}.{attribute}"
                continue
            if inspect.isclass(obj) or inspect.isroutine(obj):
                first_line = inspect.getdoc(obj).strip().splitlines()[0]
                assert description == first_line, f"{name}.{attribute}"
            else:
                assert len(description.split()) >= 4, f"{name}.{attribute} is not described"


def test_the_public_api_is_small():
    names = {entry for entries in _api_sections().values() for entry, _ in entries}
    assert len(names) <= MAX_PUBLIC_NAMES, len(names)


def test_every_public_package_is_documented():
    from pathlib import Path

    root = Path(fairaudit.__file__).parent
    packages = {
        f"fairaudit.{p.stem if p.suffix else p.name}"
        for p in root.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    assert packages - {"fairaudit.data"} - set(INTERNAL_PACKAGES) == set(PUBLIC_MODULES) - {
        "fairaudit"
    }


@pytest.mark.parametrize("name", INTERNAL_PACKAGES)
def test_an_internal_package_exports_nothing(name):
    import importlib

    assert importlib.import_module(name).__all__ == []


def test_the_core_imports_without_torch():
    core = [m for m in PUBLIC_MODULES if m not in MODEL_MODULES]
    code = _WITHOUT_TORCH + (
        f"import importlib; [importlib.import_module(m) for m in {core!r}]\n"
        "from fairaudit.models import shipped_model_card, shipped_models\n"
        "print(len(shipped_model_card(shipped_models()[0])) > 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_a_model_module_without_torch_names_the_extra(module):
    code = _WITHOUT_TORCH + f"import {module}\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("fairaudit.exceptions.MissingDependencyError: "), last
    assert 'pip install "fairaudit-faces[models]"' in last
    assert "https://download.pytorch.org/whl/cpu" in last


@pytest.mark.parametrize("name", ["FaceDataset"])
def test_torch_names_of_the_core_packages_name_the_extra(name):
    code = _WITHOUT_TORCH + (
        "import fairaudit.datasets as d, fairaudit.models as m\n"
        f"for package in (d, m):\n"
        f"    try:\n"
        f"        getattr(package, {name!r} if package is d else 'build_model')\n"
        f"    except ImportError as exc:\n"
        f"        print(type(exc).__name__, 'fairaudit-faces[models]' in str(exc))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["MissingDependencyError True"] * 2, out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--output", "out"],
        ["predict", "--model", "fairface-lightweight-112", "--images", "x.jpg"],
        ["export", "--checkpoint", "x.pt", "--onnx", "x.onnx"],
        [
            "evaluate",
            "--model",
            "fairface-lightweight-112",
            "--dataset",
            "fairface",
            "--data-root",
            ".",
        ],
    ],
    ids=lambda argv: argv[0],
)
def test_a_model_command_without_torch_names_the_extra(argv, tmp_path):
    code = _WITHOUT_TORCH + f"from fairaudit.cli import main\nsys.exit(main({argv!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"fairaudit {argv[0]}: error: "), out.stderr
    assert 'pip install "fairaudit-faces[models]"' in out.stderr


def test_the_extras():
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    extras = pyproject["optional-dependencies"]
    assert not any(d.startswith("torch") for d in pyproject["dependencies"])
    assert {"models", "backbones", "onnx", "detect", "app", "distributed", "all", "test"} <= set(
        extras
    )
    features = set(extras) - {"all", "test"}
    assert sorted(set(extras["all"])) == sorted({d for e in features for d in extras[e]})
    for extra in ("models", "backbones", "onnx", "app"):
        assert "torch>=2.2" in extras[extra], extra
    assert "statsmodels>=0.14" in extras["test"]
    assert "pytest-xdist>=3.5" in extras["test"]


def test_every_install_hint_names_the_distribution():
    """An extra of ``fairaudit`` would install PyPI's ``fairaudit``, another project: every
    install hint in the code, the tests and the docs names ``fairaudit-faces`` with it."""
    import re

    root = Path(__file__).resolve().parents[1]
    files = [
        *root.glob("fairaudit/**/*.py"),
        *root.glob("tests/**/*.py"),
        *root.glob("docs/*.md"),
        root / "README.md",
    ]
    wrong = re.compile(r"\bfairaudit\[")
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if wrong.search(line) and "wrong = re.compile" not in line
    ]
    assert found == []
    assert (
        "fairaudit-faces"
        == tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    )
