"""Fixtures of the datasets tests: tiny synthetic data in tmp_path, real data loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets._helpers import TRAIN_ROWS, VAL_ROWS, write_csv, write_image


@pytest.fixture
def tiny_fairface(tmp_path: Path) -> Path:
    """FairFace layout: 4 train + 2 val labels; train/4.jpg and val/2.jpg have no image."""
    root = tmp_path / "fairface"
    write_csv(root / "labels" / "fairface_label_train.csv", TRAIN_ROWS)
    write_csv(root / "labels" / "fairface_label_val.csv", VAL_ROWS)
    for i, (file, *_rest) in enumerate(TRAIN_ROWS[:3] + VAL_ROWS[:1]):
        write_image(root / file, seed=i)
    return root


@pytest.fixture(scope="session")
def real_fairface(fairface_root: Path):
    """The real FairFace train+val, loaded once per session."""
    from fairaudit.datasets import load_fairface

    return load_fairface(fairface_root)


@pytest.fixture(scope="session")
def real_utkface(utkface_root: Path):
    """The real UTKFace, loaded once per session."""
    from fairaudit.datasets import load_utkface

    return load_utkface(utkface_root)


@pytest.fixture(scope="session")
def real_fairface_integrity(real_fairface):
    """Integrity pass over the 45,000 real FairFace images (runs once, ~20 s on 1 core)."""
    from fairaudit.datasets import check_integrity

    return check_integrity(real_fairface.table, progress=False)


@pytest.fixture(scope="session")
def real_utkface_integrity(real_utkface):
    """Integrity pass over the real UTKFace images (runs once, ~10 s)."""
    from fairaudit.datasets import check_integrity

    return check_integrity(real_utkface.table, progress=False)
