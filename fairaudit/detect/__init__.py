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

from fairaudit.detect._box import Box, DetectedFace, expand_box
from fairaudit.detect._choice import (
    DETECTOR_NAMES,
    DETECTOR_PRESETS,
    available_detectors,
    best_detector_name,
    make_detector,
)
from fairaudit.detect._dataset import (
    DETECTION_STATUSES,
    DetectionRun,
    DetectionSummary,
    detect_dataset,
)
from fairaudit.detect._descriptor import DESCRIPTOR_SIZE, DlibFaceDescriptor
from fairaudit.detect._detect import (
    BORDER_MODES,
    ImageInput,
    default_detector,
    detect_faces,
    read_image,
)
from fairaudit.detect._dlib import (
    DLIB_KINDS,
    DLIB_MODEL_FILES,
    MODELS_ENV,
    DlibDetector,
    dlib_available,
    dlib_model_path,
)
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.detect._haar import DEFAULT_CASCADE, HaarCascadeDetector, default_cascade_path

__all__ = [
    "DESCRIPTOR_SIZE",
    "DlibFaceDescriptor",
    "BORDER_MODES",
    "DEFAULT_CASCADE",
    "DETECTION_STATUSES",
    "DETECTOR_NAMES",
    "DETECTOR_PRESETS",
    "DLIB_KINDS",
    "DLIB_MODEL_FILES",
    "MODELS_ENV",
    "Box",
    "DetectedFace",
    "DetectionRun",
    "DetectionSummary",
    "DlibDetector",
    "FaceDetector",
    "HaarCascadeDetector",
    "ImageInput",
    "available_detectors",
    "best_detector_name",
    "default_cascade_path",
    "default_detector",
    "detect_dataset",
    "detect_faces",
    "dlib_available",
    "dlib_model_path",
    "expand_box",
    "make_detector",
    "read_image",
]
