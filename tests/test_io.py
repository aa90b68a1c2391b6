"""Atomic writes leave no temporary file behind, even after a killed writer (issue 26)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from fairaudit._io import atomic_path, atomic_write_text, remove_stale_temporaries


def _temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_killed_writers_temporary_file_is_removed_at_the_next_write(tmp_path):
    """A writer killed inside atomic_path leaves .audit.json.*.tmp; the next write removes it."""
    target = tmp_path / "audit.json"
    code = (
        "import os, signal, sys\n"
        "from fairaudit._io import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code, str(target)], env=env, check=False)
    assert done.returncode == -9
    left = _temporaries(tmp_path)
    assert len(left) == 1 and left[0].startswith(".audit.json.")
    atomic_write_text(target, "whole")
    assert target.read_text() == "whole"
    assert _temporaries(tmp_path) == []


def test_a_running_writers_temporary_file_is_kept(tmp_path):
    target = tmp_path / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text("mine")
        assert remove_stale_temporaries(target) == []  # this process is alive
        atomic_write_text(tmp_path / "other.html", "x")  # another file's write: not ours
        assert tmp.exists()
    assert target.read_text() == "mine" and _temporaries(tmp_path) == []


def test_old_untagged_temporaries_are_removed_and_new_ones_kept(tmp_path):
    target = tmp_path / "audit.json"
    old, new = tmp_path / ".audit.json.abc123.tmp", tmp_path / ".audit.json.def456.tmp"
    old.write_text("x")
    new.write_text("y")
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_stale_temporaries(target) == [old]
    assert _temporaries(tmp_path) == [new.name]


def test_an_error_inside_the_block_removes_the_temporary_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
