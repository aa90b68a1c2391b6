"""Image preprocessing shared by training and prediction (PIL + torch, no torchvision)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from fairaudit._images import load_rgb, to_rgb
from fairaudit.exceptions import DataValidationError

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageTransform", "load_rgb", "to_rgb"]

#: ImageNet channel means and standard deviations (RGB, on [0, 1] pixel values).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: Augmentation ranges: random resized crop area and aspect ratio, jitter factors.
CROP_SCALE = (0.8, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
BRIGHTNESS = (0.8, 1.2)
CONTRAST = (0.8, 1.2)
_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(3, 1, 1)


def _size_pair(image_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(image_size, int | np.integer) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, Sequence)
        and len(image_size) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in image_size)
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise DataValidationError(
            f"image_size must be an int or a (height, width) pair of ints, got {image_size!r}"
        )
    if min(size) < 1:
        raise DataValidationError(f"image_size must be positive, got {image_size!r}")
    return size


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


class ImageTransform:
    """PIL image -> normalised float tensor, with optional light augmentation.

    The same object serves training (``augment=True``) and prediction
    (``augment=False``), so a model sees identical preprocessing in both.

    Parameters
    ----------
    image_size : int or (int, int)
        Output size, square or ``(height, width)``.
    augment : bool, default=False
        Random resized crop (area 0.8-1 of the image, aspect 3/4-4/3), random
        horizontal flip, brightness and contrast jitter (factors 0.8-1.2). All
        randomness comes from torch's global RNG, so ``torch.manual_seed`` makes
        it reproducible (DataLoader workers are seeded by torch).
    normalize : bool, default=True
        Subtract the ImageNet mean and divide by its std, per channel; else the
        tensor holds pixel values in [0, 1].
    mean, std : sequence of 3 floats, optional
        Normalisation constants (default ImageNet's).

    Examples
    --------
    >>> from PIL import Image
    >>> ImageTransform(64)(Image.new("L", (100, 80))).shape
    torch.Size([3, 64, 64])
    """

    def __init__(
        self,
        image_size: int | Sequence[int] = 112,
        *,
        augment: bool = False,
        normalize: bool = True,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        self.size = _size_pair(image_size)
        self.augment = bool(augment)
        self.normalize = bool(normalize)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise DataValidationError("mean and std must hold 3 values, std positive")
        self._mean = np.array(self.mean, dtype=np.float32).reshape(3, 1, 1)
        self._std = np.array(self.std, dtype=np.float32).reshape(3, 1, 1)

    def __repr__(self) -> str:
        return (
            f"ImageTransform(image_size={self.size}, augment={self.augment}, "
            f"normalize={self.normalize})"
        )

    def _crop_box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """A random crop box (left, top, right, bottom), torchvision's algorithm."""
        area = width * height
        log_ratio = (math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
        for _ in range(10):
            target = area * _uniform(*CROP_SCALE)
            aspect = math.exp(_uniform(*log_ratio))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, ()))
                left = int(torch.randint(0, width - w + 1, ()))
                return (left, top, left + w, top + h)
        return (0, 0, width, height)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Transform one PIL image to a float32 tensor of shape ``(3, height, width)``."""
        if not isinstance(image, Image.Image):
            raise DataValidationError(
                f"ImageTransform expects a PIL image, got {type(image).__name__}"
            )
        image = to_rgb(image)
        height, width = self.size
        box = self._crop_box(*image.size) if self.augment else None
        image = image.resize((width, height), Image.Resampling.BILINEAR, box=box)
        # Per-image arithmetic in numpy: torch's intra-op thread pool costs more than
        # the work on tensors this small (10x slower on a busy 2-core machine).
        x = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) * np.float32(1 / 255)
        if self.augment:
            if float(torch.rand(())) < 0.5:
                x = x[:, :, ::-1]
            x = np.clip(x * np.float32(_uniform(*BRIGHTNESS)), 0.0, 1.0)
            gray_mean = np.float32((x * _GRAY_WEIGHTS).sum(0).mean())
            contrast = np.float32(_uniform(*CONTRAST))
            x = np.clip((x - gray_mean) * contrast + gray_mean, 0.0, 1.0)
        if self.normalize:
            x = (x - self._mean) / self._std
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
