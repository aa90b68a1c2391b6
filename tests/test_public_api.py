"""The top-level namespace: every advertised name resolves, and importing stays light."""

import subprocess
import sys

import fairaudit


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
