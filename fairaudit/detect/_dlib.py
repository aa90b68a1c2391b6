"""dlib face detectors (HOG and CNN/MMOD) and FairFace-style aligned face chips.

The FairFace authors found faces with dlib's CNN (MMOD) detector, placed five
landmarks with dlib's 5-point shape predictor and cut each face with
``dlib.get_face_chips(image, shapes, size, padding=0.25)``: an upright, aligned,
padded chip. That pipeline made the images FairFace-trained models expect.

Needs the extra ``detect``: ``dlib-bin`` (prebuilt dlib wheels) and
``face-recognition-models`` (dlib's model files, public domain / CC0). Nothing is
ever downloaded: the model files are found in the installed
``face_recognition_models`` package, or in the folder named by the environment
variable :data:`MODELS_ENV` (or ``model_folder=``), and verified by sha256.
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fairaudit._io import sha256_file
from fairaudit.detect._box import Box
from fairaudit.exceptions import ConfigurationError, DataValidationError, MissingDependencyError

__all__ = [
    "DLIB_KINDS",
    "DLIB_MODEL_FILES",
    "MODELS_ENV",
    "DlibDetector",
    "dlib_available",
    "dlib_model_path",
]

#: The two dlib detectors: ``"hog"`` (HOG + linear SVM, fast) and ``"cnn"`` (MMOD CNN).
DLIB_KINDS: tuple[str, ...] = ("hog", "cnn")

#: Environment variable naming a folder that holds the dlib model files.
MODELS_ENV = "FAIRAUDIT_DLIB_MODELS"

#: The model files used, with their sha256 (as shipped in face-recognition-models 0.3.0,
#: byte-identical to github.com/davisking/dlib-models; CC0 1.0 / public domain).
DLIB_MODEL_FILES: Mapping[str, str] = {
    "mmod_human_face_detector.dat": (
        "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"
    ),
    "shape_predictor_5_face_landmarks.dat": (
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
    ),
    "dlib_face_recognition_resnet_model_v1.dat": (
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
    ),
    # 68 landmarks: the skin regions of fairaudit.attributes (cheeks, forehead)
    "shape_predictor_68_face_landmarks.dat": (
        "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"
    ),
}

_INSTALL = (
    'pip install "fairaudit-faces[detect]" (the packages dlib-bin and face-recognition-models)'
)
_VERIFIED: dict[tuple[str, int, int], bool] = {}
_VERIFIED_LOCK = threading.Lock()


def _require_dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError(
            f"the dlib face detectors need dlib, which is not installed: {_INSTALL}"
        ) from None
    return dlib


def dlib_available() -> bool:
    """Whether dlib and its model files are installed (no file is read or verified)."""
    if importlib.util.find_spec("dlib") is None:
        return False
    try:
        folder = _models_folder(None)
    except MissingDependencyError:
        return False
    return all((folder / name).is_file() for name in DLIB_MODEL_FILES)


def _package_folder() -> Path | None:
    # find_spec does not run the package (its __init__ imports pkg_resources)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)), "models")


def _models_folder(folder: str | os.PathLike[str] | None) -> Path:
    if folder is not None:
        return Path(os.fspath(folder)).expanduser()
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser()
    found = _package_folder()
    if found is None:
        raise MissingDependencyError(
            "the dlib face detectors need dlib's model files, from the package "
            f"face-recognition-models, which is not installed: {_INSTALL}; or set "
            f"{MODELS_ENV} to a folder holding {', '.join(DLIB_MODEL_FILES)}"
        )
    return found


def dlib_model_path(name: str, *, folder: str | os.PathLike[str] | None = None) -> Path:
    """The verified path of one of dlib's model files (:data:`DLIB_MODEL_FILES`).

    Looked up in ``folder``, else the folder of the environment variable
    :data:`MODELS_ENV`, else the installed ``face_recognition_models`` package.
    The file's sha256 must match (checked once per file, size and mtime).

    Raises
    ------
    ConfigurationError
        ``name`` is not one of the known model files.
    MissingDependencyError
        The file is missing, or its content is not the expected one (corrupt,
        truncated or another version), naming the file and what to install.
    """
    if name not in DLIB_MODEL_FILES:
        raise ConfigurationError(
            f"unknown dlib model file {name!r}; known: {list(DLIB_MODEL_FILES)}"
        )
    base = _models_folder(folder)
    path = base / name
    if not path.is_file():
        raise MissingDependencyError(
            f"dlib model file {name} not found at {path}: {_INSTALL}, or set {MODELS_ENV} "
            "to a folder holding it"
        )
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _VERIFIED_LOCK:
        if key in _VERIFIED:
            return path
    actual = sha256_file(path)
    if actual != DLIB_MODEL_FILES[name]:
        raise MissingDependencyError(
            f"dlib model file {path} is corrupt or not the expected version: sha256 {actual}, "
            f"expected {DLIB_MODEL_FILES[name]} ({stat.st_size} bytes); reinstall it: "
            f'pip install --force-reinstall --no-deps face-recognition-models (extra "detect")'
        )
    with _VERIFIED_LOCK:
        _VERIFIED[key] = True
    return path


def _check_rgb(image: object, who: str) -> np.ndarray:
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
    ):
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise DataValidationError(
            f"{who} needs an RGB uint8 array of shape (height, width, 3), got {dtype} of "
            f"shape {shape}"
        )
    return np.ascontiguousarray(image)


class DlibDetector:
    """A dlib face detector, HOG or CNN (MMOD), with FairFace-style aligned chips.

    Needs the extra ``detect`` (``dlib-bin``, ``face-recognition-models``). The
    model files are verified by sha256 when the detector is built (see
    :func:`dlib_model_path`). Thread-safe (searches are serialised by a lock) and
    picklable (the models are reloaded).

    Parameters
    ----------
    kind : {"cnn", "hog"}, default="cnn"
        ``"cnn"``: the MMOD CNN detector the FairFace authors used (accurate,
        ~0.2 s per 224 px image on one CPU core); ``"hog"``: dlib's HOG frontal
        face detector (fast, misses more faces, see ``docs/detection.md``).
    upsample : int, default=0
        Times the image is doubled in size before searching (finds smaller faces,
        about 4x slower each time). Both detectors find faces of about 80 px and
        more at ``upsample=0``.
    max_side : int, optional
        Shrink an image whose longer side exceeds this before searching (FairFace's
        predict.py used 800), and map the boxes back.
    align : bool, default=True
        Whether :meth:`face_chips` is offered: :func:`~fairaudit.detect.detect_faces`
        then crops each face as dlib's aligned chip (5-point landmarks,
        ``get_face_chips`` with ``padding``) instead of an axis-aligned margin.
    chip_size : int, default=224
        Side of an aligned chip in pixels.
    padding : float, default=0.25
        The chip's margin around the face (dlib's ``padding``; FairFace: 0.25).
    model_folder : path-like, optional
        Folder of the model files (default: :data:`MODELS_ENV`, else the
        installed ``face_recognition_models`` package).

    Raises
    ------
    MissingDependencyError
        dlib or a model file is missing, or a model file is corrupt.
    ConfigurationError
        An option is out of range.
    """

    def __init__(
        self,
        kind: str = "cnn",
        *,
        upsample: int = 0,
        max_side: int | None = None,
        align: bool = True,
        chip_size: int = 224,
        padding: float = 0.25,
        model_folder: str | os.PathLike[str] | None = None,
    ) -> None:
        if kind not in DLIB_KINDS:
            raise ConfigurationError(f"kind must be one of {DLIB_KINDS}, got {kind!r}")
        if isinstance(upsample, bool) or not isinstance(upsample, Integral) or upsample < 0:
            raise ConfigurationError(f"upsample must be an int >= 0, got {upsample!r}")
        if max_side is not None and (
            isinstance(max_side, bool) or not isinstance(max_side, Integral) or max_side < 1
        ):
            raise ConfigurationError(f"max_side must be a positive int or None, got {max_side!r}")
        if not isinstance(align, bool):
            raise ConfigurationError(f"align must be True or False, got {align!r}")
        if isinstance(chip_size, bool) or not isinstance(chip_size, Integral) or chip_size < 8:
            raise ConfigurationError(f"chip_size must be an int >= 8, got {chip_size!r}")
        if (
            isinstance(padding, bool)
            or not isinstance(padding, Real)
            or not math.isfinite(padding)
            or padding < 0
        ):
            raise ConfigurationError(f"padding must be a finite number >= 0, got {padding!r}")
        self.kind = kind
        self.upsample = int(upsample)
        self.max_side = None if max_side is None else int(max_side)
        self.align = align
        self.chip_size = int(chip_size)
        self.padding = float(padding)
        self.model_folder = None if model_folder is None else Path(os.fspath(model_folder))
        self._load()

    @classmethod
    def for_photos(cls, kind: str = "cnn", **options: Any) -> DlibDetector:
        """The preset for ordinary photos: ``max_side=1024``; CNN ``upsample=0``, HOG ``1``.

        FairFace's predict.py resized photos to 800 px and upsampled once; with the
        CNN on one CPU core that costs ~20 s for a 512x600 photo, so the CNN
        searches the photo as it is (faces of ~80 px and more, ~1.5 s) and the
        fast HOG detector upsamples once (faces of ~40 px and more).
        """
        upsample = 0 if kind == "cnn" else 1
        return cls(kind, **({"max_side": 1024, "upsample": upsample} | options))

    @classmethod
    def for_face_crops(cls, kind: str = "cnn", **options: Any) -> DlibDetector:
        """The preset for tight face crops (FairFace's 224 px images).

        CNN: ``upsample=0`` (the faces are larger than its 80 px window; doubling
        costs 5x the time and finds no more). HOG: ``upsample=1`` (finds a few more).
        """
        return cls(kind, **({"upsample": 0 if kind == "cnn" else 1} | options))

    def _load(self) -> None:
        dlib = _require_dlib()
        if self.kind == "cnn":
            model = dlib_model_path("mmod_human_face_detector.dat", folder=self.model_folder)
            self._detector = dlib.cnn_face_detection_model_v1(str(model))
        else:
            self._detector = dlib.get_frontal_face_detector()
        self._shape_predictor = None
        if self.align:
            predictor = dlib_model_path(
                "shape_predictor_5_face_landmarks.dat", folder=self.model_folder
            )
            self._shape_predictor = dlib.shape_predictor(str(predictor))
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """``"dlib-cnn"`` or ``"dlib-hog"``."""
        return f"dlib-{self.kind}"

    def __repr__(self) -> str:
        return (
            f"DlibDetector(kind={self.kind!r}, upsample={self.upsample}, "
            f"max_side={self.max_side}, align={self.align}, chip_size={self.chip_size}, "
            f"padding={self.padding})"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_detector", "_shape_predictor", "_lock"):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load()

    def detect_with_scores(self, image: np.ndarray) -> list[tuple[Box, float]]:
        """Face boxes and dlib's confidence (CNN: MMOD score; HOG: SVM score).

        Parameters
        ----------
        image : numpy.ndarray
            RGB image, ``uint8`` of shape ``(height, width, 3)``.

        Returns
        -------
        list of (Box, float)
        """
        pixels = _check_rgb(image, "DlibDetector")
        scale = 1.0
        longest = max(pixels.shape[:2])
        if self.max_side is not None and longest > self.max_side:
            scale = self.max_side / longest
            size = (
                max(1, round(pixels.shape[1] * scale)),
                max(1, round(pixels.shape[0] * scale)),
            )
            pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
        with self._lock:
            if self.kind == "cnn":
                found = [
                    (d.rect, float(d.confidence)) for d in self._detector(pixels, self.upsample)
                ]
            else:
                rects, scores, _ = self._detector.run(pixels, self.upsample, 0.0)
                found = list(zip(rects, (float(s) for s in scores), strict=True))
        height, width = image.shape[:2]
        whole = Box(0, 0, width, height)
        out = []
        for rect, score in found:
            left, top = rect.left() / scale, rect.top() / scale
            right, bottom = (rect.right() + 1) / scale, (rect.bottom() + 1) / scale
            box = Box(
                round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top))
            )
            if box.intersection(whole) is not None:
                out.append((box, score))
        return out

    def detect(self, image: np.ndarray) -> list[Box]:
        """Face boxes in an RGB image (the :class:`~fairaudit.detect.FaceDetector` interface)."""
        return [box for box, _ in self.detect_with_scores(image)]

    def face_chips(self, image: np.ndarray, boxes: list[Box]) -> list[tuple[Image.Image, Box]]:
        """FairFace-style aligned chips of the faces in ``boxes``.

        The 5-point shape predictor places the eyes' corners and the nose, then
        ``dlib.get_face_chips(image, shapes, size=chip_size, padding=padding)``
        rotates, scales and crops each face (black outside the image), as the
        FairFace authors' predict.py did.

        Returns
        -------
        list of (PIL.Image.Image, Box)
            Per box, the ``chip_size`` square RGB chip and the chip's region in
            image coordinates before its rotation (``angle`` is not kept).

        Raises
        ------
        ConfigurationError
            The detector was built with ``align=False``.
        """
        if self._shape_predictor is None:
            raise ConfigurationError("this DlibDetector was built with align=False: no chips")
        dlib = _require_dlib()
        pixels = _check_rgb(image, "DlibDetector.face_chips")
        if not boxes:
            return []
        shapes = dlib.full_object_detections()
        with self._lock:
            for box in boxes:
                rect = dlib.rectangle(box.x, box.y, box.right - 1, box.bottom - 1)
                shapes.append(self._shape_predictor(pixels, rect))
            chips = dlib.get_face_chips(pixels, shapes, size=self.chip_size, padding=self.padding)
            details = dlib.get_face_chip_details(shapes, size=self.chip_size, padding=self.padding)
        out = []
        for chip, detail in zip(chips, details, strict=True):
            r = detail.rect
            side_w = max(1, round(r.right() - r.left()))
            side_h = max(1, round(r.bottom() - r.top()))
            region = Box(round(r.left()), round(r.top()), side_w, side_h)
            out.append((Image.fromarray(np.asarray(chip, dtype=np.uint8)), region))
        return out
