"""The photo page's logic: reading uploads, drawing boxes, per-face frames and charts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import NEEDS_TORCH

pytest.importorskip("torch", reason=NEEDS_TORCH)

from fairaudit._images import load_rgb
from fairaudit.app._photo import (
    BOX_COLOR,
    FacePrediction,
    draw_faces,
    example_photo,
    face_predictions,
    probability_chart,
    read_photo,
    task_title,
)
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.models._tasks import TaskSpec
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from .conftest import png_bytes

FAIRFACE_TASKS = tuple(TaskSpec(name, v.classes) for name, v in FAIRFACE_VOCABULARIES.items())


# ------------------------------------------------------------------- read_photo
def test_read_photo_decodes_like_the_file_reader(tmp_path, grace_hopper):
    path = tmp_path / "grace.jpg"
    path.write_bytes(grace_hopper)
    image = read_photo(grace_hopper, name="grace.jpg")
    assert image.mode == "RGB"
    assert np.array_equal(np.asarray(image), np.asarray(load_rgb(path)))


def test_read_photo_turns_the_photo_upright_by_its_exif_orientation():
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif, quality=95)
    image = read_photo(buffer.getvalue(), name="phone.jpg")
    assert image.size == (20, 40)  # width and height swapped
    upright = np.asarray(image).mean(axis=(1, 2))
    assert upright[:20].mean() > 200 > 50 > upright[20:].mean()  # white half now on top


def test_read_photo_converts_grayscale_and_rgba_to_rgb():
    gray = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    rgba = Image.new("RGBA", (5, 4), (10, 20, 30, 0))
    assert np.array_equal(
        np.asarray(read_photo(png_bytes(gray), name="g.png")),
        np.repeat(np.asarray(gray)[:, :, None], 3, axis=2),
    )
    assert read_photo(png_bytes(rgba), name="a.png").getpixel((0, 0)) == (10, 20, 30)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello, I am a text file\n", "notes.txt is not an image: its content is in no image"),
        (b"", "notes.txt is empty"),
    ],
)
def test_read_photo_names_a_file_that_is_not_an_image(data, expected):
    with pytest.raises(DataValidationError, match="upload a photo") as info:
        read_photo(data, name="notes.txt")
    assert str(info.value).startswith(expected)


def test_read_photo_names_a_truncated_image(grace_hopper):
    with pytest.raises(DataValidationError, match=r"^cut\.jpg is not an image that can be read"):
        read_photo(grace_hopper[: len(grace_hopper) // 2], name="cut.jpg")


def test_the_example_photo_is_matplotlibs_grace_hopper(grace_hopper):
    name, data = example_photo()
    assert name == "grace_hopper.jpg"
    assert data == grace_hopper


# ------------------------------------------------------------------- draw_faces
def _changed(before: Image.Image, after: Image.Image) -> np.ndarray:
    return np.any(np.asarray(before) != np.asarray(after), axis=2)


def test_draw_faces_boxes_and_numbers_each_face_and_leaves_the_photo_alone():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 100, (300, 400, 3), dtype=np.uint8))
    original = photo.copy()
    # face 1 has room for its tag above; face 2 touches the top edge: its tag goes inside
    faces = pd.DataFrame({"x": [50, 250], "y": [100, 0], "width": [100, 60], "height": [120, 60]})
    out = draw_faces(photo, faces)
    assert np.array_equal(np.asarray(photo), np.asarray(original))  # not modified
    assert out.size == photo.size and out.mode == "RGB"
    pixels = np.asarray(out)
    color = np.array(BOX_COLOR)
    changed = _changed(original, out)
    allowed = np.zeros_like(changed)
    for x, y, w, h in faces.itertuples(index=False):
        # the box's outer edge is drawn in the box colour (the number tag covers the
        # top-left corner, also in the box colour but with a dark digit)
        assert np.all(pixels[y + h - 1, x : x + w] == color)  # bottom
        assert np.all(pixels[y : y + h, x + w - 1] == color)  # right
        assert np.all(pixels[y + 40 : y + h, x] == color)  # left, below the tag
        assert np.all(pixels[y, x + 40 : x + w] == color)  # top, right of the tag
        # ...the middle of the face is untouched
        assert not changed[y + h // 2 - 5 : y + h // 2 + 5, x + w // 2 - 5 : x + w // 2 + 5].any()
        allowed[max(0, y - 40) : y + h, x : x + w] = True  # the box and a tag above it
    assert not changed[~allowed].any()  # nothing drawn elsewhere
    # face 1's tag sits above its box, face 2's inside (at the top-left corner); both
    # have black digits on the box colour
    tag1 = pixels[60:100, 50:90]
    tag2 = pixels[0:40, 250:290]
    for tag in (tag1, tag2):
        assert np.all(tag == color, axis=2).sum() > 50
        assert (tag.astype(int).sum(axis=2) < 150).sum() > 5  # the digit
    assert np.all(pixels[99, 51] == color)  # just above face 1: its tag


def test_draw_faces_without_faces_is_a_copy_and_needs_the_box_columns():
    photo = Image.new("RGB", (30, 20), (1, 2, 3))
    empty = pd.DataFrame({"x": [], "y": [], "width": [], "height": []})
    assert np.array_equal(np.asarray(draw_faces(photo, empty)), np.asarray(photo))
    with pytest.raises(DataValidationError, match=r"lacks the column\(s\) \['height'\]"):
        draw_faces(photo, empty.drop(columns="height"))


# ------------------------------------------------------------- face_predictions
def _faces_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A predict_photo-like table, built independently of the code under test."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        "face": np.arange(1, n + 1),
        "x": rng.integers(0, 100, n),
        "y": rng.integers(0, 100, n),
        "width": rng.integers(20, 50, n),
        "height": rng.integers(20, 50, n),
    }
    for task in FAIRFACE_TASKS:
        proba = rng.dirichlet(np.ones(len(task.classes)), size=n).astype(np.float32)
        columns[f"{task.name}_pred"] = [task.classes[i] for i in proba.argmax(axis=1)]
        for j, cls in enumerate(task.classes):
            columns[f"{task.name}_prob_{cls}"] = proba[:, j]
    return pd.DataFrame(columns)


def test_face_predictions_give_labels_and_probabilities_in_class_order():
    table = _faces_table(3)
    faces = face_predictions(table, FAIRFACE_TASKS)
    assert [f.number for f in faces] == [1, 2, 3]
    for i, face in enumerate(faces):
        assert isinstance(face, FacePrediction)
        row = table.iloc[i]
        assert face.box == (row["x"], row["y"], row["width"], row["height"])
        assert list(face.labels) == ["gender", "age", "race"]
        for task in FAIRFACE_TASKS:
            frame = face.probabilities[task.name]
            assert list(frame["class"]) == list(task.classes)  # "0-2" ... "more than 70"
            expected = [row[f"{task.name}_prob_{c}"] for c in task.classes]
            np.testing.assert_array_equal(frame["probability"], np.asarray(expected, float))
            assert face.labels[task.name] == task.classes[int(np.argmax(expected))]
            assert frame["probability"].sum() == pytest.approx(1, abs=1e-5)


def test_face_summary_gives_the_label_and_its_probability():
    frame = pd.DataFrame({"class": ["Male", "Female"], "probability": [0.125, 0.875]})
    face = FacePrediction(1, (0, 0, 1, 1), {"gender": "Female", "age": "31.3"}, {"gender": frame})
    assert face.summary("gender") == "Gender: Female (88%)"
    assert face.summary("age") == "Age group: 31.3"
    with pytest.raises(KeyError):
        face.summary("race")


def test_face_predictions_of_no_face_is_empty_and_columns_are_checked():
    table = _faces_table(2)
    assert face_predictions(table.iloc[:0], FAIRFACE_TASKS) == []
    with pytest.raises(DataValidationError, match="race_prob_Indian"):
        face_predictions(table.drop(columns="race_prob_Indian"), FAIRFACE_TASKS)


def test_face_predictions_format_a_regression_task():
    table = pd.DataFrame({"x": [1], "y": [2], "width": [3], "height": [4], "age_pred": [31.26]})
    task = TaskSpec("age", (), kind="regression", max_value=116.0)
    (face,) = face_predictions(table, (task,))
    assert face.labels == {"age": "31.3"} and face.probabilities == {}


# ------------------------------------------------------------ probability_chart
def test_probability_chart_keeps_the_class_order_on_a_fixed_axis():
    pytest.importorskip("altair", reason="needs altair (installed with streamlit)")
    age = FAIRFACE_TASKS[1]
    frame = pd.DataFrame({"class": list(age.classes), "probability": np.linspace(0, 0.2, 9)})
    spec = probability_chart(frame, predicted="60-69", title="Age group").to_dict()
    assert spec["encoding"]["y"]["sort"] == list(age.classes)
    assert spec["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert spec["title"] == "Age group"
    data = next(iter(spec["datasets"].values()))
    assert [d["class"] for d in data] == list(age.classes)
    assert [d["probability"] for d in data] == pytest.approx(list(np.linspace(0, 0.2, 9)))
    assert [d["class"] for d in data if d["predicted"]] == ["60-69"]


def test_task_titles():
    assert [task_title(t) for t in ("gender", "age", "race", "smile")] == [
        "Gender",
        "Age group",
        "Ethnicity (race)",
        "Smile",
    ]


# ------------------------------------------------- the two readings of a photo


def test_predict_command_names_the_cli_call_of_each_reading():
    from fairaudit.app._photo import predict_command

    assert (
        predict_command("my photo.jpg", model="fairface-lightweight-112", mode="detect")
        == "fairaudit predict 'my photo.jpg' --model fairface-lightweight-112 --detect"
    )
    assert (
        predict_command("2.jpg", model="fairface-mobilenet_v2-112", mode="crop")
        == "fairaudit predict 2.jpg --model fairface-mobilenet_v2-112"
    )
    with pytest.raises(ConfigurationError, match=r"mode must be one of \['detect', 'crop'\]"):
        predict_command("2.jpg", model="m", mode="faces")


def test_predict_faces_table_refuses_an_unknown_mode_and_a_detector_without_detection():
    from fairaudit.app._photo import predict_faces_table

    photo = Image.new("RGB", (8, 8))
    with pytest.raises(
        ConfigurationError, match=r"mode must be one of \['detect', 'crop'\], got 'x'"
    ):
        predict_faces_table(object(), photo, mode="x")
    with pytest.raises(ConfigurationError, match='a detector is used only with mode="detect"'):
        predict_faces_table(object(), photo, mode="crop", detector=object())


def test_compare_readings_puts_the_two_labels_side_by_side():
    from fairaudit.app._photo import compare_readings

    def face(gender: float, age: float) -> FacePrediction:
        frame = pd.DataFrame({"x": [0], "y": [0], "width": [9], "height": [9]})
        tasks = (
            TaskSpec("gender", ("Male", "Female")),
            TaskSpec("age", kind="regression", max_value=116.0),
        )
        frame["gender_pred"] = "Female" if gender > 0.5 else "Male"
        frame["gender_prob_Male"], frame["gender_prob_Female"] = 1 - gender, gender
        frame["age_pred"] = age
        (out,) = face_predictions(frame, tasks)
        return out

    table = compare_readings(face(0.645, 31.26), face(0.27, 31.24))
    assert table.index.tolist() == ["Gender", "Age group"]
    assert table.to_dict("list") == {
        "face found (--detect)": ["Female (64.5%)", "31.3"],
        "whole photo (no --detect)": ["Male (73.0%)", "31.2"],
        "same label": [False, False],
    }
