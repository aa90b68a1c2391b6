"""Fixtures of the inference tests: a tiny untrained model, its checkpoint, synthetic images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import NEEDS_TORCH

# The inference tests need torch: in the core install (pytest --core-only) the folder skips.
torch = pytest.importorskip("torch", reason=NEEDS_TORCH)

from torch import nn

#: Small input and model so that every test runs in well under a second.
INPUT_SIZE = 32
WIDTH = 0.125


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters (as after training)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(n, generator=generator) - 0.5)
    return model.eval()


def make_model(tasks=None) -> nn.Module:
    from fairaudit.models import LightweightMTLNet224

    torch.manual_seed(0)
    kwargs = {} if tasks is None else {"tasks": tasks}
    return randomize_batchnorm(LightweightMTLNet224(width=WIDTH, **kwargs))


@pytest.fixture
def model() -> nn.Module:
    """An untrained LightweightMTLNet224 (FairFace tasks), narrow, with random BN statistics."""
    return make_model()


@pytest.fixture
def checkpoint(tmp_path: Path, model: nn.Module) -> Path:
    """The checkpoint of ``model`` for 32 px images."""
    from fairaudit.models import save_checkpoint

    path = tmp_path / "model.pt"
    save_checkpoint(path, model=model, input_size=INPUT_SIZE)
    return path


def write_image(path: Path, *, mode: str = "RGB", size=(40, 48), seed: int = 0) -> Path:
    """A random image of the given PIL mode, saved by suffix (JPEG, PNG...)."""
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    if mode == "P":
        image = rgb.quantize(16)
    else:
        image = rgb.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six readable images: RGB JPEGs (one in a subfolder), grayscale, RGBA and palette PNGs."""
    folder = tmp_path / "images"
    write_image(folder / "a.jpg", seed=1)
    write_image(folder / "b.jpg", size=(64, 64), seed=2)
    write_image(folder / "sub" / "c.jpg", seed=3)
    write_image(folder / "gray.png", mode="L", seed=4)
    write_image(folder / "rgba.png", mode="RGBA", seed=5)
    write_image(folder / "palette.png", mode="P", seed=6)
    return folder
