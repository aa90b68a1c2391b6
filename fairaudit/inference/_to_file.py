"""Chunked prediction runs that survive a kill: :func:`predict_to_file`.

The images are predicted by a :class:`~fairaudit.inference.Predictor` in chunks, each
written when done beside the output; a killed run resumes from its finished chunks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd

from fairaudit._io import open_chunk_folder
from fairaudit.datasets import ImageSet
from fairaudit.datasets._image_sets import resolve_images
from fairaudit.detect._face_detector import FaceDetector
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.inference._outputs import write_predictions
from fairaudit.inference._predictor import Predictor
from fairaudit.inference._summary import PredictionRun, PredictionSummary
from fairaudit.schema import (
    ERROR_COLUMN,
    FILE_COLUMN,
    STATUS_COLUMN,
    STATUS_NO_FACE,
    STATUS_OK,
    STATUS_UNREADABLE,
)

__all__ = ["DEFAULT_CHUNK_SIZE", "predict_to_file", "remove_stale_temp_files"]

logger = logging.getLogger(__name__)

#: Images per chunk of :func:`predict_to_file` (each chunk is written when done).
DEFAULT_CHUNK_SIZE = 1000


def _parts_folder(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def remove_stale_temp_files(output: Path) -> list[Path]:
    """Remove the temporary files a killed write of ``output`` left beside it."""
    removed = []
    for folder in (output.parent, _parts_folder(output)):
        if not folder.is_dir():
            continue
        for tmp in folder.glob(".*.tmp"):
            if folder != output.parent or tmp.name.startswith(f".{output.name}."):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    if removed:
        logger.info("removed %d temporary file(s) of an interrupted run", len(removed))
    return removed


def _fingerprint(image_set: ImageSet, chunk_size: int) -> dict[str, object]:
    files = "\n".join(map(str, image_set.table[FILE_COLUMN])).encode("utf-8")
    return {
        "n_images": len(image_set),
        "chunk_size": chunk_size,
        "files_sha256": hashlib.sha256(files).hexdigest(),
    }


def predict_to_file(
    predictor: Predictor,
    images: object,
    output: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    resume: bool = False,
    limit: int | None = None,
    progress: bool = True,
    detect: bool | None = None,
    detector: FaceDetector | None = None,
) -> PredictionRun:
    """Predict in chunks, writing each chunk when done, then the whole table, atomically.

    Each chunk of ``chunk_size`` images is written (atomically) to
    ``{output}.parts/``; when all are done the table is written to ``output``
    (atomically) and the parts are removed. A killed run keeps its finished
    chunks: run again with ``resume=True`` (``fairaudit predict --resume``) to
    predict only the rest. Temporary files of a killed write are removed.

    Raises
    ------
    DataValidationError
        Parts of an earlier run without ``resume``; or ``resume`` on parts of a
        different image list or chunk size.
    """
    if chunk_size < 1:
        raise ConfigurationError(f"chunk_size must be at least 1, got {chunk_size}")
    if detect is None:
        detect = predictor.detect_default
    output = Path(output)
    image_set = resolve_images(images, limit=limit)
    parts = _parts_folder(output)
    remove_stale_temp_files(output)
    fingerprint = _fingerprint(image_set, chunk_size)
    open_chunk_folder(parts, fingerprint, resume=resume, what="image list or chunk size")
    suffix = ".parquet" if output.suffix.lower() in (".parquet", ".pq") else ".csv"
    tables: list[pd.DataFrame] = []
    seconds = 0.0
    resumed = 0
    n = len(image_set)
    for k, start in enumerate(range(0, n, chunk_size)):
        part = parts / f"part-{k:05d}{suffix}"
        chunk = image_set.table.iloc[start : start + chunk_size].reset_index(drop=True)
        if part.exists():
            done = pd.read_parquet(part) if suffix == ".parquet" else pd.read_csv(part)
            if (
                done[FILE_COLUMN].astype(str).drop_duplicates().tolist()
                != chunk[FILE_COLUMN].astype(str).tolist()
            ):
                raise DataValidationError(f"{part} does not hold chunk {k} of this image list")
            tables.append(done)
            resumed += 1
            continue
        subset = replace(image_set, table=chunk, missing=(), ignored=())
        run = predictor.run(subset, progress=progress, detect=detect, detector=detector)
        write_predictions(run.table, part)
        seconds += run.summary.seconds
        tables.append(run.table)
    if resumed:
        logger.info("resumed: %d finished chunk(s) read from %s", resumed, parts)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if predictor.provenance is not None:
        table.attrs["provenance"] = predictor.provenance
    write_predictions(table, output)
    shutil.rmtree(parts, ignore_errors=True)
    status = (
        table[STATUS_COLUMN].astype(str) if STATUS_COLUMN in table else pd.Series([], dtype=str)
    )
    unreadable_rows = table[status == STATUS_UNREADABLE] if len(table) else table
    errors = unreadable_rows[ERROR_COLUMN] if ERROR_COLUMN in unreadable_rows else None
    unreadable = tuple(
        (str(f), "" if errors is None or pd.isna(e) else str(e))
        for f, e in zip(
            unreadable_rows[FILE_COLUMN] if len(unreadable_rows) else [],
            errors if errors is not None else [None] * len(unreadable_rows),
            strict=False,
        )
    )
    ok_files = table.loc[status == STATUS_OK, FILE_COLUMN] if len(table) else []
    no_face = (
        tuple(map(str, table.loc[status == STATUS_NO_FACE, FILE_COLUMN])) if len(table) else ()
    )
    summary = PredictionSummary(
        source=image_set.source,
        backend=predictor.backend,
        n_images=n,
        n_predicted=int(pd.Series(ok_files).nunique()),
        unreadable=unreadable,
        missing=image_set.missing,
        ignored=image_set.ignored,
        seconds=seconds,
        detector=(repr(detector) if detector is not None else "default") if detect else None,
        n_faces=len(ok_files) if detect else 0,
        no_face=no_face,
    )
    return PredictionRun(table=table, summary=summary)
