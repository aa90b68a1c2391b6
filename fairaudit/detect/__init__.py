"""Face detection and FairFace-style face crops.

:func:`detect_faces` finds every face in an image (a file, a PIL image or an RGB
array) and returns each with its box and a crop with a margin like FairFace's
("padding 0.25"), largest first; no face is an empty list. The default detector
is OpenCV's frontal-face Haar cascade (:class:`HaarCascadeDetector`, optional extra
``detect``: ``pip install "fairaudit[detect]"``); any object with a
``detect(rgb_array) -> list[Box]`` method (:class:`FaceDetector`) can replace it.

:func:`detect_dataset` runs a detector over a folder or a labelled set, one row
per image, for the detector audit (:func:`fairaudit.metrics.audit_detection`).
"""

from fairaudit.detect._box import Box, DetectedFace, expand_box
from fairaudit.detect._dataset import (
    DETECTION_STATUSES,
    DetectionRun,
    DetectionSummary,
    detect_dataset,
)
from fairaudit.detect._detect import (
    BORDER_MODES,
    FaceDetector,
    ImageInput,
    default_detector,
    detect_faces,
    read_image,
)
from fairaudit.detect._haar import DEFAULT_CASCADE, HaarCascadeDetector, default_cascade_path

__all__ = [
    "BORDER_MODES",
    "DEFAULT_CASCADE",
    "DETECTION_STATUSES",
    "Box",
    "DetectedFace",
    "DetectionRun",
    "DetectionSummary",
    "FaceDetector",
    "HaarCascadeDetector",
    "ImageInput",
    "default_cascade_path",
    "default_detector",
    "detect_dataset",
    "detect_faces",
    "expand_box",
    "read_image",
]
