"""Tiny synthetic FairFace / UTKFace folders for the training tests (seconds, not minutes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER
from tests.conftest import NEEDS_TORCH

# The training tests need torch: in the core install (pytest --core-only) the folder skips.
pytest.importorskip("torch", reason=NEEDS_TORCH)

#: A tiny lightweight network: a few thousand parameters, 32 px inputs.
TINY_ARCH_KWARGS = {"width": 0.125, "hidden": 16}
TINY_SIZE = 32


def _write_image(path: Path, rng: np.random.Generator, size: int = 24) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=85)


def make_fairface(root: Path, *, n_train: int = 16, n_val: int = 8, seed: int = 0) -> Path:
    """A FairFace-layout folder: labels/fairface_label_{train,val}.csv and tiny JPEGs."""
    rng = np.random.default_rng(seed)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        lines = ["file,age,gender,race,service_test"]
        for i in range(1, n + 1):
            file = f"{split}/{i}.jpg"
            _write_image(root / file, rng)
            age = FAIRFACE_AGE.classes[int(rng.integers(len(FAIRFACE_AGE)))]
            gender = GENDER.classes[i % 2]
            race = FAIRFACE_RACE.classes[int(rng.integers(len(FAIRFACE_RACE)))]
            lines.append(f"{file},{age},{gender},{race},{bool(i % 3)}")
        (root / "labels" / f"fairface_label_{split}.csv").write_text("\n".join(lines) + "\n")
    return root


def make_utkface(root: Path, *, n: int = 24, seed: int = 0) -> Path:
    """A UTKFace-style folder of ``<age>_<gender>_<race>_<datetime>.jpg.chip.jpg`` files."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        age = int(rng.integers(1, 90))
        name = f"{age}_{i % 2}_{int(rng.integers(5))}_2017011617452{i:04d}.jpg.chip.jpg"
        _write_image(root / name, rng)
    return root


def truncate_jpeg(path: Path) -> None:
    """Cut a JPEG after its first bytes: PIL cannot decode it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 4])


@pytest.fixture
def tiny_fairface(tmp_path: Path) -> Path:
    return make_fairface(tmp_path / "fairface")
