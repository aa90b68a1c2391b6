"""The default face detector: OpenCV's frontal-face Haar cascade (optional extra ``detect``)."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np

from fairaudit.detect._box import Box
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError

__all__ = ["DEFAULT_CASCADE", "HaarCascadeDetector", "default_cascade_path"]

#: File name of the cascade used by default, shipped inside opencv-python(-headless) 4.x.
DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


def _require_cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError(
            "face detection needs OpenCV (the package opencv-python-headless<5), which "
            'is not installed: pip install "fairaudit-faces[detect]"'
        ) from None
    return cv2


def default_cascade_path() -> Path:
    """Path of OpenCV's frontal-face Haar cascade shipped inside the cv2 package.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    MissingDependencyError
        OpenCV is not installed, or its installation ships no cascade files
        (OpenCV 5 dropped them; fairaudit needs ``opencv-python-headless<5``).
    """
    cv2 = _require_cv2()
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder, DEFAULT_CASCADE) if folder else None
    if path is None or not path.is_file():
        where = f"not at {path}" if path is not None else "cv2.data.haarcascades is absent"
        raise MissingDependencyError(
            f"OpenCV {getattr(cv2, '__version__', '?')} ships no Haar cascade {DEFAULT_CASCADE} "
            f"({where}); OpenCV 5 dropped the cascades: "
            'pip install "opencv-python-headless<5" (or "fairaudit-faces[detect]"), '
            "or pass cascade_path= to HaarCascadeDetector"
        )
    return path


def _min_size_pair(min_size: object) -> tuple[int, int]:
    if (
        isinstance(min_size, Sequence)
        and not isinstance(min_size, str)
        and len(min_size) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in min_size)
    ):
        return (int(min_size[0]), int(min_size[1]))
    raise ConfigurationError(
        f"min_size must be a (width, height) pair of positive ints, got {min_size!r}"
    )


class HaarCascadeDetector:
    """Frontal-face detector using an OpenCV Haar cascade (Viola-Jones).

    Needs the optional extra ``detect`` (``opencv-python-headless<5``), imported
    when the detector is built. Detection runs on the grayscale image and is
    deterministic. One detector may be shared by several threads (searches are
    serialised by a lock) and pickled to worker processes. Works best on upright,
    roughly frontal faces; it misses many profiles and tilted heads.

    Parameters
    ----------
    scale_factor : float, default=1.1
        Ratio between successive scales of the search window (> 1); smaller
        finds more faces, more slowly.
    min_neighbors : int, default=5
        Raw detections that must overlap for a box to be kept (>= 0); smaller
        finds more faces and more false ones.
    min_size : (int, int), default=(30, 30)
        Smallest face ``(width, height)`` searched for, in pixels of the image.
    cascade_path : str or path-like, optional
        A cascade XML file; default OpenCV's ``haarcascade_frontalface_default.xml``
        (see :func:`default_cascade_path`).
    image_padding : float, default=0.0
        Pad the image with black by this fraction of its width (left, right) and
        height (top, bottom) before searching, so that a face filling the frame
        (a tight crop, like FairFace's 224 px images) fits in the search window.
        Boxes are mapped back to image coordinates and may then reach past the
        image border.
    max_side : int, optional
        Shrink an image whose longer side exceeds this many pixels to that size
        (area interpolation) before searching, and map the boxes back. It bounds
        the time spent on large photos (a 12-megapixel phone photo) and the
        false detections among the many small windows of a high-resolution image;
        faces smaller than ``min_size`` in the shrunk image are not found.
        Default: the image is searched at its own size.
    min_face_fraction : float, optional
        Smallest face searched for as a fraction of the image's shorter side
        (before padding, after ``max_side``), in (0, 1]; the larger of this and
        ``min_size`` applies. Suits crops of any size where the face fills most
        of the frame. Default: ``min_size`` alone.

    Raises
    ------
    MissingDependencyError
        OpenCV, or its default cascade, is missing.
    ConfigurationError
        An option is out of range, or ``cascade_path`` is not a loadable cascade.

    Notes
    -----
    Two presets: :meth:`for_photos` (ordinary photos, the default of
    :func:`~fairaudit.detect.detect_faces` and
    :meth:`fairaudit.inference.Predictor.predict_photo`) and :meth:`for_face_crops`
    (tight face crops such as FairFace's 224x224 images, where faces are 130-200
    pixels wide and often touch the border: padding, a smallest face of 100/224
    of the image and a finer, more permissive search find a face in far more of
    them than the defaults; see ``docs/detection.md``).

    Examples
    --------
    >>> import numpy as np
    >>> HaarCascadeDetector().detect(np.zeros((64, 64, 3), dtype=np.uint8))
    []
    """

    def __init__(
        self,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (30, 30),
        cascade_path: str | os.PathLike[str] | None = None,
        image_padding: float = 0.0,
        max_side: int | None = None,
        min_face_fraction: float | None = None,
    ) -> None:
        if (
            isinstance(scale_factor, bool)
            or not isinstance(scale_factor, Real)
            or not math.isfinite(scale_factor)
            or scale_factor <= 1
        ):
            raise ConfigurationError(f"scale_factor must be a number > 1, got {scale_factor!r}")
        if isinstance(min_neighbors, bool) or not isinstance(min_neighbors, Integral):
            raise ConfigurationError(f"min_neighbors must be an int >= 0, got {min_neighbors!r}")
        if min_neighbors < 0:
            raise ConfigurationError(f"min_neighbors must be an int >= 0, got {min_neighbors!r}")
        if (
            isinstance(image_padding, bool)
            or not isinstance(image_padding, Real)
            or not math.isfinite(image_padding)
            or image_padding < 0
        ):
            raise ConfigurationError(
                f"image_padding must be a finite number >= 0, got {image_padding!r}"
            )
        if max_side is not None and (
            isinstance(max_side, bool) or not isinstance(max_side, Integral) or max_side < 1
        ):
            raise ConfigurationError(f"max_side must be a positive int or None, got {max_side!r}")
        if min_face_fraction is not None and (
            isinstance(min_face_fraction, bool)
            or not isinstance(min_face_fraction, Real)
            or not 0 < min_face_fraction <= 1
        ):
            raise ConfigurationError(
                f"min_face_fraction must be a number in (0, 1] or None, got {min_face_fraction!r}"
            )
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = _min_size_pair(min_size)
        self.image_padding = float(image_padding)
        self.max_side = None if max_side is None else int(max_side)
        self.min_face_fraction = None if min_face_fraction is None else float(min_face_fraction)
        self.cascade_path = (
            default_cascade_path() if cascade_path is None else Path(os.fspath(cascade_path))
        )
        self._classifier = self._load(self.cascade_path)
        # OpenCV does not promise that one CascadeClassifier may search from several
        # threads at once (a web app serving concurrent uploads shares one detector)
        self._lock = threading.Lock()

    @classmethod
    def for_photos(cls, **options: Any) -> HaarCascadeDetector:
        """The preset for ordinary photos (any size, faces anywhere, close-ups included).

        ``image_padding=0.25`` (a face filling a close-up still fits the search
        window), ``max_side=1024`` (bounded time, fewer false detections on large
        photos) and OpenCV's usual ``scale_factor=1.1, min_neighbors=5,
        min_size=(30, 30)`` (the stricter ``min_neighbors`` keeps false faces out
        of textured backgrounds). ``options`` override any of them.

        Returns
        -------
        HaarCascadeDetector
        """
        settings: dict[str, Any] = {"image_padding": 0.25, "max_side": 1024}
        return cls(**(settings | options))

    @classmethod
    def for_face_crops(cls, **options: Any) -> HaarCascadeDetector:
        """The preset for tight face crops (FairFace's 224x224 images, UTKFace's).

        ``image_padding=0.25, min_face_fraction=100/224, scale_factor=1.05,
        min_neighbors=3`` (on a 224 px crop: faces of at least 100 px): the face
        fills most of the image, so small windows can only be false detections
        and skipping them is also what makes this preset fast. Too eager for
        ordinary photos (textures become faces) and blind to small faces.

        Parameters
        ----------
        **options
            Override any setting.

        Returns
        -------
        HaarCascadeDetector
        """
        settings: dict[str, Any] = {
            "image_padding": 0.25,
            "min_face_fraction": 100 / 224,
            "scale_factor": 1.05,
            "min_neighbors": 3,
        }
        return cls(**(settings | options))

    @staticmethod
    def _load(path: Path) -> Any:
        cv2 = _require_cv2()
        if not path.is_file():
            raise ConfigurationError(f"cascade file not found: {path}")
        classifier = cv2.CascadeClassifier()
        try:
            loaded = classifier.load(str(path))
        except (cv2.error, SystemError) as exc:
            raise ConfigurationError(
                f"cannot load the cascade file {path}: {str(exc).strip() or type(exc).__name__}"
            ) from None
        if not loaded or classifier.empty():
            raise ConfigurationError(
                f"cannot load the cascade file {path}: not an OpenCV cascade XML file"
            )
        return classifier

    def __repr__(self) -> str:
        return (
            f"HaarCascadeDetector(scale_factor={self.scale_factor}, "
            f"min_neighbors={self.min_neighbors}, min_size={self.min_size}, "
            f"cascade_path={str(self.cascade_path)!r}, image_padding={self.image_padding}, "
            f"max_side={self.max_side}, min_face_fraction={self.min_face_fraction})"
        )

    def __getstate__(self) -> dict[str, Any]:
        # cv2.CascadeClassifier cannot be pickled (DataLoader workers, joblib): reload it.
        state = self.__dict__.copy()
        del state["_classifier"], state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._classifier = self._load(self.cascade_path)
        self._lock = threading.Lock()

    def detect_with_scores(self, image: np.ndarray) -> list[tuple[Box, float]]:
        """Face boxes and their scores, in OpenCV's order.

        Parameters
        ----------
        image : numpy.ndarray
            RGB image, ``uint8`` of shape ``(height, width, 3)``.

        Returns
        -------
        list of (Box, float)
            Each box with the number of raw detections merged into it (higher
            is surer; at least ``min_neighbors + 1``).
        """
        cv2 = _require_cv2()
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.ndim != 3
            or image.shape[2] != 3
        ):
            shape = getattr(image, "shape", None)
            dtype = getattr(image, "dtype", type(image).__name__)
            raise DataValidationError(
                f"HaarCascadeDetector needs an RGB uint8 array of shape (height, width, 3), "
                f"got {dtype} of shape {shape}"
            )
        gray = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        scale = 1.0
        longest = max(gray.shape)
        if self.max_side is not None and longest > self.max_side:
            scale = self.max_side / longest
            size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_size = self.min_size
        if self.min_face_fraction is not None:
            smallest = max(1, round(self.min_face_fraction * min(gray.shape)))
            min_size = (max(min_size[0], smallest), max(min_size[1], smallest))
        pad_x = pad_y = 0
        if self.image_padding > 0:
            pad_x = round(self.image_padding * gray.shape[1])
            pad_y = round(self.image_padding * gray.shape[0])
            gray = cv2.copyMakeBorder(
                gray, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0
            )
        with self._lock:
            rects, neighbours = self._classifier.detectMultiScale2(
                gray,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=min_size,
            )
        found = []
        for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.ravel(neighbours)):
            left, top = (int(x) - pad_x) / scale, (int(y) - pad_y) / scale
            right, bottom = left + int(w) / scale, top + int(h) / scale
            box = Box(
                round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top))
            )
            found.append((box, float(n)))
        return found

    def detect(self, image: np.ndarray) -> list[Box]:
        """Face boxes in an RGB image (the :class:`FaceDetector` interface).

        Parameters
        ----------
        image : numpy.ndarray
            RGB image, ``uint8`` of shape ``(height, width, 3)``.

        Returns
        -------
        list of Box
        """
        return [box for box, _ in self.detect_with_scores(image)]
