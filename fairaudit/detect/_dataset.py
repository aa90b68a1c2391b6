"""Run a face detector over a set of images: one row per image, for the detector audit."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from fairaudit._io import atomic_path
from fairaudit.detect._detect import default_detector, detect_faces, read_image
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.schema import (
    BOX_COORDINATE_COLUMNS,
    DETECTION_STATUSES,
    ERROR_COLUMN,
    FILE_COLUMN,
    LABEL_COLUMNS,
    N_FACES_COLUMN,
    PATH_COLUMN,
    SCORE_COLUMN,
    STATUS_COLUMN,
    STATUS_OK,
    STATUS_UNREADABLE,
)

__all__ = ["DETECTION_STATUSES", "DetectionRun", "DetectionSummary", "detect_dataset"]

logger = logging.getLogger(__name__)

_SHOWN = 10


@dataclass(frozen=True)
class DetectionSummary:
    """What a detection run did.

    Attributes
    ----------
    source : str
        Where the images came from.
    detector : str
        The detector (its repr, settings included).
    n_images : int
        Images tried (rows of the table).
    n_detected : int
        Readable images where at least one face was found.
    n_faces : int
        Faces found in all images.
    unreadable : tuple of (str, str)
        ``(file, reason)`` of each unreadable image.
    missing : tuple of str
        Labelled rows of the input without an image file (not in the table).
    ignored : tuple of str
        Files of the input skipped (non-image names; not in the table).
    seconds : float
        Wall time of reading and detecting.
    """

    source: str
    detector: str
    n_images: int
    n_detected: int
    n_faces: int
    unreadable: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def n_unreadable(self) -> int:
        """Number of unreadable images."""
        return len(self.unreadable)

    @property
    def detection_rate(self) -> float:
        """Share of the readable images with at least one face found (NaN if none)."""
        readable = self.n_images - self.n_unreadable
        return self.n_detected / readable if readable else float("nan")

    @property
    def seconds_per_image(self) -> float:
        """Mean wall time per image (NaN without images)."""
        return self.seconds / self.n_images if self.n_images else float("nan")

    def format(self) -> str:
        """A few human-readable lines."""
        lines = [
            f"images: {self.n_images} from {self.source}",
            f"with a face: {self.n_detected} ({self.detection_rate:.1%} of the readable); "
            f"faces: {self.n_faces}; unreadable: {self.n_unreadable}",
            f"detector: {self.detector}",
            f"time: {self.seconds:.1f} s ({1000 * self.seconds_per_image:.1f} ms/image)",
        ]
        for file, reason in self.unreadable[:_SHOWN]:
            lines.append(f"  unreadable: {file}: {reason}")
        if self.n_unreadable > _SHOWN:
            lines.append(f"  ... and {self.n_unreadable - _SHOWN} more unreadable")
        if self.missing:
            shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
            lines.append(
                f"labelled rows without image (not searched): {len(self.missing)} ({shown})"
            )
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (" ..." if len(self.ignored) > 5 else "")
            lines.append(f"files skipped (not images): {len(self.ignored)} ({shown})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class DetectionRun:
    """The result of :func:`detect_dataset`: one row per image, and a summary.

    Attributes
    ----------
    table : pandas.DataFrame
        ``file``, the true labels when the input had them (``gender``, ``age``,
        ``race``, ``age_years``), ``n_faces`` (faces found; missing for an
        unreadable image), the largest face's box ``x``, ``y``, ``width``,
        ``height`` and detector ``score`` (missing without a face), ``status``
        (``"ok"`` or ``"unreadable"``) and ``error`` (why unreadable).
    summary : DetectionSummary
    """

    table: pd.DataFrame
    summary: DetectionSummary = field(repr=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table as CSV (or Parquet for ``.parquet``/``.pq``), atomically."""
        path = Path(path).expanduser()
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise DataValidationError(
                f"{path}: unknown table format {suffix!r}; use a .csv or .parquet file name"
            )
        with atomic_path(path) as tmp:
            if suffix == ".csv":
                self.table.to_csv(tmp, index=False)
            else:
                self.table.to_parquet(tmp, index=False)
        return path


def detect_dataset(
    images: object,
    *,
    detector: FaceDetector | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> DetectionRun:
    """Run a face detector over every image of a folder, file list or label table.

    The per-image results feed the detector audit
    (:func:`fairaudit.model_audit.audit_detection`): on a labelled set, the share of
    images where a face is found, per group.

    Parameters
    ----------
    images : path-like, sequence of path-like, DataFrame, LoadedDataset or ImageSet
        A folder (recursive), image files, or a label table (the labels are
        carried into the table); see :func:`fairaudit.datasets.resolve_images`.
    detector : FaceDetector, optional
        Default :func:`default_detector` (the best installed, photo preset). For
        tight face crops such as FairFace's, use a crop preset:
        ``make_detector(name, preset="crops")``.
    limit : int, optional
        Only the first ``limit`` images.
    progress : bool, default=True
        Show a progress bar over the images (stderr).

    Returns
    -------
    DetectionRun

    Raises
    ------
    DataValidationError
        Bad input (missing folder, no images, a label table without paths...).
    ConfigurationError
        The detector has no ``detect`` method or returns something other than boxes.

    Notes
    -----
    Unreadable images are kept as rows with ``status="unreadable"`` and listed
    in the summary; labelled rows without an image file are not searched and
    are listed in ``summary.missing``. Nothing is dropped silently.
    """
    # Imported here, not at the top: importing fairaudit.detect stays light (detect
    # and datasets share a layer).
    from fairaudit.datasets._image_sets import resolve_images

    if detector is None:
        detector = default_detector()
    elif not callable(getattr(detector, "detect", None)):
        raise ConfigurationError(
            "detector must have a detect(image) method (the FaceDetector interface), "
            f"got {type(detector).__name__}"
        )
    image_set = resolve_images(images, limit=limit)
    n = len(image_set)
    files = image_set.table[FILE_COLUMN].astype(str).tolist()
    paths = image_set.table[PATH_COLUMN].astype(str).tolist()
    n_faces = np.full(n, -1, dtype=np.int64)
    box = np.full((n, len(BOX_COORDINATE_COLUMNS)), -1, dtype=np.int64)
    score = np.full(n, np.nan)
    errors: list[str | None] = [None] * n
    start = time.perf_counter()
    for i in tqdm(range(n), desc="detect", unit="image", disable=not progress):
        try:
            picture = read_image(paths[i])
        except DataValidationError as exc:
            errors[i] = str(exc)
            continue
        faces = detect_faces(picture, detector=detector, align=False)
        n_faces[i] = len(faces)
        if faces:
            largest = faces[0].box
            box[i] = [getattr(largest, name) for name in BOX_COORDINATE_COLUMNS]
            if faces[0].score is not None:
                score[i] = faces[0].score
    seconds = time.perf_counter() - start
    readable = n_faces >= 0
    has_face = n_faces > 0
    columns: dict[str, object] = {FILE_COLUMN: pd.array(files, dtype="str")}
    for name in LABEL_COLUMNS:
        if name in image_set.table.columns:
            column = image_set.table[name]
            columns[name] = column.to_numpy() if name == "age_years" else column.array
    columns[N_FACES_COLUMN] = pd.array(np.where(readable, n_faces, 0), dtype="Int64")
    columns[N_FACES_COLUMN][~readable] = pd.NA
    for k, name in enumerate(BOX_COORDINATE_COLUMNS):
        values = pd.array(box[:, k], dtype="Int64")
        values[~has_face] = pd.NA
        columns[name] = values
    columns[SCORE_COLUMN] = pd.array(np.where(has_face, score, np.nan), dtype="Float64")
    columns[STATUS_COLUMN] = pd.array(np.where(readable, STATUS_OK, STATUS_UNREADABLE), dtype="str")
    columns[ERROR_COLUMN] = pd.array(errors, dtype="str")
    table = pd.DataFrame(columns)
    unreadable = tuple((files[i], errors[i] or "") for i in np.flatnonzero(~readable))
    if unreadable:
        logger.warning("%d unreadable image(s), e.g. %s: %s", len(unreadable), *unreadable[0])
    summary = DetectionSummary(
        source=image_set.source,
        detector=repr(detector),
        n_images=n,
        n_detected=int(has_face.sum()),
        n_faces=int(n_faces[readable].sum()),
        unreadable=unreadable,
        missing=image_set.missing,
        ignored=image_set.ignored,
        seconds=seconds,
    )
    return DetectionRun(table=table, summary=summary)
