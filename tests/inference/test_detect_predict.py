"""Predicting raw photos: Predictor.predict_photo, Predictor.run(detect=True), the CLI.

The model is the shipped ``fairface-lightweight-112`` (small and fast); the photos are
real ones shipped with scikit-image and matplotlib. Each face's predictions are checked
against the predictor run on the face crop itself, saved as a lossless PNG and read back
through the ordinary (detection-free) path.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fairaudit.cli import main
from fairaudit.detect import Box, HaarCascadeDetector, detect_faces
from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.inference import Predictor
from fairaudit.inference._outputs import BOX_COLUMNS, prediction_columns
from fairaudit.models import shipped_model_path
from tests.detect.test_detect import ASTRONAUT_FACE, GRACE_HOPPER_FACE

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None,
    reason="face detection needs opencv-python-headless<5 (fairaudit-faces[detect])",
)

MODEL = "fairface-lightweight-112"


class FixedBoxes:
    """A stub detector (the plug-in interface) returning the same boxes for every image."""

    def __init__(self, *boxes: Box) -> None:
        self.boxes = list(boxes)

    def detect(self, image: np.ndarray) -> list[Box]:
        return list(self.boxes)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_checkpoint(shipped_model_path(MODEL), batch_size=8, threads=1)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data", reason="scikit-image gives the astronaut photo")
    return data.astronaut()


@pytest.fixture(scope="module")
def grace_hopper() -> Path:
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def probability_columns(predictor: Predictor) -> list[str]:
    return [c for c in prediction_columns(predictor.tasks) if "_prob_" in c]


def predictions_of_crops(predictor: Predictor, crops: list[Image.Image], folder: Path):
    """The ordinary predictions table of the crops saved as PNG files (lossless)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, crop in enumerate(crops):
        path = folder / f"crop{k}.png"
        crop.save(path)
        paths.append(path)
    return predictor.predict(paths, progress=False)


def assert_rows_are_predictions(predictor: Predictor, frame: pd.DataFrame) -> None:
    """Probabilities sum to 1 per task, and each ``_pred`` is the most probable class."""
    for task in predictor.tasks:
        columns = [f"{task.name}_prob_{c}" for c in task.classes]
        probs = frame[columns].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        best = np.array(task.classes, dtype=object)[probs.argmax(axis=1)]
        assert frame[f"{task.name}_pred"].astype(str).tolist() == best.tolist()


# --- predict_photo ----------------------------------------------------------------------


def test_astronaut_face_predicted_as_its_crop(
    predictor: Predictor, astronaut: np.ndarray, tmp_path: Path
) -> None:
    frame = predictor.predict_photo(astronaut)
    assert list(frame.columns) == [*BOX_COLUMNS, *prediction_columns(predictor.tasks)]
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["face"] == 0
    box = Box(*(int(row[c]) for c in ("x", "y", "width", "height")))
    assert box.iou(ASTRONAUT_FACE) > 0.5
    assert_rows_are_predictions(predictor, frame)
    # the same face, cropped by detect_faces, through the detection-free path
    (face,) = detect_faces(astronaut)
    assert face.box == box
    reference = predictions_of_crops(predictor, [face.crop], tmp_path)
    columns = probability_columns(predictor)
    np.testing.assert_allclose(
        frame[columns].to_numpy(np.float64), reference[columns].to_numpy(np.float64), atol=1e-6
    )
    for task in predictor.tasks:
        assert frame[f"{task.name}_pred"].tolist() == reference[f"{task.name}_pred"].tolist()


def test_every_input_type_gives_the_same_rows(predictor: Predictor, grace_hopper: Path) -> None:
    """The input handling, with the Haar cascade (the default detector is the CLI test's)."""
    haar = HaarCascadeDetector.for_photos()
    from_path = predictor.predict_photo(grace_hopper, detector=haar)
    assert len(from_path) == 1
    box = Box(*(int(from_path.iloc[0][c]) for c in ("x", "y", "width", "height")))
    assert box.iou(GRACE_HOPPER_FACE) > 0.5
    assert_rows_are_predictions(predictor, from_path)
    with Image.open(grace_hopper) as image:
        from_pil = predictor.predict_photo(image, detector=haar)
        from_array = predictor.predict_photo(np.asarray(image.convert("RGB")), detector=haar)
    from_bytes = predictor.predict_photo(grace_hopper.read_bytes(), detector=haar)
    from_str = predictor.predict_photo(str(grace_hopper), detector=haar)
    for other in (from_pil, from_array, from_bytes, from_str):
        pd.testing.assert_frame_equal(other, from_path)


def test_no_face_is_an_empty_frame_with_the_same_columns(
    predictor: Predictor, astronaut: np.ndarray
) -> None:
    empty = predictor.predict_photo(np.full((240, 320, 3), 200, dtype=np.uint8))
    full = predictor.predict_photo(astronaut)
    assert empty.empty and len(full) == 1
    assert list(empty.columns) == list(full.columns)
    pd.testing.assert_series_equal(empty.dtypes, full.dtypes)


def test_unreadable_photo_is_a_clear_error(predictor: Predictor, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    with pytest.raises(DataValidationError, match=r"cannot read image file .*notes\.txt"):
        predictor.predict_photo(text)
    with pytest.raises(DataValidationError, match=r"cannot read the image bytes \(11 bytes\)"):
        predictor.predict_photo(b"not a photo")
    with pytest.raises(DataValidationError, match="no data"):
        predictor.predict_photo(b"")
    with pytest.raises(DataValidationError, match="not found"):
        predictor.predict_photo(tmp_path / "missing.jpg")
    with pytest.raises(DataValidationError, match="got int"):
        predictor.predict_photo(3)  # type: ignore[arg-type]


def test_several_faces_largest_first_with_a_plugged_detector(
    predictor: Predictor, astronaut: np.ndarray, tmp_path: Path
) -> None:
    small, large, medium = Box(300, 300, 60, 60), Box(150, 40, 140, 150), Box(20, 200, 90, 90)
    detector = FixedBoxes(small, large, medium)
    frame = predictor.predict_photo(astronaut, detector=detector)
    assert frame["face"].tolist() == [0, 1, 2]
    boxes = [Box(*(int(v) for v in r)) for r in frame[["x", "y", "width", "height"]].to_numpy()]
    assert boxes == [large, medium, small]
    faces = detect_faces(astronaut, detector=detector)
    reference = predictions_of_crops(predictor, [f.crop for f in faces], tmp_path)
    columns = probability_columns(predictor)
    np.testing.assert_allclose(
        frame[columns].to_numpy(np.float64), reference[columns].to_numpy(np.float64), atol=1e-6
    )
    # more faces than a batch: predicted in several forward passes, same numbers
    many = FixedBoxes(*[Box(10 * k, 10 * k, 100, 100 + k) for k in range(11)])
    batched = predictor.predict_photo(astronaut, detector=many)
    assert len(batched) == 11 and predictor.batch_size == 8
    crops = [f.crop for f in detect_faces(astronaut, detector=many)]
    single = predictions_of_crops(predictor, crops, tmp_path / "many")
    np.testing.assert_allclose(
        batched[columns].to_numpy(np.float64), single[columns].to_numpy(np.float64), atol=1e-6
    )


# --- run(detect=True) --------------------------------------------------------------------


@pytest.fixture
def mixed_folder(tmp_path: Path, astronaut: np.ndarray, grace_hopper: Path) -> Path:
    """Two photos with a face, a blank image, a text file named .jpg, a non-image file."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    shutil.copy(grace_hopper, folder / "sub" / "grace.jpg")
    Image.new("RGB", (320, 240), (200, 200, 200)).save(folder / "blank.png")
    (folder / "notes.jpg").write_text("not an image")
    (folder / "readme.txt").write_text("a non-image file")
    return folder


@pytest.mark.parametrize("batch_size", [1, 64])
def test_run_detect_one_row_per_face_and_per_faceless_image(
    mixed_folder: Path, batch_size: int
) -> None:
    """Batching faces, with the Haar cascade (the default detector is the CLI test's)."""
    predictor = Predictor.from_checkpoint(
        shipped_model_path(MODEL), batch_size=batch_size, threads=1
    )
    haar = HaarCascadeDetector.for_photos()
    run = predictor.run(mixed_folder, detect=True, detector=haar, progress=False)
    table = run.table.set_index("file")
    assert sorted(table.index) == ["astronaut.png", "blank.png", "notes.jpg", "sub/grace.jpg"]
    assert table["status"].to_dict() == {
        "astronaut.png": "ok",
        "blank.png": "no_face",
        "notes.jpg": "unreadable",
        "sub/grace.jpg": "ok",
    }
    assert list(run.table.columns[:6]) == ["file", *BOX_COLUMNS]
    assert "notes.jpg" in table.loc["notes.jpg", "error"]
    assert pd.isna(table.loc["blank.png", "error"])
    for file in ("blank.png", "notes.jpg"):
        assert table.loc[file, list(BOX_COLUMNS)].isna().all()
        assert table.loc[file, probability_columns(predictor)].isna().all()
    # each face row is what predict_photo gives for that photo
    for file in ("astronaut.png", "sub/grace.jpg"):
        expected = predictor.predict_photo(mixed_folder / file, detector=haar)
        got = run.table[run.table["file"] == file]
        assert got["face"].tolist() == expected["face"].tolist()
        for column in ("x", "y", "width", "height"):
            assert got[column].tolist() == expected[column].tolist()
        columns = probability_columns(predictor)
        np.testing.assert_allclose(
            got[columns].to_numpy(np.float64), expected[columns].to_numpy(np.float64), atol=1e-6
        )
    summary = run.summary
    assert (summary.n_images, summary.n_predicted, summary.n_faces) == (4, 2, 2)
    assert summary.no_face == ("blank.png",) and summary.n_no_face == 1
    assert [file for file, _ in summary.unreadable] == ["notes.jpg"]
    assert summary.ignored == ("readme.txt",)
    assert summary.detector == repr(haar)
    text = summary.format()
    assert "faces: 2 in 2 image(s); images with no face: 1; unreadable: 1" in text
    assert "no face: blank.png" in text


def test_run_detect_several_faces_per_image_across_batches(
    predictor: Predictor, mixed_folder: Path
) -> None:
    detector = FixedBoxes(Box(0, 0, 50, 50), Box(100, 100, 120, 120), Box(40, 60, 80, 80))
    run = predictor.run(
        [mixed_folder / "astronaut.png", mixed_folder / "blank.png"],
        detect=True,
        detector=detector,
        progress=False,
    )
    assert run.table["face"].tolist() == [0, 1, 2, 0, 1, 2]
    assert run.table["width"].tolist() == [120, 80, 50] * 2
    assert run.summary.n_faces == 6 and run.summary.no_face == ()
    for path in (mixed_folder / "astronaut.png", mixed_folder / "blank.png"):
        expected = predictor.predict_photo(path, detector=detector)
        got = run.table[run.table["file"] == Path(path).as_posix()]
        columns = probability_columns(predictor)
        np.testing.assert_allclose(
            got[columns].to_numpy(np.float64), expected[columns].to_numpy(np.float64), atol=1e-6
        )


def test_run_detect_keeps_the_labels_of_a_label_table(
    predictor: Predictor, mixed_folder: Path
) -> None:
    labels = pd.DataFrame(
        {
            "file": ["astronaut.png", "blank.png"],
            "path": [str(mixed_folder / "astronaut.png"), str(mixed_folder / "blank.png")],
            "gender": pd.Categorical(["Female", "Male"], categories=["Male", "Female"]),
        }
    )
    detector = FixedBoxes(Box(0, 0, 60, 60), Box(100, 100, 80, 80))
    table = predictor.predict(labels, detect=True, detector=detector, progress=False)
    assert list(table.columns[:7]) == ["file", "gender", *BOX_COLUMNS]
    assert table["gender"].astype(str).tolist() == ["Female", "Female", "Male", "Male"]


def test_run_detect_options_are_checked(
    predictor: Predictor, mixed_folder: Path, astronaut: np.ndarray
) -> None:
    with pytest.raises(ConfigurationError, match="only with detect=True"):
        predictor.run(mixed_folder, detector=FixedBoxes(), progress=False)
    with pytest.raises(ConfigurationError, match="detect"):
        predictor.run(mixed_folder, detect=True, detector=object(), progress=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="detect must be"):
        predictor.run(mixed_folder, detect="yes", progress=False)  # type: ignore[arg-type]
    cropping = Predictor.from_checkpoint(shipped_model_path(MODEL), face_crop=lambda image: image)
    with pytest.raises(ConfigurationError, match="face_crop"):
        cropping.run(mixed_folder, detect=True, progress=False)
    strict = Predictor.from_checkpoint(shipped_model_path(MODEL), on_unreadable="raise")
    with pytest.raises(DataValidationError, match=r"unreadable image notes\.jpg"):
        strict.run(mixed_folder, detect=True, progress=False)
    # plain prediction is unchanged: one row per image, no box columns
    plain = predictor.run(mixed_folder, progress=False)
    assert "face" not in plain.table.columns and plain.summary.detector is None
    assert len(plain.table) == 4


# --- command line --------------------------------------------------------------------------


def test_cli_predict_photos_with_detect(mixed_folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "faces.csv"
    code = main(["predict", str(mixed_folder), "--detect", "--model", MODEL, "-o", str(out), "-q"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "images: 4 from" in printed
    assert "faces: 2 in 2 image(s); images with no face: 1; unreadable: 1" in printed
    assert "files skipped (not images, or excluded by the loader): 1 (readme.txt)" in printed
    assert f"wrote 4 rows to {out}" in printed
    table = pd.read_csv(out)
    assert table["status"].value_counts().to_dict() == {"ok": 2, "no_face": 1, "unreadable": 1}
    assert list(table.columns[:6]) == ["file", *BOX_COLUMNS]
    # without --output the table is printed; files may be listed one by one
    code = main(
        [
            "predict",
            str(mixed_folder / "astronaut.png"),
            str(mixed_folder / "blank.png"),
            "--detect",
            "--checkpoint",
            str(shipped_model_path(MODEL)),
            "-q",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "no_face" in printed and "faces: 1 in 1 image(s)" in printed


def test_cli_predict_needs_one_source(mixed_folder: Path, capsys) -> None:
    assert main(["predict", "--model", MODEL, "-q"]) == 2
    assert "give the images to predict once" in capsys.readouterr().err
    code = main(["predict", str(mixed_folder), "--images", str(mixed_folder), "-q"])
    assert code == 2
    assert "got several" in capsys.readouterr().err
    assert main(["predict", str(mixed_folder), "--model", "nope", "-q"]) == 2
    assert "no shipped model named 'nope'" in capsys.readouterr().err


def test_cli_detector_preset_crops(mixed_folder: Path, capsys) -> None:
    code = main(
        [
            "predict",
            str(mixed_folder / "astronaut.png"),
            "--detect",
            "--preset",
            "crops",
            "--face-detector",
            "haar",
            "-q",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"min_face_fraction={100 / 224}" in printed
    assert repr(HaarCascadeDetector.for_face_crops()).split("cascade_path")[0] in printed
