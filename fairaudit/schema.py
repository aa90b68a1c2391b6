"""The predictions-table contract: column names, status values, box columns.

Defined once here and imported everywhere a predictions or detection table is
written (:mod:`fairaudit.inference`, :mod:`fairaudit.detect`) or read
(:mod:`fairaudit.model_audit`, :mod:`fairaudit.compare`). Layer 1: imports only the
standard library and :mod:`fairaudit.vocab`, so reading the contract never pulls
torch.

A predictions table (``fairaudit predict``, :meth:`fairaudit.inference.Predictor.run`)
has one row per image (or per detected face), with:

* :data:`FILE_COLUMN` (``file``): the join key, the image path relative to the
  dataset root;
* the true labels :data:`LABEL_COLUMNS` when known (``gender``, ``age``,
  ``race``, ``age_years``);
* with face detection, :data:`FACE_BOX_COLUMNS`: the face's index in its image
  (:data:`FACE_COLUMN`, largest first) and its box (:data:`BOX_COORDINATE_COLUMNS`);
* per task, :func:`pred_column` (``{task}_pred``) and, for classification, one
  :func:`prob_column` per class (``{task}_prob_{class}``). Tables from other
  tools may instead hold the whole vector in one :func:`proba_column`
  (``{task}_prob``);
* :data:`STATUS_COLUMN` (one of :data:`PREDICTION_STATUSES`) and
  :data:`ERROR_COLUMN` (why an image was unreadable).

A detection table (:func:`fairaudit.detect.detect_dataset`) has one row per
image: ``file``, the labels, :data:`N_FACES_COLUMN`, the largest face's
:data:`BOX_COORDINATE_COLUMNS` and :data:`SCORE_COLUMN`, ``status`` (one of
:data:`DETECTION_STATUSES`) and ``error``.
"""

from __future__ import annotations

from fairaudit.vocab import ATTRIBUTES

__all__ = [
    "FILE_COLUMN",
    "STATUS_COLUMN",
    "STATUS_OK",
    "pred_column",
    "prob_column",
]

# -- columns -------------------------------------------------------------------------------

#: The join key of a table: the image path relative to the dataset root (``"val/12.jpg"``).
FILE_COLUMN = "file"
#: Absolute image path of an image set (not written to a predictions table).
PATH_COLUMN = "path"
#: True-label columns carried from a label table into predictions and detection tables.
LABEL_COLUMNS: tuple[str, ...] = (*ATTRIBUTES, "age_years")
#: Row status (see :data:`PREDICTION_STATUSES`, :data:`DETECTION_STATUSES`).
STATUS_COLUMN = "status"
#: Why an image could not be read (missing for the other rows).
ERROR_COLUMN = "error"
#: Suffix of the predicted-label column of a task.
PRED_SUFFIX = "_pred"
#: Suffix of the probability column(s) of a task.
PROB_SUFFIX = "_prob"


def pred_column(task: str) -> str:
    """Name of the predicted-label column of a task: ``"{task}_pred"``."""
    return f"{task}{PRED_SUFFIX}"


def prob_column(task: str, cls: str) -> str:
    """Name of the probability column of one class: ``"{task}_prob_{class}"``."""
    return f"{prob_prefix(task)}{cls}"


def prob_prefix(task: str) -> str:
    """Prefix of a task's per-class probability columns: ``"{task}_prob_"``."""
    return f"{task}{PROB_SUFFIX}_"


def proba_column(task: str) -> str:
    """Name of the one-column form of a task's probabilities: ``"{task}_prob"``.

    It holds the whole vector per row (a list, or a numpy-printed array) in the
    model's class order; accepted when reading, never written by fairaudit.
    """
    return f"{task}{PROB_SUFFIX}"


# -- boxes ---------------------------------------------------------------------------------

#: A face box, in the original image's pixels (it may reach past the border).
#: The box alone: the detection table has these (largest face), and so do the
#: faces the app draws.
BOX_COORDINATE_COLUMNS: tuple[str, ...] = ("x", "y", "width", "height")
#: Index of a detected face within its image (0-based, largest first).
FACE_COLUMN = "face"
#: Columns of a detected face in a predictions table (``Predictor.run(detect=True)``,
#: :meth:`~fairaudit.inference.Predictor.predict_photo`): its index, then its box.
#: This is what :data:`fairaudit.inference.BOX_COLUMNS` has always named.
FACE_BOX_COLUMNS: tuple[str, ...] = (FACE_COLUMN, *BOX_COORDINATE_COLUMNS)
#: Faces found in an image (detection table; missing for an unreadable image).
N_FACES_COLUMN = "n_faces"
#: The detector's score of the largest face (detection table; missing without a face).
SCORE_COLUMN = "score"

# -- status values -------------------------------------------------------------------------

#: ``status`` of an image that was read (predicted, or searched for faces).
STATUS_OK = "ok"
#: ``status`` of an image that could not be read (its predictions are missing).
STATUS_UNREADABLE = "unreadable"
#: ``status`` of an image where face detection found no face (no predictions).
STATUS_NO_FACE = "no_face"
#: ``status`` values of a predictions table.
PREDICTION_STATUSES: tuple[str, ...] = (STATUS_OK, STATUS_UNREADABLE, STATUS_NO_FACE)
#: ``status`` values of a detection table: the image was searched, or could not be read.
DETECTION_STATUSES: tuple[str, ...] = (STATUS_OK, STATUS_UNREADABLE)
