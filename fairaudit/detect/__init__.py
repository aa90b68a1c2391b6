"""Face detection and FairFace-style face crops.

:func:`detect_faces` finds every face in an image (a file, a PIL image or an RGB
array) and returns each with its box and a crop with a margin like FairFace's
("padding 0.25"), largest first; no face is an empty list. The default detector
is OpenCV's frontal-face Haar cascade (:class:`HaarCascadeDetector`, optional extra
``detect``: ``pip install "fairaudit[detect]"``); any object with a
``detect(rgb_array) -> list[Box]`` method (:class:`FaceDetector`) can replace it.
"""

from fairaudit.detect._box import Box, DetectedFace, expand_box
from fairaudit.detect._detect import BORDER_MODES, FaceDetector, detect_faces
from fairaudit.detect._haar import DEFAULT_CASCADE, HaarCascadeDetector, default_cascade_path

__all__ = [
    "BORDER_MODES",
    "DEFAULT_CASCADE",
    "Box",
    "DetectedFace",
    "FaceDetector",
    "HaarCascadeDetector",
    "default_cascade_path",
    "detect_faces",
    "expand_box",
]
