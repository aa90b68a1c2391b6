"""The top-level namespace: every advertised name resolves, and importing stays light."""

import subprocess
import sys

import fairaudit

#: The public modules (docs/api.md lists their ``__all__``; everything else is private).
PUBLIC_MODULES = (
    "fairaudit",
    "fairaudit.exceptions",
    "fairaudit.vocab",
    "fairaudit.schema",
    "fairaudit.functional",
    "fairaudit.datasets",
    "fairaudit.audit",
    "fairaudit.metrics",
    "fairaudit.models",
    "fairaudit.detect",
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


def test_every_lazy_name_resolves_to_the_subpackage_object():
    import importlib

    for name, module in fairaudit._LAZY.items():
        assert getattr(fairaudit, name) is getattr(importlib.import_module(module), name)


def test_unknown_attribute_raises_attribute_error():
    try:
        fairaudit.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_does_not_pull_torch():
    code = "import sys, fairaudit, fairaudit.audit; print('torch' in sys.modules)"
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


def test_api_doc_lists_exactly_the_public_names():
    import importlib
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `([\w.]+)`\n\n[^\n]*\n\n([^\n]*)$", text, re.M))
    assert list(sections) == list(PUBLIC_MODULES)
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        listed = re.findall(r"`(\w+)`", sections[name])
        assert listed == sorted(n for n in module.__all__ if n != "__version__"), name
        for attribute in listed:
            assert hasattr(module, attribute), f"{name}.{attribute}"


def test_every_public_package_is_documented():
    from pathlib import Path

    root = Path(fairaudit.__file__).parent
    packages = {
        f"fairaudit.{p.stem if p.suffix else p.name}"
        for p in root.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    assert packages - {"fairaudit.data"} == set(PUBLIC_MODULES) - {"fairaudit"}
