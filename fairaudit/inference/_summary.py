"""What a prediction run returns: the predictions table and a summary of the run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fairaudit.inference._outputs import write_predictions

__all__ = ["PredictionRun", "PredictionSummary"]

_SHOWN = 10


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
