"""The predictor: a model (torch or ONNX Runtime) that predicts every task of images.

:class:`Predictor` preprocesses images with the training preprocessing
(:class:`fairaudit.datasets.ImageTransform`, :func:`fairaudit.datasets.load_rgb`),
runs a model in batches (optimised torch, plain torch, or ONNX Runtime), and
predicts a whole image set through the pipeline of
:mod:`fairaudit.inference._pipeline` (:meth:`Predictor.run`) or every face of one
photo (:meth:`Predictor.predict_photo`).

Raw photos go through face detection (:mod:`fairaudit.detect`):
:meth:`Predictor.predict_photo` predicts every face of one photo, and
``Predictor.run(images, detect=True)`` every face of every image, one row per
face with its box; an image without a face keeps one row with ``status``
``"no_face"``. Without detection the images are expected to be face crops
already (like FairFace's and UTKFace's); ``face_crop`` is a seam for any other
transformation of the decoded image.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from fairaudit.datasets import ImageSet
from fairaudit.datasets._image_sets import resolve_images
from fairaudit.datasets._transforms import ImageTransform
from fairaudit.detect import Box, FaceDetector, default_detector, make_detector
from fairaudit.detect._choice import best_detector_name
from fairaudit.detect._detect import ImageInput, read_image
from fairaudit.exceptions import CheckpointError, ConfigurationError, DataValidationError
from fairaudit.inference._model_file import OutsideModel
from fairaudit.inference._onnx import OnnxSession, build_onnx
from fairaudit.inference._optimize import optimize_for_inference
from fairaudit.inference._outputs import ProbabilityModel, prediction_columns, task_columns
from fairaudit.inference._pipeline import (
    FaceCrop,
    _torch_threads,
    detected_face_crops,
    predict_faces,
    predict_images,
    preprocess_crop,
)
from fairaudit.inference._summary import PredictionRun
from fairaudit.schema import BOX_COORDINATE_COLUMNS, FACE_BOX_COLUMNS, FACE_COLUMN

__all__ = ["BACKENDS", "Predictor"]

logger = logging.getLogger(__name__)

#: Inference backends of :class:`Predictor`.
BACKENDS: tuple[str, ...] = ("torch", "onnx")
_UNREADABLE_POLICIES = ("keep", "raise")


def _check_positive(name: str, value: object, *, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataValidationError(f"{name} must be a positive integer, got {value!r}")


class Predictor:
    """Predict every task of a model on images, in batches.

    Parameters
    ----------
    model : torch.nn.Module, OnnxSession or OutsideModel
        A fairaudit model (``forward(x) -> dict``, with ``tasks``), an ONNX
        Runtime session of an exported one, or a model fairaudit did not train
        with its spec (:class:`OutsideModel`, see :meth:`from_model_file`).
    input_size : int, optional
        Side of the square input images. Required for a torch model; an
        :class:`OnnxSession` and an :class:`OutsideModel` know their own.
    optimize : bool, default=True
        Torch backend: run :func:`optimize_for_inference` (batch norm folded,
        channels_last) under :func:`torch.inference_mode`. Predictions equal the
        plain model's to float rounding (well below 1e-4).
    batch_size : int, optional
        Images per forward pass (default: an :class:`OutsideModel`'s spec's, else 64).
    threads : int, optional
        CPU threads of the forward pass (torch: set for the run and restored;
        ONNX: the session's own setting). Default: the library's choice.
    num_workers : int, default=0
        DataLoader processes decoding images (0: in the calling process).
    on_unreadable : {"keep", "raise"}, default="keep"
        Unreadable images: kept as rows with ``status="unreadable"`` (counted and
        listed in the summary), or a :class:`DataValidationError` naming the first.
    face_crop : callable, optional
        Applied to each decoded RGB PIL image before preprocessing (the seam for
        face detection). Default: the image is used as it is.

    Attributes
    ----------
    tasks : tuple of TaskSpec
        The model's tasks, in output order.
    backend : str
        ``"torch"`` or ``"onnx"``; for an :class:`OutsideModel`, what runs it
        (``"onnxruntime"``, ``"torchscript"``, ``"callable"``).
    provenance : dict or None
        An :class:`OutsideModel`'s provenance (file, sha256, spec), recorded in
        each predictions table's ``attrs["provenance"]``; None otherwise.

    Examples
    --------
    >>> predictor = Predictor.from_checkpoint("model.pt")  # doctest: +SKIP
    >>> table = predictor.predict("photos/")  # doctest: +SKIP
    >>> table[["file", "gender_pred", "gender_prob_Female"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module | OnnxSession | OutsideModel,
        *,
        input_size: int | None = None,
        optimize: bool = True,
        batch_size: int | None = None,
        threads: int | None = None,
        num_workers: int = 0,
        on_unreadable: str = "keep",
        face_crop: FaceCrop | None = None,
    ) -> None:
        if batch_size is None:
            batch_size = model.spec.input.batch_size if isinstance(model, OutsideModel) else 64
        _check_positive("batch_size", batch_size)
        _check_positive("threads", threads, allow_none=True)
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise DataValidationError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if on_unreadable not in _UNREADABLE_POLICIES:
            raise DataValidationError(
                f"on_unreadable must be one of {_UNREADABLE_POLICIES}, got {on_unreadable!r}"
            )
        self.provenance: dict[str, Any] | None = None
        self._outside: OutsideModel | None = None
        if isinstance(model, OutsideModel):
            if input_size is not None and input_size != model.spec.input.size:
                raise DataValidationError(
                    f"{model.source} takes {model.spec.input.size}px images (its spec), "
                    f"not {input_size}px"
                )
            self.backend = model.backend
            self.input_size = model.spec.input.size
            self.tasks = model.tasks
            self._outside = model
            self._session = None
            self._module = None
            self.provenance = model.provenance
        elif isinstance(model, OnnxSession):
            if input_size is not None and input_size != model.input_size:
                raise DataValidationError(
                    f"{model.name} was exported for {model.input_size}px images, not {input_size}px"
                )
            self.backend = "onnx"
            self.input_size = model.input_size
            self.tasks = model.tasks
            self._session: OnnxSession | None = model
            self._module: nn.Module | None = None
        elif isinstance(model, nn.Module):
            if not hasattr(model, "tasks"):
                raise DataValidationError(
                    f"{type(model).__name__} has no 'tasks' attribute: use a fairaudit model "
                    "(fairaudit.models.build_model or load_checkpoint)"
                )
            _check_positive("input_size", input_size)
            self.backend = "torch"
            self.input_size = int(input_size)
            self.tasks = tuple(model.tasks)
            base = optimize_for_inference(model) if optimize else copy.deepcopy(model).eval()
            self._module = ProbabilityModel(base, self.tasks).eval()
            self._session = None
        else:
            raise DataValidationError(
                "model must be a torch model, an OnnxSession or an OutsideModel, got "
                f"{type(model).__name__}"
            )
        self.optimize = bool(optimize)
        self.batch_size = int(batch_size)
        self.threads = threads
        self.num_workers = num_workers
        self.on_unreadable = on_unreadable
        self.face_crop = face_crop
        self.transform = (
            model.transform
            if isinstance(model, OutsideModel)
            else ImageTransform(self.input_size, augment=False)
        )

    def __repr__(self) -> str:
        return (
            f"Predictor(backend={self.backend!r}, tasks={[t.name for t in self.tasks]}, "
            f"input_size={self.input_size}, batch_size={self.batch_size})"
        )

    # -- construction ------------------------------------------------------------
    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        backend: str = "torch",
        optimize: bool = True,
        batch_size: int = 64,
        threads: int | None = None,
        expected_arch: str | None = None,
        expected_tasks: Sequence[Any] | None = None,
        **options: Any,
    ) -> Predictor:
        """A predictor of a saved model.

        Parameters
        ----------
        path : path-like
            A checkpoint written by :func:`fairaudit.models.save_checkpoint`, or
            an ``.onnx`` file written by :func:`export_onnx` (always run with
            ONNX Runtime, whatever ``backend`` says).
        backend : {"torch", "onnx"}, default="torch"
            ``"onnx"`` with a checkpoint exports it to ONNX in memory (verified
            against torch) and runs ONNX Runtime.
        optimize, batch_size, threads
            See :class:`Predictor`.
        expected_arch, expected_tasks : optional
            Refuse a checkpoint of another architecture or class vocabulary
            (passed to :func:`fairaudit.models.load_checkpoint`).
        **options
            Other :class:`Predictor` options (``num_workers``, ``on_unreadable``,
            ``face_crop``).

        Raises
        ------
        CheckpointError
            If the file is missing, unusable, or not the expected model.
        DataValidationError
            For an unknown backend.
        """
        if backend not in BACKENDS:
            raise DataValidationError(f"backend must be one of {BACKENDS}, got {backend!r}")
        path = Path(path).expanduser()
        if not path.is_file():
            what = "folder, not a checkpoint file" if path.is_dir() else "not found"
            raise CheckpointError(f"checkpoint file {what}: {path}")
        kwargs = {"batch_size": batch_size, "threads": threads, **options}
        if path.suffix.lower() == ".onnx":
            if backend == "torch":
                logger.info("%s is an ONNX model: using the onnx backend", path)
            session = OnnxSession(path, threads=threads)
            _check_expected(session, path, expected_arch, expected_tasks)
            return cls(session, **kwargs)
        from fairaudit.models import load_checkpoint

        loaded = load_checkpoint(path, expected_arch=expected_arch, expected_tasks=expected_tasks)
        if backend == "onnx":
            data, _ = build_onnx(loaded.model, input_size=loaded.input_size)
            return cls(OnnxSession(data, threads=threads), **kwargs)
        return cls(loaded.model, input_size=loaded.input_size, optimize=optimize, **kwargs)

    @classmethod
    def from_model_file(
        cls,
        path: str | os.PathLike[str],
        spec: Any,
        *,
        batch_size: int | None = None,
        threads: int | None = None,
        **options: Any,
    ) -> Predictor:
        """A predictor of a model fairaudit did not train: an ONNX or TorchScript file.

        Parameters
        ----------
        path : path-like
            The ``.onnx`` (run with ONNX Runtime) or TorchScript (``.pt``,
            ``.pth``, ``.ts``, ``.torchscript``, ``.jit``) file.
        spec : ModelSpec or path-like
            How to run it: a :class:`~fairaudit.inference.ModelSpec` or its TOML
            file. With ``crop = "detect"`` in its input, :meth:`run` detects
            faces first unless told otherwise.
        batch_size : int, optional
            Default: the spec's.
        threads : int, optional
            CPU threads of the model.
        **options
            Other :class:`Predictor` options (``num_workers``, ``on_unreadable``).

        Raises
        ------
        CheckpointError
            Missing or unusable model file.
        ConfigurationError
            A spec that does not fit the model (input size, number of outputs,
            number of classes), naming the mismatch.
        """
        model = OutsideModel.from_file(path, spec, threads=threads)
        return cls(model, batch_size=batch_size, threads=threads, **options)

    # -- prediction ----------------------------------------------------------------
    def predict_tensor(self, images: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities per task of a preprocessed batch.

        Parameters
        ----------
        images : torch.Tensor or numpy.ndarray
            ``(N, 3, S, S)`` float32 images with ``S = input_size``, preprocessed
            as :class:`~fairaudit.datasets.ImageTransform` does (an
            :class:`OutsideModel`: shaped and preprocessed as its spec says).

        Returns
        -------
        dict of str to numpy.ndarray
            In task order: float32 ``(N, C)`` softmax probabilities for a
            classification task, float32 ``(N,)`` values (years) for a regression
            task. Same types whatever the backend.
        """
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
        if not isinstance(images, torch.Tensor):
            raise DataValidationError(
                f"images must be a tensor or an array, got {type(images).__name__}"
            )
        size = self.input_size
        shape = self._outside.spec.input.shape if self._outside is not None else (3, size, size)
        if images.ndim != 4 or tuple(images.shape[1:]) != shape:
            raise DataValidationError(
                f"images must have shape (N, {', '.join(map(str, shape))}), got "
                f"{tuple(images.shape)}"
            )
        with _torch_threads(self.threads):
            return self._forward(images.float())

    def _forward(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        if self._outside is not None:
            return self._outside(images)
        if self._session is not None:
            return self._session.run(images)
        with torch.inference_mode():
            if self.optimize:
                images = images.contiguous(memory_format=torch.channels_last)
            out = self._module(images)
            return {k: v.float().numpy().copy() for k, v in out.items()}

    def _predict_crops(self, crops: torch.Tensor) -> dict[str, np.ndarray]:
        """Probabilities per task of preprocessed crops, ``batch_size`` at a time."""
        parts = [
            self._forward(crops[start : start + self.batch_size])
            for start in range(0, len(crops), self.batch_size)
        ]
        return {t.name: np.concatenate([part[t.name] for part in parts]) for t in self.tasks}

    def _empty_outputs(self, n: int) -> dict[str, np.ndarray]:
        return {
            t.name: np.full(
                (n, t.num_outputs) if t.kind == "classification" else n, np.nan, dtype=np.float32
            )
            for t in self.tasks
        }

    def predict_photo(
        self, image: ImageInput, *, detector: FaceDetector | None = None
    ) -> pd.DataFrame:
        """Detect every face of a photo and predict each one.

        Each face is cropped FairFace style (its box widened by 0.25 of its size
        on every side, squared, black outside the image: see
        :func:`fairaudit.detect.detect_faces`), then preprocessed and predicted
        like any image of :meth:`run`.

        Parameters
        ----------
        image : str, path-like, PIL.Image.Image, numpy.ndarray or bytes
            A photo: an image file, a PIL image, an RGB ``uint8`` array, or the
            bytes of an encoded image (e.g. an upload).
        detector : FaceDetector, optional
            Default :func:`fairaudit.detect.default_detector` (the Haar cascade's
            preset for photos, :meth:`~fairaudit.detect.HaarCascadeDetector.for_photos`).

        Returns
        -------
        pandas.DataFrame
            One row per face, largest first: ``face`` (0-based), ``x``, ``y``,
            ``width``, ``height`` (the detector's box in the photo's pixels; it
            may reach past the border), then ``{task}_pred`` and
            ``{task}_prob_{class}`` per task as in the predictions table. No face:
            an empty DataFrame with the same columns and dtypes.

        Raises
        ------
        DataValidationError
            The image cannot be read (not an image, truncated, missing file...),
            naming it.
        """
        boxes, crops = detected_face_crops(image, self.transform, detector)
        return self._faces_table(boxes, crops)

    def predict_face_crop(self, image: ImageInput) -> pd.DataFrame:
        """Predict a photo that is one face crop already, as :meth:`run` does without detection.

        The photo is decoded as :meth:`run` decodes an image file (RGB, upright
        per its EXIF orientation), transformed by ``face_crop`` if the predictor
        has one, preprocessed and predicted: the probabilities of
        ``fairaudit predict PHOTO`` (no ``--detect``), for images cropped like
        FairFace's or UTKFace's.

        Parameters
        ----------
        image : str, path-like, PIL.Image.Image, numpy.ndarray or bytes
            See :meth:`predict_photo`.

        Returns
        -------
        pandas.DataFrame
            One row in the layout of :meth:`predict_photo`: ``face`` 0, the box
            of the whole photo (``x = y = 0``, its width and height), then the
            predictions.

        Raises
        ------
        DataValidationError
            The image cannot be read, naming it.
        """
        picture = read_image(image)
        crop = preprocess_crop(picture, self.transform, self.face_crop)
        return self._faces_table([Box(0, 0, picture.width, picture.height)], crop[None])

    def _faces_table(self, boxes: Sequence[Box], crops: torch.Tensor | None) -> pd.DataFrame:
        """The table of :meth:`predict_photo`: per face its box, then its predictions."""
        n = len(boxes)
        if crops is not None:
            with _torch_threads(self.threads):
                outputs = self._predict_crops(crops)
        else:
            outputs = self._empty_outputs(0)
        columns: dict[str, object] = {FACE_COLUMN: np.arange(n, dtype=np.int64)}
        for name in BOX_COORDINATE_COLUMNS:
            columns[name] = np.array([getattr(box, name) for box in boxes], dtype=np.int64)
        columns.update(task_columns(self.tasks, outputs, np.ones(n, dtype=bool)))
        frame = pd.DataFrame(columns)
        assert list(frame.columns) == [*FACE_BOX_COLUMNS, *prediction_columns(self.tasks)]
        return frame

    def run(
        self,
        images: object,
        *,
        limit: int | None = None,
        progress: bool = True,
        detect: bool | None = None,
        detector: FaceDetector | None = None,
    ) -> PredictionRun:
        """Predict every image of the input; the table and a summary.

        Parameters
        ----------
        images : path-like, sequence of path-like, DataFrame, LoadedDataset or ImageSet
            A folder (recursive), image files, or a label table; see
            :func:`~fairaudit.inference.resolve_images`.
        limit : int, optional
            Predict only the first ``limit`` images.
        progress : bool, default=True
            Show a progress bar (stderr): over batches, or over images with
            ``detect``.
        detect : bool, optional
            Detect the faces of each image first (for raw photos) and predict
            every face, as :meth:`predict_photo` does: one row per face, largest
            first, with the columns ``face``, ``x``, ``y``, ``width``, ``height``
            after the labels; an image without a face keeps one row with
            ``status="no_face"`` and no predictions. Default: what an
            :class:`OutsideModel`'s spec declares (``crop = "detect"``), else False.
        detector : FaceDetector, optional
            The detector with ``detect=True``; default the spec's (an
            :class:`OutsideModel`), else :func:`fairaudit.detect.default_detector`.

        Returns
        -------
        PredictionRun
            With an :class:`OutsideModel`, the table's ``attrs["provenance"]``
            holds :attr:`provenance`.

        Raises
        ------
        DataValidationError
            Bad input (empty folder, missing files...), or an unreadable image
            with ``on_unreadable="raise"``.
        ConfigurationError
            ``detector`` without ``detect=True``, or ``detect=True`` with a
            ``face_crop`` (both would choose the crop).
        """
        if detect is None:
            detect = self.detect_default
        if not isinstance(detect, bool):
            raise ConfigurationError(f"detect must be True or False, got {detect!r}")
        if detector is not None and not detect:
            raise ConfigurationError("detector= is used only with detect=True")
        if detect and self.face_crop is not None:
            raise ConfigurationError(
                "detect=True and a face_crop both choose what to classify: use one of them"
            )
        image_set: ImageSet = resolve_images(images, limit=limit)
        if detect:
            run = predict_faces(
                self, image_set, detector or self.default_detector(), progress=progress
            )
        else:
            run = predict_images(self, image_set, progress=progress)
        if self.provenance is not None:
            run.table.attrs["provenance"] = self.provenance
        return run

    @property
    def detect_default(self) -> bool:
        """Whether :meth:`run` detects faces without being told: an
        :class:`OutsideModel` whose spec says ``crop = "detect"``."""
        return self._outside is not None and self._outside.spec.input.crop == "detect"

    def default_detector(self) -> FaceDetector:
        """The face detector of ``detect=True`` without one: an :class:`OutsideModel`'s
        spec's (``detector``, ``preset``), else :func:`fairaudit.detect.default_detector`."""
        if self._outside is None:
            return default_detector()
        spec = self._outside.spec.input
        name = best_detector_name() if spec.detector == "best" else spec.detector
        return make_detector(name, preset=spec.preset, align=True)

    def predict(
        self,
        images: object,
        *,
        limit: int | None = None,
        progress: bool = True,
        detect: bool | None = None,
        detector: FaceDetector | None = None,
    ) -> pd.DataFrame:
        """The predictions table of the input (see :meth:`run`, which adds a summary)."""
        return self.run(
            images, limit=limit, progress=progress, detect=detect, detector=detector
        ).table


def _check_expected(
    session: OnnxSession,
    path: Path,
    expected_arch: str | None,
    expected_tasks: Sequence[Any] | None,
) -> None:
    """Refuse an ONNX model of another architecture or task vocabulary."""
    arch = session.metadata.get("arch")
    if expected_arch is not None and arch != expected_arch:
        raise CheckpointError(f"{path}: architecture {arch!r}, expected {expected_arch!r}")
    if expected_tasks is not None and tuple(expected_tasks) != session.tasks:
        raise CheckpointError(
            f"{path}: tasks {[t.to_dict() for t in session.tasks]}, expected "
            f"{[t.to_dict() for t in expected_tasks]}"
        )
