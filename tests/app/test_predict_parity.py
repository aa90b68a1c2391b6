"""The app predicts as ``fairaudit predict`` does: same probabilities for the same image and model.

The oracle is the command line itself (``fairaudit predict FILE --model NAME``, with and
without ``--detect``), run on real FairFace val images; the app's functions read the
same files' bytes as an upload does. ``val/2.jpg`` is the issue's example: the app
used to detect and crop it again (Male 73% / 20-29) where ``predict`` read it as the
face crop it is (Female 64.5% / 30-39).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import NEEDS_TORCH

pytest.importorskip("torch", reason=NEEDS_TORCH)

from fairaudit.app._models import DEFAULT_MODEL, load_predictor
from fairaudit.app._photo import (
    compare_readings,
    face_predictions,
    photo_detector,
    predict_faces_table,
    read_photo,
)
from fairaudit.cli import main

from .conftest import TEST_MODEL

pytestmark = pytest.mark.shared_data

#: FairFace val images (2.jpg first: the issue's example).
VAL_IMAGES = ("2.jpg", "1.jpg", "3.jpg")
MODELS = (TEST_MODEL, DEFAULT_MODEL)
#: The largest difference allowed between the app's and predict's probabilities.
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def predictors():
    return {name: load_predictor(name) for name in MODELS}


def predict_cli(tmp_path, image, model: str, *options: str) -> pd.DataFrame:
    """``fairaudit predict IMAGE --model MODEL [options] -o OUT.parquet``, read back."""
    out = tmp_path / f"{model}-{image.stem}-{len(options)}.parquet"
    args = ["predict", str(image), "--model", model, "-q", "-o", str(out), *options]
    assert main(args) == 0
    return pd.read_parquet(out)


def probability_columns(predictor) -> list[str]:
    return [
        f"{t.name}_prob_{c}"
        for t in predictor.tasks
        if t.kind == "classification"
        for c in t.classes
    ]


def assert_same_predictions(app: pd.DataFrame, cli: pd.DataFrame, predictor) -> None:
    assert len(app) == len(cli) >= 1
    columns = probability_columns(predictor)
    got = app[columns].to_numpy(np.float64)
    want = cli[columns].to_numpy(np.float64)
    assert np.isfinite(want).all()
    assert np.abs(got - want).max() <= TOLERANCE
    for task in predictor.tasks:
        column = f"{task.name}_pred"
        assert app[column].astype(str).tolist() == cli[column].astype(str).tolist()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("file", VAL_IMAGES)
def test_one_face_crop_reading_is_predict_without_detect(
    predictors, fairface_root, tmp_path, model, file
):
    image = fairface_root / "val" / file
    predictor = predictors[model]
    app = predict_faces_table(predictor, read_photo(image.read_bytes(), name=file), mode="crop")
    assert app[["face", "x", "y", "width", "height"]].iloc[0].tolist() == [0, 0, 0, 224, 224]
    assert_same_predictions(app, predict_cli(tmp_path, image, model), predictor)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("file", VAL_IMAGES)
def test_find_each_face_reading_is_predict_with_detect(
    predictors, fairface_root, tmp_path, model, file
):
    image = fairface_root / "val" / file
    predictor = predictors[model]
    photo = read_photo(image.read_bytes(), name=file)
    app = predict_faces_table(predictor, photo, mode="detect", detector=photo_detector()[1])
    cli = predict_cli(tmp_path, image, model, "--detect")
    assert (cli["status"] == "ok").all()  # a face is found in each of these images
    boxes = ["face", "x", "y", "width", "height"]
    assert app[boxes].to_numpy().tolist() == cli[boxes].to_numpy().tolist()
    assert_same_predictions(app, cli, predictor)


def test_the_issues_example_shows_both_readings_side_by_side(predictors, fairface_root, tmp_path):
    image = fairface_root / "val" / "2.jpg"
    predictor = predictors[DEFAULT_MODEL]
    photo = read_photo(image.read_bytes(), name="2.jpg")
    (found,) = face_predictions(
        predict_faces_table(predictor, photo, detector=photo_detector()[1]), predictor.tasks
    )
    (whole,) = face_predictions(predict_faces_table(predictor, photo, mode="crop"), predictor.tasks)
    table = compare_readings(found, whole)
    cli = predict_cli(tmp_path, image, DEFAULT_MODEL).iloc[0]
    detected = predict_cli(tmp_path, image, DEFAULT_MODEL, "--detect").iloc[0]
    for task, title in (("gender", "Gender"), ("age", "Age group"), ("race", "Ethnicity (race)")):
        for row, column in (
            (cli, "whole photo (no --detect)"),
            (detected, "face found (--detect)"),
        ):
            label = str(row[f"{task}_pred"])
            assert table.loc[title, column] == f"{label} ({row[f'{task}_prob_{label}']:.1%})"
        assert table.loc[title, "same label"] == (cli[f"{task}_pred"] == detected[f"{task}_pred"])
