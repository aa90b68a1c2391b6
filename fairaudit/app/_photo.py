"""What the photo page shows: the decoded photo, its faces boxed, per-face predictions.

Pure Python (PIL, pandas; altair only inside :func:`probability_chart`), so every
piece is testable without a running app. The page reads a photo with
:func:`read_photo`, predicts it with :func:`predict_faces_table` (the prediction
path of ``fairaudit predict``: with ``--detect`` for a photo of people, without it
for a photo that is one face crop already), then shows :func:`draw_faces` and, per
face of :func:`face_predictions`, the labels and one :func:`probability_chart` per
task. For a photo of one face it also shows :func:`compare_readings`: the photo
taken as a face crop beside the face found in it, and why they differ.
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from fairaudit._images import load_rgb
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.schema import BOX_COORDINATE_COLUMNS, pred_column, prob_column

if TYPE_CHECKING:
    import altair

    from fairaudit.detect import FaceDetector
    from fairaudit.inference import Predictor

__all__ = [
    "AXIS_HEIGHT",
    "BAR_HEIGHT",
    "BOX_COLOR",
    "BOX_COLUMNS",
    "DETECTOR_NOTES",
    "PHOTO_MODES",
    "READINGS_DIFFER",
    "TASK_TITLES",
    "FacePrediction",
    "compare_readings",
    "draw_faces",
    "example_photo",
    "face_predictions",
    "photo_detector",
    "predict_command",
    "predict_faces_table",
    "probability_chart",
    "read_photo",
    "task_title",
]

#: Colour of the face boxes and of their number tags (text in black).
BOX_COLOR = (255, 212, 0)
#: Columns of a faces table that place a face in the photo (original pixels).
BOX_COLUMNS = BOX_COORDINATE_COLUMNS
#: How the page names the tasks of the FairFace models.
TASK_TITLES: Mapping[str, str] = {
    "gender": "Gender",
    "age": "Age group",
    "race": "Ethnicity (race)",
}
#: Height in pixels of one bar of a probability chart (the chart grows with the classes).
BAR_HEIGHT = 28
#: Height in pixels of a probability chart's axis (labels included).
AXIS_HEIGHT = 40
#: The example photo: matplotlib's bundled portrait of Grace Hopper (public domain).
EXAMPLE_PHOTO = "grace_hopper.jpg"


#: How the page names each face detector and its crops.
DETECTOR_NOTES: Mapping[str, str] = {
    "dlib-cnn": (
        "dlib's CNN face detector, with FairFace's alignment (5 landmarks, an upright "
        "chip with padding 0.25): the crops the FairFace models were trained on"
    ),
    "dlib-hog": (
        "dlib's HOG face detector, with FairFace's alignment (5 landmarks, an upright "
        "chip with padding 0.25)"
    ),
    "haar": (
        "OpenCV's frontal-face Haar cascade, without alignment (a square crop with a 25% "
        'margin); install "fairaudit-faces[detect]" with dlib for FairFace\'s aligned chips'
    ),
}

#: How the photo page can read a photo (its sidebar's choice), by mode:
#: ``detect`` finds every face and crops each (``fairaudit predict PHOTO --detect``);
#: ``crop`` takes the whole photo as one face crop (``fairaudit predict PHOTO``).
PHOTO_MODES: Mapping[str, str] = {
    "detect": "A photo of people: find each face",
    "crop": "One face crop, like FairFace's images",
}

#: Why the two readings of a photo of one face give different answers (the page says it).
READINGS_DIFFER = (
    "`fairaudit predict` without `--detect` takes the whole photo as the face crop, as "
    "FairFace's and UTKFace's images already are. With `--detect`, as on this page, the "
    "detector finds the face and crops it again (FairFace's aligned chip, padding 0.25, "
    "with dlib). A photo that is already such a crop is then cropped twice: the model "
    "sees the face larger and framed otherwise than in training, and its answer changes. "
    'For such a photo choose "One face crop" in the sidebar; for any other photo the '
    "face found is the reading the models were trained for."
)


def photo_detector() -> tuple[str, FaceDetector]:
    """The app's face detector: the best installed (``dlib-cnn`` > ``dlib-hog`` > ``haar``).

    The dlib detectors crop each face as FairFace's aligned chip; without dlib, the
    Haar cascade's photo preset. See :data:`DETECTOR_NOTES` for how the page names it.

    Returns
    -------
    tuple of (str, FaceDetector)
        The detector's name and the detector (preset for photos).
    """
    from fairaudit.detect import make_detector
    from fairaudit.detect._choice import best_detector_name

    name = best_detector_name()
    return name, make_detector(name, preset="photos", align=True)


def predict_faces_table(
    predictor: Predictor,
    photo: Image.Image,
    *,
    mode: str = "detect",
    detector: FaceDetector | None = None,
) -> pd.DataFrame:
    """The faces table of a photo, predicted as ``fairaudit predict`` predicts it.

    Parameters
    ----------
    predictor : Predictor
        The model's predictor (:func:`~fairaudit.app.load_predictor`, built as
        ``fairaudit predict --model NAME`` builds it).
    photo : PIL.Image.Image
        The photo (:func:`read_photo`).
    mode : {"detect", "crop"}, default="detect"
        ``detect``: every face the detector finds, each cropped as ``fairaudit
        predict PHOTO --detect`` crops it
        (:meth:`~fairaudit.inference.Predictor.predict_photo`); ``crop``: the
        whole photo as one face crop, as ``fairaudit predict PHOTO`` reads it
        (:meth:`~fairaudit.inference.Predictor.predict_face_crop`). See
        :data:`PHOTO_MODES`.
    detector : FaceDetector, optional
        With ``detect``: the detector (:func:`photo_detector`, the one of
        ``--detect``); default :func:`fairaudit.detect.default_detector`.

    Returns
    -------
    pandas.DataFrame
        One row per face (``crop``: one row, the whole photo's box): ``face``,
        ``x``, ``y``, ``width``, ``height``, then the predictions.

    Raises
    ------
    ConfigurationError
        If ``mode`` is not one of :data:`PHOTO_MODES`, or a detector is given with ``crop``.
    """
    if mode not in PHOTO_MODES:
        raise ConfigurationError(f"mode must be one of {list(PHOTO_MODES)}, got {mode!r}")
    if mode == "crop":
        if detector is not None:
            raise ConfigurationError('a detector is used only with mode="detect"')
        return predictor.predict_face_crop(photo)
    return predictor.predict_photo(photo, detector=detector)


def predict_command(name: str, *, model: str, mode: str) -> str:
    """The ``fairaudit predict`` command that gives the page's answer for a photo file.

    Examples
    --------
    >>> predict_command("my photo.jpg", model="fairface-mobilenet_v2-112", mode="detect")
    "fairaudit predict 'my photo.jpg' --model fairface-mobilenet_v2-112 --detect"
    """
    if mode not in PHOTO_MODES:
        raise ConfigurationError(f"mode must be one of {list(PHOTO_MODES)}, got {mode!r}")
    command = f"fairaudit predict {shlex.quote(name)} --model {shlex.quote(model)}"
    return command + (" --detect" if mode == "detect" else "")


def task_title(task: str) -> str:
    """How the page names a task: :data:`TASK_TITLES`, else the task name capitalised."""
    return TASK_TITLES.get(task, task.capitalize())


def read_photo(data: bytes, *, name: str) -> Image.Image:
    """Decode an uploaded photo into an upright RGB image.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name, used in the error message.

    Returns
    -------
    PIL.Image.Image
        The RGB image, turned upright by its EXIF orientation (what
        :func:`fairaudit.datasets.load_rgb` does for files), in the pixel frame of
        the boxes that :meth:`~fairaudit.inference.Predictor.predict_photo` returns
        for it.

    Raises
    ------
    DataValidationError
        If the file is empty or is not an image PIL can decode, naming the file.
    """
    if not data:
        raise DataValidationError(f"{name} is empty: upload a photo (JPEG, PNG, WebP, ...)")
    try:
        return load_rgb(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise DataValidationError(
            f"{name} is not an image: its content is in no image format that can be read; "
            "upload a photo (JPEG, PNG, WebP, ...)"
        ) from exc
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... by format
        raise DataValidationError(
            f"{name} is not an image that can be read ({type(exc).__name__}: {exc}); "
            "upload a photo (JPEG, PNG, WebP, ...)"
        ) from exc


def example_photo() -> tuple[str, bytes]:
    """The example photo of the app: matplotlib's bundled ``grace_hopper.jpg``.

    Returns
    -------
    tuple of (str, bytes)
        The file name and the JPEG bytes.
    """
    from matplotlib import cbook

    with cbook.get_sample_data(EXAMPLE_PHOTO) as handle:
        return EXAMPLE_PHOTO, handle.read()


def _check_columns(faces: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in faces.columns]
    if missing:
        raise DataValidationError(
            f"the faces table lacks the column(s) {missing}; it has {list(faces.columns)}"
        )


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType: the fixed-size bitmap font
        return ImageFont.load_default()


def draw_faces(image: Image.Image, faces: pd.DataFrame) -> Image.Image:
    """The photo with each face boxed and numbered 1, 2, ... in table order.

    Parameters
    ----------
    image : PIL.Image.Image
        The photo the boxes refer to (see :func:`read_photo`); it is not modified.
    faces : pandas.DataFrame
        One row per face with the box columns ``x``, ``y``, ``width``, ``height``
        in the photo's pixels (the table of
        :meth:`~fairaudit.inference.Predictor.predict_photo`, largest face first).

    Returns
    -------
    PIL.Image.Image
        An RGB copy with a :data:`BOX_COLOR` rectangle around each box (its
        outer edge on the box's edge, the line drawn inwards) and the face's
        number in a tag at the box's top-left corner, above the box where there
        is room, else inside it.
    """
    _check_columns(faces, BOX_COLUMNS)
    out = image.convert("RGB")  # always a copy (convert returns a new image)
    draw = ImageDraw.Draw(out)
    longest = max(out.size)
    line = max(2, round(longest / 200))
    font = _font(max(16, round(longest / 24)))
    for number, row in enumerate(faces[list(BOX_COLUMNS)].itertuples(index=False), start=1):
        x, y, width, height = (int(v) for v in row)
        draw.rectangle(
            (x, y, x + width - 1, y + height - 1), outline=BOX_COLOR, width=min(line, width)
        )
        label = str(number)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        pad = max(2, line)
        tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
        tag_y = y - tag_h if y - tag_h >= 0 else y
        draw.rectangle((x, tag_y, x + tag_w - 1, tag_y + tag_h - 1), fill=BOX_COLOR)
        draw.text((x + pad - left, tag_y + pad - top), label, fill=(0, 0, 0), font=font)
    return out


@dataclass(frozen=True)
class FacePrediction:
    """What the page shows for one face.

    Attributes
    ----------
    number : int
        The face's number in the photo, 1 for the first (largest) face.
    box : tuple of int
        ``(x, y, width, height)`` in the photo's pixels.
    labels : dict of str to str
        Per task (in the model's task order), the predicted class, or the predicted
        value of a regression task formatted with one decimal.
    probabilities : dict of str to pandas.DataFrame
        Per classification task, a frame with columns ``class`` (the task's classes
        in the model's class order) and ``probability`` (float).
    """

    number: int
    box: tuple[int, int, int, int]
    labels: dict[str, str]
    probabilities: dict[str, pd.DataFrame]

    def summary(self, task: str) -> str:
        """The prediction of a task in words: ``"Gender: Female (87%)"``.

        The percentage is the predicted class's probability, rounded to a whole
        percent; a regression task shows its value alone (``"Age: 31.3"``).

        Raises
        ------
        KeyError
            If the face has no prediction for ``task``.
        """
        label = self.labels[task]
        text = f"{task_title(task)}: {label}"
        frame = self.probabilities.get(task)
        if frame is None:
            return text
        probability = float(frame.loc[frame["class"] == label, "probability"].iloc[0])
        return f"{text} ({probability:.0%})"


def face_predictions(faces: pd.DataFrame, tasks: Sequence[Any]) -> list[FacePrediction]:
    """One :class:`FacePrediction` per row of a faces table, in table order.

    Parameters
    ----------
    faces : pandas.DataFrame
        The table of :meth:`~fairaudit.inference.Predictor.predict_photo`: the
        box columns, then per task ``{task}_pred`` and, for a classification task,
        ``{task}_prob_{class}`` per class.
    tasks : sequence of TaskSpec
        The model's tasks (``Predictor.tasks``), which say the classes and their order.

    Returns
    -------
    list of FacePrediction
        Empty for a table without rows (no face found).

    Raises
    ------
    DataValidationError
        If a column the tasks call for is missing.
    """
    needed = list(BOX_COLUMNS)
    for task in tasks:
        needed.append(pred_column(task.name))
        if task.kind == "classification":
            needed.extend(prob_column(task.name, c) for c in task.classes)
    _check_columns(faces, needed)
    out = []
    for number, (_, row) in enumerate(faces.iterrows(), start=1):
        labels: dict[str, str] = {}
        probabilities: dict[str, pd.DataFrame] = {}
        for task in tasks:
            value = row[pred_column(task.name)]
            if task.kind == "classification":
                labels[task.name] = str(value)
                probabilities[task.name] = pd.DataFrame(
                    {
                        "class": list(task.classes),
                        "probability": np.array(
                            [row[prob_column(task.name, c)] for c in task.classes], dtype=float
                        ),
                    }
                )
            else:
                labels[task.name] = f"{float(value):.1f}"
        box = (int(row["x"]), int(row["y"]), int(row["width"]), int(row["height"]))
        out.append(FacePrediction(number, box, labels, probabilities))
    return out


def compare_readings(found: FacePrediction, whole: FacePrediction) -> pd.DataFrame:
    """The two readings of a photo of one face, task by task.

    Parameters
    ----------
    found : FacePrediction
        The face the detector found (mode ``detect``, ``fairaudit predict --detect``).
    whole : FacePrediction
        The whole photo taken as a face crop (mode ``crop``, ``fairaudit predict``).

    Returns
    -------
    pandas.DataFrame
        One row per task of ``found``, indexed by :func:`task_title`, with columns
        ``face found (--detect)`` and ``whole photo (no --detect)``, each the
        predicted label and, for a classification task, its probability
        (``"Female (64.5%)"``), and ``same label`` (bool).
    """
    rows = {}
    for task, label in found.labels.items():
        cells = []
        for face, shown in ((found, label), (whole, whole.labels[task])):
            frame = face.probabilities.get(task)
            if frame is not None:
                probability = float(frame.loc[frame["class"] == shown, "probability"].iloc[0])
                shown = f"{shown} ({probability:.1%})"
            cells.append(shown)
        rows[task_title(task)] = (*cells, label == whole.labels[task])
    return pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["face found (--detect)", "whole photo (no --detect)", "same label"],
    )


def probability_chart(
    frame: pd.DataFrame, *, predicted: str, title: str | None = None
) -> altair.Chart:
    """A horizontal bar chart of one task's class probabilities, classes in order.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``class`` and ``probability`` (see :class:`FacePrediction`); the
        bars keep the frame's row order (the model's class order), not an
        alphabetical one.
    predicted : str
        The predicted class, whose bar is highlighted.
    title : str, optional
        The chart's title (default: none).

    Returns
    -------
    altair.Chart
        Probabilities on a fixed 0-100% axis; a tooltip gives each value. The chart
        is :data:`BAR_HEIGHT` pixels per class plus :data:`AXIS_HEIGHT` high, meant
        to be shown with its own theme (``st.altair_chart(chart, theme=None)``;
        Streamlit's theme squeezes short charts).
    """
    import altair as alt

    classes = [str(c) for c in frame["class"]]
    data = frame.assign(predicted=[c == predicted for c in classes])
    return (
        alt.Chart(data, **({"title": title} if title else {}))
        .mark_bar()
        .encode(
            y=alt.Y("class:N", sort=classes, title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X(
                "probability:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", tickCount=5),
                title=None,
            ),
            color=alt.Color(
                "predicted:N",
                scale=alt.Scale(domain=[True, False], range=["#0a4d8c", "#9fb3c8"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("class:N"),
                alt.Tooltip("probability:Q", format=".1%"),
            ],
        )
        .properties(height=BAR_HEIGHT * len(classes) + AXIS_HEIGHT)
    )
