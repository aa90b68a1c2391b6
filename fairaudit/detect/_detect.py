"""Find the faces in an image and crop them with a FairFace-style margin."""

from __future__ import annotations

import functools
import io
import os
from typing import Literal

import numpy as np
from PIL import Image

from fairaudit._images import load_rgb, to_rgb
from fairaudit.detect._box import Box, DetectedFace, expand_box
from fairaudit.detect._choice import best_detector_name, make_detector
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.exceptions import ConfigurationError, DataValidationError

__all__ = [
    "BORDER_MODES",
    "ImageInput",
    "default_detector",
    "detect_faces",
    "read_image",
]

#: What fills a crop box where it reaches beyond the image (see :func:`detect_faces`).
BORDER_MODES: tuple[str, ...] = ("pad", "clip")

#: What :func:`detect_faces` reads: a file path, a PIL image, an RGB array or encoded bytes.
ImageInput = str | os.PathLike[str] | Image.Image | np.ndarray | bytes | bytearray | memoryview


@functools.lru_cache(maxsize=1)
def default_detector() -> FaceDetector:
    """The detector used when none is given: the best installed, for photos, aligned.

    ``dlib-cnn`` (:meth:`DlibDetector.for_photos`, FairFace's aligned chips) when
    dlib and its model files are installed, else the Haar cascade's photo preset
    (:meth:`HaarCascadeDetector.for_photos`); see
    :func:`~fairaudit.detect.best_detector_name`. One shared instance (built on
    first use; needs the extra ``detect``). Used by :func:`detect_faces`,
    :meth:`fairaudit.inference.Predictor.predict_photo`,
    ``Predictor.run(..., detect=True)`` and :func:`detect_dataset`.

    Returns
    -------
    FaceDetector

    Raises
    ------
    MissingDependencyError
        Neither OpenCV nor dlib is installed, or a dlib model file is corrupt.
    """
    return make_detector(best_detector_name(), preset="photos", align=True)


def _name(image: object) -> str:
    filename = getattr(image, "filename", "")
    return f"image {filename}" if filename else f"the {type(image).__name__} image"


def read_image(image: ImageInput) -> Image.Image:
    """Read any image input of :func:`detect_faces` as a decoded RGB PIL image.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, numpy.ndarray or bytes
        See :func:`detect_faces`.

    Returns
    -------
    PIL.Image.Image
        RGB, upright per the EXIF orientation of a file or of encoded bytes.

    Raises
    ------
    DataValidationError
        The image cannot be read (missing file, folder, not an image, truncated
        or corrupt data, a non-uint8 or wrongly shaped array), naming it.
    """
    return _read_image(image)[0]


def _read_image(image: ImageInput) -> tuple[Image.Image, str]:
    """The image as an RGB PIL image, and how to name it in errors."""
    if isinstance(image, str | os.PathLike):
        path = os.fspath(image)
        if not os.path.exists(path):
            raise DataValidationError(f"image file not found: {path}")
        if os.path.isdir(path):
            raise DataValidationError(f"not an image file but a folder: {path}")
        try:
            return load_rgb(path), f"image file {path}"
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... by format
            raise DataValidationError(
                f"cannot read image file {path}: {type(exc).__name__}: {exc}"
            ) from exc
    if isinstance(image, Image.Image):
        name = _name(image)
        try:
            image.load()
            return to_rgb(image), name
        except Exception as exc:
            raise DataValidationError(f"cannot decode {name}: {type(exc).__name__}: {exc}") from exc
    if isinstance(image, np.ndarray):
        return _array_to_pil(image), f"the array image of shape {image.shape}"
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
        name = f"the image bytes ({len(data)} bytes)"
        if not data:
            raise DataValidationError(f"cannot read {name}: no data")
        try:
            return load_rgb(io.BytesIO(data)), name
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... by format
            raise DataValidationError(f"cannot read {name}: {type(exc).__name__}: {exc}") from exc
    raise DataValidationError(
        "detect_faces needs an image file path, a PIL image, an RGB uint8 array or the "
        f"bytes of an encoded image, got {type(image).__name__}"
    )


def _array_to_pil(array: np.ndarray) -> Image.Image:
    if array.dtype != np.uint8:
        raise DataValidationError(
            f"an image array must be uint8 (0-255), got {array.dtype}; convert it, "
            "e.g. (array * 255).round().astype(np.uint8) for values in [0, 1]"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]  # RGBA: drop alpha, as to_rgb does
    if array.ndim != 3 or array.shape[2] != 3:
        raise DataValidationError(
            "an image array must have shape (height, width, 3) RGB, (height, width, 4) RGBA "
            f"or (height, width) grayscale, got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataValidationError(f"the image array is empty (shape {array.shape})")
    return Image.fromarray(np.ascontiguousarray(array))


def _checked_boxes(
    detector: FaceDetector, pixels: np.ndarray, source: str
) -> list[tuple[Box, float | None]]:
    with_scores = getattr(detector, "detect_with_scores", None)
    found = with_scores(pixels) if callable(with_scores) else detector.detect(pixels)
    height, width = pixels.shape[:2]
    whole = Box(0, 0, width, height)
    detections: list[tuple[Box, float | None]] = []
    for item in found:
        box, score = item if callable(with_scores) else (item, None)
        if not isinstance(box, Box):
            raise ConfigurationError(
                f"{type(detector).__name__} returned {item!r} for {source}; a detector "
                "must return fairaudit.detect.Box objects"
            )
        if box.intersection(whole) is None:
            raise ConfigurationError(
                f"{type(detector).__name__} returned {box} for {source}, which lies outside "
                f"the {width}x{height} image"
            )
        detections.append((box, None if score is None else float(score)))
    return detections


def detect_faces(
    image: ImageInput,
    *,
    detector: FaceDetector | None = None,
    margin: float = 0.25,
    square: bool = True,
    border: Literal["pad", "clip"] = "pad",
    align: bool | None = None,
) -> list[DetectedFace]:
    """Find every face in an image and crop each with a margin, largest first.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, numpy.ndarray or bytes
        An image file or the bytes of an encoded image (JPEG, PNG...; both
        turned upright per their EXIF orientation), a PIL image (used as is),
        or a ``uint8`` array: ``(height, width, 3)`` RGB, ``(height, width, 4)``
        RGBA or ``(height, width)`` grayscale.
        Grayscale, RGBA, palette and other modes are converted to RGB.
    detector : FaceDetector, optional
        Any object with ``detect(rgb_array) -> list[Box]``; default
        :func:`default_detector` (the best installed: dlib's CNN with aligned
        chips, else the Haar cascade's preset for photos; needs the extra ``detect``).
    margin : float, default=0.25
        Each side of a face box moves out by ``margin`` times the box's width
        or height, as in FairFace's "padding 0.25" crops (see :func:`expand_box`).
    square : bool, default=True
        Make the crop box square around the face centre (the longer side wins).
    border : {"pad", "clip"}, default="pad"
        Where a crop box reaches past the image: ``"pad"`` keeps the whole box
        (which may then have negative or too large coordinates) and fills the
        outside with black, as FairFace's dlib crops did, so the face keeps its
        size and position in the crop; ``"clip"`` shrinks the box to the image,
        so the crop holds image pixels only and may be smaller or not square.
    align : bool, optional
        Crop each face as the detector's aligned chip (a detector with a
        ``face_chips(image, boxes)`` method, such as
        :class:`~fairaudit.detect.DlibDetector`: 5-point landmarks and dlib's
        ``get_face_chips`` with padding 0.25, FairFace's own pipeline); then
        ``margin``, ``square`` and ``border`` do not apply, ``crop`` is the
        chip and ``crop_box`` the chip's region before its rotation. Default:
        align when the detector offers chips; ``False`` always crops the
        axis-aligned margin; ``True`` with a detector without chips is an error.

    Returns
    -------
    list of DetectedFace
        Largest box first (ties: top to bottom, then left to right). Empty when
        no face is found: that is a normal result, not an error.

    Raises
    ------
    DataValidationError
        The image cannot be read (missing file, not an image, truncated or
        corrupt), naming the file, or an array is not an image.
    ConfigurationError
        An option is out of range, or the detector returns something other than
        boxes overlapping the image.
    MissingDependencyError
        The default detector is used and OpenCV is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> detect_faces(np.zeros((64, 64, 3), dtype=np.uint8))
    []
    """
    if border not in BORDER_MODES:
        raise ConfigurationError(f"border must be one of {BORDER_MODES}, got {border!r}")
    if not isinstance(square, bool):
        raise ConfigurationError(f"square must be True or False, got {square!r}")
    if align is not None and not isinstance(align, bool):
        raise ConfigurationError(f"align must be True, False or None, got {align!r}")
    expand_box(Box(0, 0, 1, 1), margin=margin)  # validates margin before any work
    if detector is None:
        detector = default_detector()
    elif not callable(getattr(detector, "detect", None)):
        raise ConfigurationError(
            f"detector must have a detect(image) method (the FaceDetector interface), "
            f"got {type(detector).__name__}"
        )
    picture, source = _read_image(image)
    pixels = np.asarray(picture, dtype=np.uint8)
    if pixels.flags.writeable:
        pixels = pixels.view()
        pixels.flags.writeable = False  # a detector must not alter the image it crops from
    whole = Box(0, 0, picture.width, picture.height)
    detections = _checked_boxes(detector, pixels, source)
    detections.sort(key=lambda d: (-d[0].area, d[0].y, d[0].x, d[0].width, d[0].height))
    chips = getattr(detector, "face_chips", None)
    offers_chips = callable(chips) and getattr(detector, "align", True) is not False
    if align and not offers_chips:
        raise ConfigurationError(
            f"align=True needs a detector with aligned chips (face_chips), such as "
            f"DlibDetector; {type(detector).__name__} has none"
        )
    if offers_chips and align is not False and detections:
        assert chips is not None
        aligned = chips(pixels, [box for box, _ in detections])
        return [
            DetectedFace(box=box, crop=chip, crop_box=region, score=score, aligned=True)
            for (box, score), (chip, region) in zip(detections, aligned, strict=True)
        ]
    faces = []
    for box, score in detections:
        crop_box = expand_box(box, margin=margin, square=square)
        if border == "clip":
            clipped = crop_box.intersection(whole)
            assert clipped is not None  # the face box overlaps the image, so does its crop box
            crop_box = clipped
        faces.append(
            DetectedFace(
                box=box, crop=picture.crop(crop_box.as_xyxy()), crop_box=crop_box, score=score
            )
        )
    return faces
