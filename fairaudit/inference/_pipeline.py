"""The prediction pipeline: an image set in, a predictions table and its summary out.

The images of an :class:`~fairaudit.datasets.ImageSet` (see
:func:`~fairaudit.datasets.resolve_images`) are decoded and preprocessed in a
``DataLoader``, predicted in batches by a :class:`~fairaudit.inference.Predictor`
and assembled into the predictions table (see
:func:`~fairaudit.inference._outputs.build_predictions_table`).

Unreadable images (not an image, truncated, ...) are never dropped silently: with
``on_unreadable="keep"`` (the default) they stay in the table with ``status``
``"unreadable"``, the reason in ``error`` and no predictions, and the summary
lists them; with ``on_unreadable="raise"`` the first one stops the run with a
:class:`~fairaudit.exceptions.DataValidationError` naming it.

With face detection (:func:`predict_faces`) every face of every image is
predicted, one row per face with its box; an image without a face keeps one row
with ``status`` ``"no_face"``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from fairaudit._images import load_rgb
from fairaudit.datasets import ImageSet
from fairaudit.datasets._transforms import ImageTransform
from fairaudit.detect import Box, FaceDetector, detect_faces
from fairaudit.detect._detect import read_image as _read_image
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.inference._outputs import build_predictions_table
from fairaudit.inference._summary import PredictionRun, PredictionSummary
from fairaudit.schema import (
    BOX_COORDINATE_COLUMNS,
    ERROR_COLUMN,
    FACE_BOX_COLUMNS,
    FACE_COLUMN,
    FILE_COLUMN,
    LABEL_COLUMNS,
    PATH_COLUMN,
    STATUS_COLUMN,
    STATUS_NO_FACE,
)

__all__ = [
    "BatchPredictor",
    "FaceCrop",
    "detected_face_crops",
    "predict_faces",
    "predict_images",
    "preprocess_crop",
]

logger = logging.getLogger(__name__)

#: Errors PIL raises for files it cannot decode.
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)

#: A transformation of each decoded RGB image before preprocessing (``Predictor(face_crop=)``).
FaceCrop = Callable[[Image.Image], Image.Image]


class BatchPredictor(Protocol):
    """What the pipeline needs from a predictor (:class:`~fairaudit.inference.Predictor`).

    The predictor passes itself in (``Predictor.run``); the pipeline reads its
    settings and calls its forward pass on each batch of preprocessed images.
    """

    tasks: Sequence[str]
    transform: ImageTransform
    face_crop: FaceCrop | None
    batch_size: int
    num_workers: int
    threads: int | None
    on_unreadable: str
    backend: str

    def _forward(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        """Probabilities of each task for a batch of preprocessed images."""
        ...

    def _empty_outputs(self, n: int) -> dict[str, np.ndarray]:
        """Outputs of ``n`` rows without predictions."""
        ...


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
        return _Item(index, preprocess_crop(image, self.transform, self.face_crop), None)


def preprocess_crop(
    image: Image.Image, transform: ImageTransform, face_crop: FaceCrop | None
) -> torch.Tensor:
    """The model input of one decoded image taken as a face crop (no detection).

    What :meth:`~fairaudit.inference.Predictor.run` does to each image without
    ``detect``, and :meth:`~fairaudit.inference.Predictor.predict_face_crop` to
    one photo: ``face_crop`` (if any), then the preprocessing ``transform``.

    Parameters
    ----------
    image : PIL.Image.Image
        The decoded RGB image, upright (:func:`fairaudit.datasets.load_rgb`).
    transform : ImageTransform
        The predictor's preprocessing.
    face_crop : callable or None
        The predictor's ``face_crop``.

    Returns
    -------
    torch.Tensor
        ``(3, S, S)`` float32.
    """
    if face_crop is not None:
        image = face_crop(image)
    return transform(image)


def detected_face_crops(
    picture: object, transform: ImageTransform, detector: FaceDetector | None
) -> tuple[list[Box], torch.Tensor | None]:
    """The boxes and model inputs of every face of one image, largest first.

    What :meth:`~fairaudit.inference.Predictor.run` does to each image with
    ``detect`` (``fairaudit predict --detect``), and
    :meth:`~fairaudit.inference.Predictor.predict_photo` to one photo: the faces
    of :func:`fairaudit.detect.detect_faces` (an aligned chip with a detector
    that offers chips), each preprocessed by ``transform``.

    Parameters
    ----------
    picture : str, path-like, PIL.Image.Image, numpy.ndarray or bytes
        The image (see :func:`fairaudit.detect.detect_faces`).
    transform : ImageTransform
        The predictor's preprocessing.
    detector : FaceDetector or None
        The detector (None: :func:`fairaudit.detect.default_detector`).

    Returns
    -------
    tuple of (list of Box, torch.Tensor or None)
        The face boxes, and their ``(N, 3, S, S)`` inputs (None without a face).
    """
    faces = detect_faces(picture, detector=detector)
    if not faces:
        return [], None
    return [face.box for face in faces], torch.stack([transform(face.crop) for face in faces])


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
        boxes, crops = detected_face_crops(picture, self.transform, self.detector)
        return _Faces(index, boxes, crops, None)


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


def predict_images(
    predictor: BatchPredictor, image_set: ImageSet, *, progress: bool
) -> PredictionRun:
    """Predict every image of an image set (face crops already): one row per image."""
    n = len(image_set)
    start = time.perf_counter()
    outputs = {
        t.name: np.full(
            (n, t.num_outputs) if t.kind == "classification" else n, np.nan, dtype=np.float32
        )
        for t in predictor.tasks
    }
    ok = np.zeros(n, dtype=bool)
    errors: list[str | None] = [None] * n
    files = image_set.table[FILE_COLUMN].tolist()
    dataset = _ImageFiles(
        image_set.table[PATH_COLUMN].tolist(), predictor.transform, predictor.face_crop
    )
    loader = DataLoader(
        dataset,
        batch_size=predictor.batch_size,
        shuffle=False,
        num_workers=predictor.num_workers,
        collate_fn=_collate,
    )
    with _torch_threads(predictor.threads):
        for batch in tqdm(loader, desc="predict", unit="batch", disable=not progress):
            for index, error in batch.failures:
                if predictor.on_unreadable == "raise":
                    raise DataValidationError(
                        f"unreadable image {files[index]} ({dataset.paths[index]}): {error}"
                    )
                errors[index] = error
            if batch.images is None:
                continue
            probabilities = predictor._forward(batch.images)
            for name, values in probabilities.items():
                outputs[name][batch.indices] = values
            ok[batch.indices] = True
    seconds = time.perf_counter() - start
    table = build_predictions_table(image_set.table, predictor.tasks, outputs, ok, errors)
    unreadable = tuple((files[i], errors[i]) for i in np.flatnonzero(~ok))
    if unreadable:
        logger.warning("%d unreadable image(s), e.g. %s: %s", len(unreadable), *unreadable[0])
    summary = PredictionSummary(
        source=image_set.source,
        backend=predictor.backend,
        n_images=n,
        n_predicted=int(ok.sum()),
        unreadable=unreadable,
        missing=image_set.missing,
        ignored=image_set.ignored,
        seconds=seconds,
    )
    return PredictionRun(table=table, summary=summary)


def predict_faces(
    predictor: BatchPredictor, image_set: ImageSet, detector: FaceDetector, *, progress: bool
) -> PredictionRun:
    """:meth:`run` with face detection: one row per face, or per image without one."""
    if not callable(getattr(detector, "detect", None)):
        raise ConfigurationError(
            "detector must have a detect(image) method (the FaceDetector interface), "
            f"got {type(detector).__name__}"
        )
    start = time.perf_counter()
    files = image_set.table[FILE_COLUMN].tolist()
    dataset = _DetectedFaces(image_set.table[PATH_COLUMN].tolist(), predictor.transform, detector)
    loader = DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=predictor.num_workers,
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
            chunks.append((where, predictor._forward(crops)))
            pending.clear()

    unreadable: list[tuple[str, str]] = []
    no_face: list[str] = []
    with _torch_threads(predictor.threads):
        bar = tqdm(loader, desc="detect + predict", unit="image", disable=not progress)
        for item in bar:
            if item.error is not None:
                if predictor.on_unreadable == "raise":
                    raise DataValidationError(f"unreadable image {files[item.index]}: {item.error}")
                unreadable.append((files[item.index], item.error))
                rows.append((item.index, -1, None, item.error))
            elif item.images is None:
                no_face.append(files[item.index])
                rows.append((item.index, -1, None, None))
            else:
                pending.append((len(rows), item.images))
                rows.extend((item.index, k, box, None) for k, box in enumerate(item.boxes))
                if sum(len(c) for _, c in pending) >= predictor.batch_size:
                    flush()
        flush()
    n_rows = len(rows)
    outputs = predictor._empty_outputs(n_rows)
    for where, probabilities in chunks:
        for name, values in probabilities.items():
            outputs[name][where] = values
    image_index = np.array([r[0] for r in rows], dtype=np.int64)
    face_index = np.array([r[1] for r in rows], dtype=np.int64)
    ok = face_index >= 0
    errors = [r[3] for r in rows]
    table = build_predictions_table(
        image_set.table.iloc[image_index].reset_index(drop=True),
        predictor.tasks,
        outputs,
        ok,
        errors,
    )
    table.loc[(~ok) & table[ERROR_COLUMN].isna().to_numpy(), STATUS_COLUMN] = STATUS_NO_FACE
    at = 1 + sum(c in table.columns for c in LABEL_COLUMNS)
    boxes = [r[2] for r in rows]
    box_values = {
        FACE_COLUMN: face_index,
        **{
            name: np.array([getattr(b, name) if b is not None else -1 for b in boxes])
            for name in BOX_COORDINATE_COLUMNS
        },
    }
    for offset, name in enumerate(FACE_BOX_COLUMNS):
        column = pd.array(box_values[name], dtype="Int64")
        column[~ok] = pd.NA
        table.insert(at + offset, name, column)
    seconds = time.perf_counter() - start
    if unreadable:
        logger.warning("%d unreadable image(s), e.g. %s: %s", len(unreadable), *unreadable[0])
    summary = PredictionSummary(
        source=image_set.source,
        backend=predictor.backend,
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
