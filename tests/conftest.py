"""Shared fixtures: the real data beside the project, skipped with a reason when absent."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Real FairFace/UTKFace data kept beside the project (never inside it).
SHARED_DATA = Path(os.environ.get("FAIRAUDIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(
            f"real data not found at {path}: these tests need ../shared/data beside the "
            "project (set FAIRAUDIT_SHARED_DATA to point elsewhere)"
        )
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared real data (``../shared/data``)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def fairface_root() -> Path:
    """Root of the real FairFace folder (labels/, train/, val/)."""
    return _require(SHARED_DATA / "fairface")


@pytest.fixture(scope="session")
def utkface_root() -> Path:
    """Folder of the real UTKFace images (``UTKFace/``)."""
    return _require(SHARED_DATA / "utkface" / "UTKFace")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run every test with one torch thread (restored after).

    On a busy 2-core machine two threads are often slower than one, and tests
    that need more set it themselves.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
