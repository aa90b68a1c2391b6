"""Reading images as RGB (torch-free, shared by datasets, inference and detection)."""

from __future__ import annotations

import os

from PIL import Image, ImageOps

__all__ = ["load_rgb", "to_rgb"]


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL image (grayscale, RGBA, palette, CMYK...) to RGB.

    Transparency is dropped (the colour values are kept).
    """
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
    return image.convert("RGB")


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Open an image file as a decoded RGB PIL image, upright per its EXIF orientation.

    Raises the errors of :func:`PIL.Image.open` / ``load`` for unreadable files.
    """
    with Image.open(path) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        return to_rgb(upright).copy() if upright is image else to_rgb(upright)
