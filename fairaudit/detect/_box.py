"""Face boxes, detected faces and the FairFace-style margin around a box."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

from PIL import Image

from fairaudit.exceptions import ConfigurationError, DataValidationError

__all__ = ["Box", "DetectedFace", "expand_box"]


def _as_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise DataValidationError(
            f"Box.{name} must be an integer number of pixels, got {value!r} "
            f"({type(value).__name__}); round detector coordinates before building a Box"
        )
    return int(value)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixel coordinates of an image.

    Pixels ``x <= column < x + width`` and ``y <= row < y + height``. A box may
    reach beyond the image (negative ``x``/``y``, or ``right``/``bottom`` past its
    size), e.g. the padded crop box of a face near the border.

    Parameters
    ----------
    x, y : int
        Column and row of the top-left pixel.
    width, height : int
        Size in pixels, both >= 1.

    Examples
    --------
    >>> box = Box(10, 20, 30, 40)
    >>> box.area, box.right, box.bottom, box.center
    (1200, 40, 60, (25.0, 40.0))
    """

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            object.__setattr__(self, name, _as_int(name, getattr(self, name)))
        if self.width < 1 or self.height < 1:
            raise DataValidationError(
                f"Box width and height must be >= 1 pixel, got {self.width}x{self.height}"
            )

    @property
    def area(self) -> int:
        """Area in pixels (``width * height``)."""
        return self.width * self.height

    @property
    def right(self) -> int:
        """One past the last column (``x + width``)."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row (``y + height``)."""
        return self.y + self.height

    @property
    def center(self) -> tuple[float, float]:
        """Centre ``(x, y)`` in pixel coordinates."""
        return (self.x + self.width / 2, self.y + self.height / 2)

    def as_xyxy(self) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)``, the box format of :meth:`PIL.Image.Image.crop`."""
        return (self.x, self.y, self.right, self.bottom)

    def intersection(self, other: Box) -> Box | None:
        """The overlap of two boxes, or None when they do not overlap."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        if right <= left or bottom <= top:
            return None
        return Box(left, top, right - left, bottom - top)

    def iou(self, other: Box) -> float:
        """Intersection over union with another box, in [0, 1]."""
        overlap = self.intersection(other)
        if overlap is None:
            return 0.0
        return overlap.area / (self.area + other.area - overlap.area)


@dataclass(frozen=True)
class DetectedFace:
    """One face found in an image.

    Attributes
    ----------
    box : Box
        The detector's face box, in image coordinates.
    crop : PIL.Image.Image
        The RGB face crop: the pixels of :attr:`crop_box` (see
        :func:`~fairaudit.detect.detect_faces` for what fills the area outside
        the image), or the aligned chip when :attr:`aligned`.
    crop_box : Box
        The box with its margin, in image coordinates; ``crop.size`` is
        ``(crop_box.width, crop_box.height)`` unless :attr:`aligned`.
    score : float or None
        The detector's confidence, higher is surer; its scale depends on the
        detector (for :class:`~fairaudit.detect.HaarCascadeDetector`, the number
        of raw detections merged into the box). None when the detector gives none.
    aligned : bool
        Whether :attr:`crop` is an aligned chip (rotated upright on the eyes and
        resized, e.g. :meth:`~fairaudit.detect.DlibDetector.face_chips`); then
        :attr:`crop_box` is the chip's region before the rotation and ``crop.size``
        the chip's size.
    """

    box: Box
    crop: Image.Image
    crop_box: Box
    score: float | None = None
    aligned: bool = False


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def expand_box(box: Box, *, margin: float = 0.25, square: bool = True) -> Box:
    """Enlarge a face box by a margin on every side, FairFace style.

    Each side moves out by ``margin`` times the box's width (left, right) or
    height (top, bottom), so the box grows to ``(1 + 2 * margin)`` times its size
    around the same centre; FairFace's crops used dlib with padding 0.25. With
    ``square`` the shorter side is then widened to the longer one, still centred.
    Sizes are rounded half up to whole pixels first, then the top-left corner, so
    a square box stays square. The result is not clipped to any image.

    Parameters
    ----------
    box : Box
        The face box.
    margin : float, default=0.25
        Fraction of the box size added on each side (0 keeps the box size).
    square : bool, default=True
        Make the result square.

    Returns
    -------
    Box

    Examples
    --------
    >>> expand_box(Box(100, 50, 40, 60), margin=0.25)
    Box(x=75, y=35, width=90, height=90)
    >>> expand_box(Box(100, 50, 40, 60), margin=0.25, square=False)
    Box(x=90, y=35, width=60, height=90)
    """
    if not isinstance(box, Box):
        raise DataValidationError(f"expand_box needs a Box, got {type(box).__name__}")
    if (
        isinstance(margin, bool)
        or not isinstance(margin, Real)
        or not math.isfinite(margin)
        or margin < 0
    ):
        raise ConfigurationError(f"margin must be a finite number >= 0, got {margin!r}")
    width = box.width * (1 + 2 * float(margin))
    height = box.height * (1 + 2 * float(margin))
    if square:
        width = height = max(width, height)
    new_width = max(1, _round_half_up(width))
    new_height = max(1, _round_half_up(height))
    cx, cy = box.center
    return Box(
        _round_half_up(cx - new_width / 2),
        _round_half_up(cy - new_height / 2),
        new_width,
        new_height,
    )
