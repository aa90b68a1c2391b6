"""The prediction pipeline: images in, a predictions table out.

:class:`Predictor` reads images (see :func:`~fairaudit.inference.resolve_images`),
preprocesses them with the training preprocessing
(:class:`fairaudit.datasets.ImageTransform`, :func:`fairaudit.datasets.load_rgb`),
runs a model in batches (optimised torch, plain torch, or ONNX Runtime) and builds
the predictions table (see :func:`~fairaudit.inference.build_predictions_table`).

Unreadable images (not an image, truncated, ...) are never dropped silently: with
``on_unreadable="keep"`` (the default) they stay in the table with ``status``
``"unreadable"``, the reason in ``error`` and no predictions, and the summary
lists them; with ``on_unreadable="raise"`` the first one stops the run with a
:class:`~fairaudit.exceptions.DataValidationError` naming it.

Raw photos go through face detection (:mod:`fairaudit.detect`):
:meth:`Predictor.predict_photo` predicts every face of one photo, and
``Predictor.run(images, detect=True)`` every face of every image, one row per
face with its box; an image without a face keeps one row with ``status``
``"no_face"``. Without detection the images are expected to be face crops
already (like FairFace's and UTKFace's); ``face_crop`` is a seam for any other
transformation of the decoded image.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from fairaudit.datasets import ImageTransform, load_rgb
from fairaudit.detect import Box, FaceDetector, ImageInput, default_detector, detect_faces
from fairaudit.detect import read_image as _read_image
from fairaudit.exceptions import CheckpointError, ConfigurationError, DataValidationError
from fairaudit.inference._inputs import LABEL_COLUMNS, ImageSet, resolve_images
from fairaudit.inference._onnx import OnnxSession, build_onnx
from fairaudit.inference._optimize import optimize_for_inference
from fairaudit.inference._outputs import (
    STATUS_NO_FACE,
    ProbabilityModel,
    build_predictions_table,
    prediction_columns,
    task_columns,
    write_predictions,
)

__all__ = ["BACKENDS", "BOX_COLUMNS", "FaceCrop", "PredictionRun", "PredictionSummary", "Predictor"]

logger = logging.getLogger(__name__)

#: Inference backends of :class:`Predictor`.
BACKENDS: tuple[str, ...] = ("torch", "onnx")
_UNREADABLE_POLICIES = ("keep", "raise")
#: Errors PIL raises for files it cannot decode.
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
_SHOWN = 10

#: A transformation of each decoded RGB image before preprocessing (``Predictor(face_crop=)``).
FaceCrop = Callable[[Image.Image], Image.Image]
#: Columns of a detected face in a predictions table: its index in the image
#: (largest first) and its box in the original image's pixels.
BOX_COLUMNS: tuple[str, ...] = ("face", "x", "y", "width", "height")


@dataclass(frozen=True)
class PredictionSummary:
    """What a prediction run did, so nothing goes unnoticed.

    Attributes
    ----------
    source : str
        Where the images came from.
    backend : str
        ``"torch"`` or ``"onnx"``.
    n_images : int
        Images read or tried (rows of the predictions table).
    n_predicted : int
        Images predicted (``status == "ok"``).
    unreadable : tuple of (str, str)
        ``(file, reason)`` of each unreadable image.
    missing : tuple of str
        Labelled rows of the input without an image file (not in the table).
    ignored : tuple of str
        Files of the input skipped (non-image names, malformed dataset file
        names; not in the table).
    seconds : float
        Wall time of reading, preprocessing and predicting.
    detector : str or None
        The face detector (its repr) when faces were detected first, else None.
    n_faces : int
        Faces detected and predicted (rows with ``status == "ok"``; with
        detection, ``n_predicted`` counts the images with at least one face).
    no_face : tuple of str
        Images where the detector found no face (one ``"no_face"`` row each).
    """

    source: str
    backend: str
    n_images: int
    n_predicted: int
    unreadable: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    seconds: float = 0.0
    detector: str | None = None
    n_faces: int = 0
    no_face: tuple[str, ...] = ()

    @property
    def n_no_face(self) -> int:
        """Number of images without a detected face."""
        return len(self.no_face)

    @property
    def n_unreadable(self) -> int:
        """Number of unreadable images."""
        return len(self.unreadable)

    @property
    def n_missing(self) -> int:
        """Number of labelled rows without an image file (not predicted)."""
        return len(self.missing)

    @property
    def images_per_second(self) -> float:
        """Throughput over the whole run (reading included)."""
        return self.n_images / self.seconds if self.seconds > 0 else float("nan")

    def format(self) -> str:
        """A few human-readable lines."""
        lines = [f"images: {self.n_images} from {self.source}"]
        if self.detector is not None:
            lines += [
                f"faces: {self.n_faces} in {self.n_predicted} image(s); images with no face: "
                f"{self.n_no_face}; unreadable: {self.n_unreadable}",
                f"detector: {self.detector}",
            ]
        else:
            lines.append(f"predicted: {self.n_predicted}; unreadable: {self.n_unreadable}")
        lines.append(
            f"time: {self.seconds:.2f} s ({self.images_per_second:.1f} images/s, "
            f"backend {self.backend})"
        )
        for file in self.no_face[:_SHOWN]:
            lines.append(f"  no face: {file}")
        if self.n_no_face > _SHOWN:
            lines.append(f"  ... and {self.n_no_face - _SHOWN} more without a face")
        for file, reason in self.unreadable[:_SHOWN]:
            lines.append(f"  unreadable: {file}: {reason}")
        if self.n_unreadable > _SHOWN:
            lines.append(f"  ... and {self.n_unreadable - _SHOWN} more unreadable")
        if self.missing:
            shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
            lines.append(
                f"labelled rows without image (not predicted): {len(self.missing)} ({shown})"
            )
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (" ..." if len(self.ignored) > 5 else "")
            lines.append(
                f"files skipped (not images, or excluded by the loader): {len(self.ignored)} "
                f"({shown})"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class PredictionRun:
    """The result of :meth:`Predictor.run`: the predictions table and its summary."""

    table: pd.DataFrame
    summary: PredictionSummary = field(repr=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table (CSV or Parquet by suffix), atomically; see :func:`write_predictions`."""
        return write_predictions(self.table, path)


class _Item(NamedTuple):
    index: int
    image: torch.Tensor | None
    error: str | None


class _Batch(NamedTuple):
    indices: np.ndarray
    images: torch.Tensor | None
    failures: list[tuple[int, str]]


class _ImageFiles(Dataset):
    """Decoded, preprocessed images; an unreadable file gives its error instead."""

    def __init__(
        self, paths: Sequence[str], transform: ImageTransform, face_crop: FaceCrop | None
    ) -> None:
        self.paths = list(paths)
        self.transform = transform
        self.face_crop = face_crop

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> _Item:
        try:
            image = load_rgb(self.paths[index])
        except _IMAGE_ERRORS as exc:
            return _Item(index, None, f"{type(exc).__name__}: {exc}")
        if self.face_crop is not None:
            image = self.face_crop(image)
        return _Item(index, self.transform(image), None)


class _Faces(NamedTuple):
    index: int
    boxes: list[Box]
    images: torch.Tensor | None
    error: str | None


class _DetectedFaces(Dataset):
    """Per image: the detected faces' boxes and preprocessed crops, or why it is unreadable."""

    def __init__(
        self, paths: Sequence[str], transform: ImageTransform, detector: FaceDetector
    ) -> None:
        self.paths = list(paths)
        self.transform = transform
        self.detector = detector

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> _Faces:
        try:
            picture = _read_image(self.paths[index])
        except DataValidationError as exc:
            return _Faces(index, [], None, str(exc))
        faces = detect_faces(picture, detector=self.detector)
        if not faces:
            return _Faces(index, [], None, None)
        crops = torch.stack([self.transform(face.crop) for face in faces])
        return _Faces(index, [face.box for face in faces], crops, None)


def _one_item(item: _Faces) -> _Faces:
    """DataLoader collate function that keeps an item as it is."""
    return item


def _collate(items: list[_Item]) -> _Batch:
    good = [item for item in items if item.image is not None]
    images = torch.stack([item.image for item in good]) if good else None
    indices = np.array([item.index for item in good], dtype=np.int64)
    return _Batch(indices, images, [(i.index, i.error) for i in items if i.image is None])


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` intra-op threads in torch for the block, then restore."""
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_positive(name: str, value: object, *, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataValidationError(f"{name} must be a positive integer, got {value!r}")


class Predictor:
    """Predict every task of a model on images, in batches.

    Parameters
    ----------
    model : torch.nn.Module or OnnxSession
        A fairaudit model (``forward(x) -> dict``, with ``tasks``), or an ONNX
        Runtime session of an exported one.
    input_size : int, optional
        Side of the square input images. Required for a torch model; an
        :class:`OnnxSession` knows its own.
    optimize : bool, default=True
        Torch backend: run :func:`optimize_for_inference` (batch norm folded,
        channels_last) under :func:`torch.inference_mode`. Predictions equal the
        plain model's to float rounding (well below 1e-4).
    batch_size : int, default=64
        Images per forward pass.
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
        ``"torch"`` or ``"onnx"``.

    Examples
    --------
    >>> predictor = Predictor.from_checkpoint("model.pt")  # doctest: +SKIP
    >>> table = predictor.predict("photos/")  # doctest: +SKIP
    >>> table[["file", "gender_pred", "gender_prob_Female"]]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: nn.Module | OnnxSession,
        *,
        input_size: int | None = None,
        optimize: bool = True,
        batch_size: int = 64,
        threads: int | None = None,
        num_workers: int = 0,
        on_unreadable: str = "keep",
        face_crop: FaceCrop | None = None,
    ) -> None:
        _check_positive("batch_size", batch_size)
        _check_positive("threads", threads, allow_none=True)
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise DataValidationError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        if on_unreadable not in _UNREADABLE_POLICIES:
            raise DataValidationError(
                f"on_unreadable must be one of {_UNREADABLE_POLICIES}, got {on_unreadable!r}"
            )
        if isinstance(model, OnnxSession):
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
                f"model must be a torch model or an OnnxSession, got {type(model).__name__}"
            )
        self.optimize = bool(optimize)
        self.batch_size = int(batch_size)
        self.threads = threads
        self.num_workers = num_workers
        self.on_unreadable = on_unreadable
        self.face_crop = face_crop
        self.transform = ImageTransform(self.input_size, augment=False)

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

    # -- prediction ----------------------------------------------------------------
    def predict_tensor(self, images: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities per task of a preprocessed batch.

        Parameters
        ----------
        images : torch.Tensor or numpy.ndarray
            ``(N, 3, S, S)`` float32 images with ``S = input_size``, preprocessed
            as :class:`~fairaudit.datasets.ImageTransform` does.

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
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise DataValidationError(
                f"images must have shape (N, 3, {size}, {size}), got {tuple(images.shape)}"
            )
        with _torch_threads(self.threads):
            return self._forward(images.float())

    def _forward(self, images: torch.Tensor) -> dict[str, np.ndarray]:
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
        faces = detect_faces(image, detector=detector)
        n = len(faces)
        if faces:
            crops = torch.stack([self.transform(face.crop) for face in faces])
            with _torch_threads(self.threads):
                outputs = self._predict_crops(crops)
        else:
            outputs = self._empty_outputs(0)
        columns: dict[str, object] = {"face": np.arange(n, dtype=np.int64)}
        for name in BOX_COLUMNS[1:]:
            columns[name] = np.array([getattr(f.box, name) for f in faces], dtype=np.int64)
        columns.update(task_columns(self.tasks, outputs, np.ones(n, dtype=bool)))
        frame = pd.DataFrame(columns)
        assert list(frame.columns) == [*BOX_COLUMNS, *prediction_columns(self.tasks)]
        return frame

    def run(
        self,
        images: object,
        *,
        limit: int | None = None,
        progress: bool = True,
        detect: bool = False,
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
        detect : bool, default=False
            Detect the faces of each image first (for raw photos) and predict
            every face, as :meth:`predict_photo` does: one row per face, largest
            first, with the columns ``face``, ``x``, ``y``, ``width``, ``height``
            after the labels; an image without a face keeps one row with
            ``status="no_face"`` and no predictions.
        detector : FaceDetector, optional
            The detector with ``detect=True``; default
            :func:`fairaudit.detect.default_detector`.

        Returns
        -------
        PredictionRun

        Raises
        ------
        DataValidationError
            Bad input (empty folder, missing files...), or an unreadable image
            with ``on_unreadable="raise"``.
        ConfigurationError
            ``detector`` without ``detect=True``, or ``detect=True`` with a
            ``face_crop`` (both would choose the crop).
        """
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
            return self._run_detect(image_set, detector or default_detector(), progress)
        n = len(image_set)
        start = time.perf_counter()
        outputs = {
            t.name: np.full(
                (n, t.num_outputs) if t.kind == "classification" else n, np.nan, dtype=np.float32
            )
            for t in self.tasks
        }
        ok = np.zeros(n, dtype=bool)
        errors: list[str | None] = [None] * n
        files = image_set.table["file"].tolist()
        dataset = _ImageFiles(image_set.table["path"].tolist(), self.transform, self.face_crop)
        loader = DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=_collate,
        )
        with _torch_threads(self.threads):
            for batch in tqdm(loader, desc="predict", unit="batch", disable=not progress):
                for index, error in batch.failures:
                    if self.on_unreadable == "raise":
                        raise DataValidationError(
                            f"unreadable image {files[index]} ({dataset.paths[index]}): {error}"
                        )
                    errors[index] = error
                if batch.images is None:
                    continue
                probabilities = self._forward(batch.images)
                for name, values in probabilities.items():
                    outputs[name][batch.indices] = values
                ok[batch.indices] = True
        seconds = time.perf_counter() - start
        table = build_predictions_table(image_set.table, self.tasks, outputs, ok, errors)
        unreadable = tuple((files[i], errors[i]) for i in np.flatnonzero(~ok))
        if unreadable:
            logger.warning("%d unreadable image(s), e.g. %s: %s", len(unreadable), *unreadable[0])
        summary = PredictionSummary(
            source=image_set.source,
            backend=self.backend,
            n_images=n,
            n_predicted=int(ok.sum()),
            unreadable=unreadable,
            missing=image_set.missing,
            ignored=image_set.ignored,
            seconds=seconds,
        )
        return PredictionRun(table=table, summary=summary)

    def _run_detect(
        self, image_set: ImageSet, detector: FaceDetector, progress: bool
    ) -> PredictionRun:
        """:meth:`run` with face detection: one row per face, or per image without one."""
        if not callable(getattr(detector, "detect", None)):
            raise ConfigurationError(
                "detector must have a detect(image) method (the FaceDetector interface), "
                f"got {type(detector).__name__}"
            )
        start = time.perf_counter()
        files = image_set.table["file"].tolist()
        dataset = _DetectedFaces(image_set.table["path"].tolist(), self.transform, detector)
        loader = DataLoader(
            dataset,
            batch_size=None,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=_one_item,
        )
        # one entry per output row: (image index, face index or -1, box or None, error)
        rows: list[tuple[int, int, Box | None, str | None]] = []
        pending: list[tuple[int, torch.Tensor]] = []  # (first output row, crops)
        chunks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []

        def flush() -> None:
            if pending:
                crops = torch.cat([c for _, c in pending])
                where = np.concatenate([np.arange(r, r + len(c)) for r, c in pending])
                chunks.append((where, self._forward(crops)))
                pending.clear()

        unreadable: list[tuple[str, str]] = []
        no_face: list[str] = []
        with _torch_threads(self.threads):
            bar = tqdm(loader, desc="detect + predict", unit="image", disable=not progress)
            for item in bar:
                if item.error is not None:
                    if self.on_unreadable == "raise":
                        raise DataValidationError(
                            f"unreadable image {files[item.index]}: {item.error}"
                        )
                    unreadable.append((files[item.index], item.error))
                    rows.append((item.index, -1, None, item.error))
                elif item.images is None:
                    no_face.append(files[item.index])
                    rows.append((item.index, -1, None, None))
                else:
                    pending.append((len(rows), item.images))
                    rows.extend((item.index, k, box, None) for k, box in enumerate(item.boxes))
                    if sum(len(c) for _, c in pending) >= self.batch_size:
                        flush()
            flush()
        n_rows = len(rows)
        outputs = self._empty_outputs(n_rows)
        for where, probabilities in chunks:
            for name, values in probabilities.items():
                outputs[name][where] = values
        image_index = np.array([r[0] for r in rows], dtype=np.int64)
        face_index = np.array([r[1] for r in rows], dtype=np.int64)
        ok = face_index >= 0
        errors = [r[3] for r in rows]
        table = build_predictions_table(
            image_set.table.iloc[image_index].reset_index(drop=True),
            self.tasks,
            outputs,
            ok,
            errors,
        )
        table.loc[(~ok) & table["error"].isna().to_numpy(), "status"] = STATUS_NO_FACE
        at = 1 + sum(c in table.columns for c in LABEL_COLUMNS)
        boxes = [r[2] for r in rows]
        box_values = {
            "face": face_index,
            **{
                name: np.array([getattr(b, name) if b is not None else -1 for b in boxes])
                for name in BOX_COLUMNS[1:]
            },
        }
        for offset, name in enumerate(BOX_COLUMNS):
            column = pd.array(box_values[name], dtype="Int64")
            column[~ok] = pd.NA
            table.insert(at + offset, name, column)
        seconds = time.perf_counter() - start
        if unreadable:
            logger.warning("%d unreadable image(s), e.g. %s: %s", len(unreadable), *unreadable[0])
        summary = PredictionSummary(
            source=image_set.source,
            backend=self.backend,
            n_images=len(image_set),
            n_predicted=len(set(image_index[ok].tolist())),
            unreadable=tuple(unreadable),
            missing=image_set.missing,
            ignored=image_set.ignored,
            seconds=seconds,
            detector=repr(detector),
            n_faces=int(ok.sum()),
            no_face=tuple(no_face),
        )
        return PredictionRun(table=table, summary=summary)

    def predict(
        self,
        images: object,
        *,
        limit: int | None = None,
        progress: bool = True,
        detect: bool = False,
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
