"""Face detection and FairFace-style face crops.

:func:`detect_faces` finds every face in an image (a file, a PIL image or an RGB
array) and returns each with its box and a crop with a margin like FairFace's
("padding 0.25"), largest first; no face is an empty list. The default detector
(:func:`default_detector`, optional extra ``detect``: ``pip install
"fairaudit-faces[detect]"``) is the best installed: dlib's CNN with FairFace's aligned
chips, else OpenCV's frontal-face Haar cascade (:class:`HaarCascadeDetector`); any
object with a ``detect(rgb_array) -> list[Box]`` method (:class:`FaceDetector`)
can replace it.

:func:`detect_dataset` runs a detector over a folder or a labelled set, one row
per image, for the detector audit (:func:`fairaudit.model_audit.audit_detection`).

dlib's detectors (:class:`DlibDetector`: ``dlib-hog`` and ``dlib-cnn``, the MMOD
CNN the FairFace authors used) come with the same extra and crop each face as a
FairFace-style aligned chip (5-point landmarks, padding 0.25). Pick one by name
with :func:`make_detector`; :func:`best_detector_name` is the best installed.
"""

from fairaudit.detect._box import Box, DetectedFace
from fairaudit.detect._choice import available_detectors, make_detector
from fairaudit.detect._dataset import detect_dataset
from fairaudit.detect._detect import default_detector, detect_faces
from fairaudit.detect._dlib import DlibDetector
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.detect._haar import HaarCascadeDetector

__all__ = [
    "Box",
    "DetectedFace",
    "DlibDetector",
    "FaceDetector",
    "HaarCascadeDetector",
    "available_detectors",
    "default_detector",
    "detect_dataset",
    "detect_faces",
    "make_detector",
]
