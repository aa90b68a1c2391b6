"""The photo page, driven through Streamlit's AppTest (uploads included)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import NEEDS_TORCH

pytest.importorskip("torch", reason=NEEDS_TORCH)

from fairaudit.app._models import DEFAULT_MODEL, load_predictor, model_note
from fairaudit.app._photo import read_photo

from .conftest import TEST_MODEL, png_bytes

TASKS = ("gender", "age", "race")
TITLES = {"gender": "Gender", "age": "Age group", "race": "Ethnicity (race)"}


@pytest.fixture(scope="module")
def predictors():
    """The library's own predictors: the oracle of what the page must show."""
    return {name: load_predictor(name) for name in (TEST_MODEL, DEFAULT_MODEL)}


def charts(at) -> list[tuple[dict, pd.DataFrame]]:
    """Spec and data of every Vega-Lite chart of the page, in page order."""
    pa = pytest.importorskip("pyarrow", reason="needs pyarrow to read the chart data")
    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        (dataset,) = chart.proto.datasets
        out.append((spec, pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()))
    return out


def summary(expected: pd.DataFrame, i: int, task: str) -> str:
    """What the page must write for a task of face ``i``: "**Gender: Male (58%)**"."""
    label = str(expected.loc[i, f"{task}_pred"])
    probability = float(expected.loc[i, f"{task}_prob_{label}"])
    return f"**{TITLES[task]}: {label} ({probability:.0%})**"


def assert_shows_faces(at, expected: pd.DataFrame, name: str, model: str) -> None:
    """The page shows each face of ``expected`` (predict_photo's table) as it should."""
    assert not at.exception, at.exception
    assert not at.error and not at.warning
    n = len(expected)
    assert n >= 1
    count = f"{n} face{'s' if n > 1 else ''}"
    assert [h.value for h in at.subheader] == [f"{count} found in {name}"] + [
        f"Face {i}" for i in range(1, n + 1)
    ]
    assert at.image[0].captions == [f"{name}: {count}, largest first"]
    assert [im.captions for im in at.image[1:]] == [[f"Face {i}"] for i in range(1, n + 1)]
    assert model_note(model) in [c.value for c in at.caption]
    # per face, in the model's task order: the label and its probability, then its chart
    shown = [m.value for m in at.markdown if m.value.startswith("**")]
    assert shown == [summary(expected, i, task) for i in range(n) for task in TASKS]
    predictor = load_predictor(model)
    drawn = charts(at)
    assert len(drawn) == 3 * n
    for (spec, data), (i, task) in zip(drawn, [(i, t) for i in range(n) for t in TASKS]):
        classes = next(t.classes for t in predictor.tasks if t.name == task)
        assert spec["encoding"]["y"]["sort"] == list(classes)
        assert list(data["class"]) == list(classes)
        expected_probs = [expected.loc[i, f"{task}_prob_{c}"] for c in classes]
        np.testing.assert_allclose(data["probability"], expected_probs, rtol=0, atol=1e-6)
        assert data.loc[data["predicted"], "class"].tolist() == [expected.loc[i, f"{task}_pred"]]


def test_the_page_asks_for_a_photo_first(app):
    at = app.run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == [
        "No photo yet: upload one (JPEG, PNG, WebP, ...) or try the example photo. "
        "Each face found is boxed and numbered, with its predicted labels."
    ]
    assert at.sidebar.selectbox[0].value == TEST_MODEL  # from --model
    assert at.sidebar.selectbox[0].options == [
        "fairface-lightweight-112",
        DEFAULT_MODEL,
        "fairface-mobilenet_v2_face_descriptor-112",
    ]
    assert model_note(TEST_MODEL) in [c.value for c in at.caption]
    assert not at.get("vega_lite_chart") and not at.error and not at.warning


def test_the_example_photo_shows_grace_hoppers_face(app, predictors, grace_hopper):
    at = app.run()
    at.button[0].click().run()
    expected = predictors[TEST_MODEL].predict_photo(read_photo(grace_hopper, name="g"))
    assert len(expected) == 1
    assert_shows_faces(at, expected, "grace_hopper.jpg", TEST_MODEL)


def test_an_uploaded_photo_shows_its_face(app, predictors, astronaut_png):
    at = app.run()
    at.file_uploader[0].upload("astronaut.png", astronaut_png, "image/png").run()
    expected = predictors[TEST_MODEL].predict_photo(read_photo(astronaut_png, name="a"))
    assert len(expected) == 1
    assert_shows_faces(at, expected, "astronaut.png", TEST_MODEL)


@pytest.mark.shared_data
def test_a_group_photo_shows_every_face_largest_first(app, predictors, fairface_root):
    # three FairFace val faces of different sizes on one white canvas
    canvas = Image.new("RGB", (1000, 420), (255, 255, 255))
    for file, left, side in (("1.jpg", 40, 160), ("3.jpg", 330, 300), ("4.jpg", 700, 224)):
        face = Image.open(fairface_root / "val" / file).convert("RGB").resize((side, side))
        canvas.paste(face, (left, 60))
    photo = png_bytes(canvas)
    expected = predictors[TEST_MODEL].predict_photo(read_photo(photo, name="group"))
    assert len(expected) == 3
    assert expected["width"].is_monotonic_decreasing
    at = app.run()
    at.file_uploader[0].upload("group.png", photo, "image/png").run()
    assert_shows_faces(at, expected, "group.png", TEST_MODEL)
    assert not readings(at)  # the whole photo is no face crop: no second reading


def test_a_photo_without_a_face_says_so(app, blank_png):
    at = app.run()
    at.file_uploader[0].upload("blank.png", blank_png, "image/png").run()
    assert not at.exception, at.exception
    (warning,) = at.warning
    assert warning.value.startswith("No face found in blank.png. The detector")
    assert not at.error and not at.get("vega_lite_chart")
    assert at.image[0].captions == ["blank.png"]  # the photo is still shown


def test_a_file_that_is_not_an_image_is_named(app):
    at = app.run()
    at.file_uploader[0].upload("notes.txt", b"shopping list: eggs, milk\n", "text/plain").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "notes.txt is not an image: its content is in no image format that can be read; "
        "upload a photo (JPEG, PNG, WebP, ...)"
    ]
    assert not at.warning and not at.get("vega_lite_chart") and not at.image


def test_the_last_choice_wins_between_upload_and_example(app, blank_png):
    at = app.run()
    at.file_uploader[0].upload("blank.png", blank_png, "image/png").run()
    assert at.warning[0].value.startswith("No face found in blank.png")
    at.button[0].click().run()  # the example replaces the upload...
    assert at.subheader[0].value == "1 face found in grace_hopper.jpg"
    at.file_uploader[0].set_value(("notes.txt", b"x", "text/plain")).run()  # ...until a new one
    assert at.error[0].value.startswith("notes.txt is not an image")


def test_the_model_selector_changes_the_model_and_survives_a_page_switch(
    app, predictors, grace_hopper
):
    at = app.run()
    at.sidebar.selectbox[0].set_value(DEFAULT_MODEL).run()
    at.button[0].click().run()
    expected = predictors[DEFAULT_MODEL].predict_photo(read_photo(grace_hopper, name="g"))
    assert_shows_faces(at, expected, "grace_hopper.jpg", DEFAULT_MODEL)
    at.switch_page("audit_page.py").run()
    assert not at.sidebar.selectbox
    at.switch_page("photo_page.py").run()
    assert at.sidebar.selectbox[0].value == DEFAULT_MODEL
    assert model_note(DEFAULT_MODEL) in [c.value for c in at.caption]


def test_a_model_the_app_cannot_use_stops_it_with_a_message(app, monkeypatch):
    # what `streamlit run main.py -- --model utkface-mobilenet_v2-112` would do
    monkeypatch.setattr("sys.argv", ["main.py", "--model", "utkface-mobilenet_v2-112"])
    at = app.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "The app cannot start: the app predicts with a shipped FairFace model, not "
        "'utkface-mobilenet_v2-112'; choose one of ['fairface-lightweight-112', "
        "'fairface-mobilenet_v2-112', 'fairface-mobilenet_v2_face_descriptor-112']"
    ]
    assert not at.file_uploader


def readings(at) -> list:
    """The page's expanders that compare the two readings of the photo."""
    return [e for e in at.expander if e.label.startswith("The whole photo read as")]


def expected_readings(predictor, found: pd.DataFrame, whole: pd.DataFrame) -> pd.DataFrame:
    """What the page's comparison table must hold, from the two tables (naive)."""
    rows = {}
    for task in TASKS:
        cells = []
        for frame in (found, whole):
            label = str(frame.loc[0, f"{task}_pred"])
            cells.append(f"{label} ({float(frame.loc[0, f'{task}_prob_{label}']):.1%})")
        rows[TITLES[task]] = [*cells, cells[0].split(" (")[0] == cells[1].split(" (")[0]]
    return pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["face found (--detect)", "whole photo (no --detect)", "same label"],
    )


def test_a_photo_of_one_face_also_shows_it_read_as_a_face_crop(app, predictors, grace_hopper):
    at = app.run()
    assert at.sidebar.radio[0].value == "detect"
    at.button[0].click().run()
    predictor = predictors[TEST_MODEL]
    photo = read_photo(grace_hopper, name="g")
    found, whole = predictor.predict_photo(photo), predictor.predict_face_crop(photo)
    assert_shows_faces(at, found, "grace_hopper.jpg", TEST_MODEL)
    assert any(
        c.value.endswith(
            "Predicted as `fairaudit predict grace_hopper.jpg --model fairface-lightweight-112 "
            "--detect` predicts it."
        )
        for c in at.caption
    )
    table = expected_readings(predictor, found, whole)
    (expander,) = readings(at)
    assert expander.label == (
        "The whole photo read as one face crop (`fairaudit predict` without `--detect`): "
        f"{int((~table['same label']).sum())} of 3 labels differ"
    )
    pd.testing.assert_frame_equal(at.table[0].value, table, check_dtype=False)
    assert "takes the whole photo as the face crop" in at.markdown[-1].value


@pytest.mark.shared_data
def test_a_face_crop_read_as_one_face_crop_gets_predicts_answer(app, predictors, fairface_root):
    data = (fairface_root / "val" / "2.jpg").read_bytes()
    at = app.run()
    at.sidebar.radio[0].set_value("crop").run()
    at.file_uploader[0].upload("2.jpg", data, "image/jpeg").run()
    assert not at.exception and not at.error and not at.warning, at.exception
    expected = predictors[TEST_MODEL].predict([fairface_root / "val" / "2.jpg"], progress=False)
    assert [h.value for h in at.subheader] == ["2.jpg read as one face crop", "Face 1"]
    assert at.caption[0].value.startswith(
        "Predicted as `fairaudit predict 2.jpg --model fairface-lightweight-112` predicts it."
    )
    shown = [m.value for m in at.markdown if m.value.startswith("**")]
    assert shown == [summary(expected, 0, task) for task in TASKS]
    for (_, data_), task in zip(charts(at), TASKS):
        classes = next(t.classes for t in predictors[TEST_MODEL].tasks if t.name == task)
        want = [expected.loc[0, f"{task}_prob_{c}"] for c in classes]
        np.testing.assert_allclose(data_["probability"], want, rtol=0, atol=1e-5)
    assert not readings(at)  # one reading only
    # the choice survives a page switch
    at.switch_page("audit_page.py").run()
    at.switch_page("photo_page.py").run()
    assert at.sidebar.radio[0].value == "crop"
