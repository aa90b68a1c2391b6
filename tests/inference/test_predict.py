"""The prediction pipeline: table layout, values against a manual forward, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fairaudit.datasets._transforms import ImageTransform
from fairaudit.exceptions import CheckpointError, DataValidationError
from fairaudit.inference import Predictor
from fairaudit.inference._outputs import prediction_columns
from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS, LightweightMTLNet224, save_checkpoint
from fairaudit.vocab import FAIRFACE_AGE, GENDER

from .conftest import INPUT_SIZE, make_model, write_image


def _manual_probabilities(model: torch.nn.Module, paths: list[str]) -> dict[str, np.ndarray]:
    """Oracle: PIL open + convert("RGB") + the training transform + the plain model + softmax."""
    from PIL import Image

    transform = ImageTransform(INPUT_SIZE)
    images = []
    for path in paths:
        with Image.open(path) as image:
            image = image.convert("RGBA").convert("RGB") if image.mode == "P" else image
            images.append(transform(image.convert("RGB")))
    with torch.no_grad():
        out = model.eval()(torch.stack(images))
    result = {}
    for task in model.tasks:
        if task.kind == "classification":
            result[task.name] = torch.softmax(out[task.name], dim=1).numpy()
        else:
            result[task.name] = (out[task.name] * task.max_value).numpy()
    return result


def test_table_layout_and_probabilities(checkpoint: Path, image_folder: Path) -> None:
    predictor = Predictor.from_checkpoint(checkpoint, batch_size=4)
    run = predictor.run(image_folder, progress=False)
    table = run.table
    files = sorted(p.relative_to(image_folder).as_posix() for p in image_folder.rglob("*.*"))
    assert table["file"].tolist() == files
    expected_columns = ["file", *prediction_columns(FAIRFACE_TASKS), "status", "error"]
    assert list(table.columns) == expected_columns
    assert "race_prob_East Asian" in table.columns
    assert (table["status"] == "ok").all()
    assert table["error"].isna().all()
    assert table["age_pred"].dtype == FAIRFACE_AGE.dtype
    assert table["gender_pred"].dtype == GENDER.dtype
    for task in FAIRFACE_TASKS:
        probs = table[[f"{task.name}_prob_{c}" for c in task.classes]].to_numpy()
        assert all(table[f"{task.name}_prob_{c}"].dtype == np.float32 for c in task.classes)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert ((probs >= 0) & (probs <= 1)).all()
        argmax = np.asarray(task.classes)[probs.argmax(axis=1)]
        assert table[f"{task.name}_pred"].astype(str).tolist() == argmax.tolist()
    summary = run.summary
    assert (summary.n_images, summary.n_predicted, summary.n_unreadable) == (6, 6, 0)
    assert "predicted: 6; unreadable: 0" in summary.format()


@pytest.mark.parametrize("optimize", [True, False])
def test_predictions_equal_a_manual_forward(
    model: torch.nn.Module, image_folder: Path, optimize: bool
) -> None:
    """Grayscale, RGBA and palette images included: they are converted to RGB."""
    predictor = Predictor(model, input_size=INPUT_SIZE, optimize=optimize, batch_size=4)
    table = predictor.predict(image_folder, progress=False)
    paths = [str(image_folder / f) for f in table["file"]]
    expected = _manual_probabilities(model, paths)
    for task in model.tasks:
        got = table[[f"{task.name}_prob_{c}" for c in task.classes]].to_numpy()
        np.testing.assert_allclose(got, expected[task.name], rtol=0, atol=1e-4)
    # predict_tensor on the same preprocessed batch gives the same probabilities.
    from fairaudit._images import load_rgb

    batch = torch.stack([ImageTransform(INPUT_SIZE)(load_rgb(p)) for p in paths])
    direct = predictor.predict_tensor(batch)
    assert list(direct) == [t.name for t in model.tasks]
    for name, values in direct.items():
        assert values.dtype == np.float32
        np.testing.assert_allclose(values, expected[name], rtol=0, atol=1e-4)


def test_optimized_equals_eager(model: torch.nn.Module) -> None:
    x = torch.randn(8, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(3))
    fast = Predictor(model, input_size=INPUT_SIZE, optimize=True).predict_tensor(x)
    eager = Predictor(model, input_size=INPUT_SIZE, optimize=False).predict_tensor(x)
    for name in eager:
        assert np.abs(fast[name] - eager[name]).max() <= 1e-4


def test_unreadable_images_are_kept_counted_and_reported(
    checkpoint: Path, image_folder: Path
) -> None:
    (image_folder / "text.jpg").write_text("this is not a JPEG")
    good = (image_folder / "b.jpg").read_bytes()
    (image_folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    predictor = Predictor.from_checkpoint(checkpoint, batch_size=3)
    run = predictor.run(image_folder, progress=False)
    table = run.table.set_index("file")
    assert len(table) == 8
    bad = ["text.jpg", "truncated.jpg"]
    assert sorted(table.index[table["status"] == "unreadable"]) == bad
    assert table.loc["text.jpg", "error"].startswith("UnidentifiedImageError")
    assert "truncated" in table.loc["truncated.jpg", "error"]
    assert table.loc[bad, "race_pred"].isna().all()
    assert table.loc[bad, "gender_prob_Male"].isna().all()
    ok = table[table["status"] == "ok"]
    assert ok["race_pred"].notna().all() and ok["gender_prob_Male"].notna().all()
    summary = run.summary
    assert (summary.n_images, summary.n_predicted, summary.n_unreadable) == (8, 6, 2)
    assert [f for f, _ in summary.unreadable] == bad
    assert "unreadable: text.jpg" in summary.format()

    strict = Predictor.from_checkpoint(checkpoint, on_unreadable="raise")
    with pytest.raises(DataValidationError, match=r"unreadable image text\.jpg"):
        strict.predict(image_folder, progress=False)


def test_batch_of_only_unreadable_images(checkpoint: Path, tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG garbage")
    table = Predictor.from_checkpoint(checkpoint).predict(tmp_path / "x.png", progress=False)
    assert table["status"].tolist() == ["unreadable"]
    assert table["age_pred"].isna().all()


def test_label_table_input_carries_true_labels(checkpoint: Path, tmp_path: Path) -> None:
    for i in (1, 2, 3):
        write_image(tmp_path / "val" / f"{i}.jpg", seed=i)
    labels = pd.DataFrame(
        {
            "file": ["val/1.jpg", "val/2.jpg", "val/3.jpg", "val/4.jpg"],
            "age": ["3-9", "20-29", "more than 70", "0-2"],
            "gender": ["Male", "Female", "Female", "Male"],
            "race": ["White", "Black", "Indian", "East Asian"],
            "service_test": ["True", "False", "True", "False"],
        }
    )
    csv = tmp_path / "fairface_label_val.csv"
    labels.to_csv(csv, index=False)
    from fairaudit.datasets._fairface import load_fairface_labels

    loaded = load_fairface_labels(csv, image_root=tmp_path)
    run = Predictor.from_checkpoint(checkpoint).run(loaded, progress=False)
    table = run.table
    assert table["file"].tolist() == ["val/1.jpg", "val/2.jpg", "val/3.jpg"]
    assert list(table.columns[:4]) == ["file", "gender", "age", "race"]
    assert table["age"].dtype == FAIRFACE_AGE.dtype
    assert table["age"].astype(str).tolist() == ["3-9", "20-29", "more than 70"]
    assert run.summary.missing == ("val/4.jpg",)
    assert "labelled rows without image (not predicted): 1" in run.summary.format()


def test_regression_task_gives_years_and_no_probabilities(
    tmp_path: Path, image_folder: Path
) -> None:
    model = make_model(tasks=UTKFACE_TASKS)
    table = Predictor(model, input_size=INPUT_SIZE).predict(image_folder, progress=False)
    assert "age_pred" in table.columns
    assert not any(c.startswith("age_prob_") for c in table.columns)
    assert table["age_pred"].dtype == np.float32
    paths = [str(image_folder / f) for f in table["file"]]
    expected = _manual_probabilities(model, paths)
    np.testing.assert_allclose(table["age_pred"].to_numpy(), expected["age"], atol=1e-4)
    assert table["age_pred"].between(0, UTKFACE_TASKS[1].max_value).all()
    assert table["race_pred"].cat.categories.tolist() == list(UTKFACE_TASKS[2].classes)


def test_checkpoint_errors(tmp_path: Path, model: torch.nn.Module) -> None:
    with pytest.raises(CheckpointError, match="not found.*missing.pt"):
        Predictor.from_checkpoint(tmp_path / "missing.pt")
    path = tmp_path / "utk.pt"
    save_checkpoint(path, model=make_model(tasks=UTKFACE_TASKS), input_size=INPUT_SIZE)
    with pytest.raises(CheckpointError, match="utk.pt"):
        Predictor.from_checkpoint(path, expected_tasks=FAIRFACE_TASKS)
    with pytest.raises(CheckpointError, match="utk.pt"):
        Predictor.from_checkpoint(path, expected_arch="mobilenet_v2")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        Predictor.from_checkpoint(garbage)
    with pytest.raises(DataValidationError, match="backend"):
        Predictor.from_checkpoint(path, backend="tensorrt")


def test_option_and_input_errors(model: torch.nn.Module, tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="batch_size"):
        Predictor(model, input_size=INPUT_SIZE, batch_size=0)
    with pytest.raises(DataValidationError, match="input_size"):
        Predictor(model)
    with pytest.raises(DataValidationError, match="on_unreadable"):
        Predictor(model, input_size=INPUT_SIZE, on_unreadable="skip")
    with pytest.raises(DataValidationError, match="tasks"):
        Predictor(torch.nn.Conv2d(3, 3, 1), input_size=INPUT_SIZE)
    predictor = Predictor(model, input_size=INPUT_SIZE)
    with pytest.raises(DataValidationError, match=r"\(N, 3, 32, 32\)"):
        predictor.predict_tensor(torch.zeros(2, 3, 16, 16))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataValidationError, match="no images found in folder"):
        predictor.predict(empty)


def test_threads_are_restored(model: torch.nn.Module, image_folder: Path) -> None:
    before = torch.get_num_threads()
    Predictor(model, input_size=INPUT_SIZE, threads=2).predict(image_folder, progress=False)
    assert torch.get_num_threads() == before


def test_face_crop_seam(model: torch.nn.Module, image_folder: Path) -> None:
    seen = []

    def crop(image):
        seen.append(image.mode)
        return image.crop((0, 0, 20, 20))

    table = Predictor(model, input_size=INPUT_SIZE, face_crop=crop).predict(
        image_folder, progress=False
    )
    assert seen == ["RGB"] * len(table)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_written_table_round_trips(
    checkpoint: Path, image_folder: Path, tmp_path: Path, suffix: str
) -> None:
    (image_folder / "text.jpg").write_text("not an image")
    run = Predictor.from_checkpoint(checkpoint).run(image_folder, progress=False)
    out = run.save(tmp_path / "out" / f"preds{suffix}")
    assert out.exists()
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temp file left
    back = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert back["file"].tolist() == run.table["file"].tolist()
    assert back["status"].tolist() == run.table["status"].tolist()
    np.testing.assert_allclose(
        back["race_prob_White"].to_numpy(float),
        run.table["race_prob_White"].to_numpy(float),
        atol=1e-7,
    )
    if suffix == ".parquet":
        assert back["age_pred"].dtype == FAIRFACE_AGE.dtype
    with pytest.raises(DataValidationError, match="xlsx"):
        run.save(tmp_path / "preds.xlsx")


def test_predictor_does_not_touch_the_model(image_folder: Path) -> None:
    model = LightweightMTLNet224(width=0.125).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    Predictor(model, input_size=INPUT_SIZE).predict(image_folder, progress=False)
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    shutil.rmtree(image_folder)


# --- one photo taken as a face crop (the app's "One face crop", `fairaudit predict PHOTO`) ---


def _exif_rotated_jpeg(path: Path) -> Path:
    """A 40x24 JPEG whose EXIF orientation 6 turns it upright as 24x40."""
    from PIL import Image

    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif.tobytes())
    return path


def test_predict_face_crop_is_the_pipeline_without_detection(
    model: torch.nn.Module, image_folder: Path, tmp_path: Path
) -> None:
    from PIL import Image

    predictor = Predictor(model, input_size=INPUT_SIZE, batch_size=4)
    paths = sorted(image_folder.rglob("*.*")) + [_exif_rotated_jpeg(tmp_path / "turned.jpg")]
    pipeline = predictor.predict(paths, progress=False)
    columns = prediction_columns(FAIRFACE_TASKS)
    probabilities = [c for c in columns if "_prob_" in c]
    for k, path in enumerate(paths):
        with Image.open(path) as opened:
            upright = (opened.height, opened.width) if path.name == "turned.jpg" else opened.size
        for given in (path, str(path), path.read_bytes()):
            frame = predictor.predict_face_crop(given)
            assert list(frame.columns) == ["face", "x", "y", "width", "height", *columns]
            assert frame[["face", "x", "y", "width", "height"]].iloc[0].tolist() == [
                0,
                0,
                0,
                *upright,
            ], path.name
            got = frame[probabilities].to_numpy(np.float64)
            want = pipeline.loc[[k], probabilities].to_numpy(np.float64)
            assert np.abs(got - want).max() <= 1e-5, path.name
            for task in FAIRFACE_TASKS:
                pred = f"{task.name}_pred"
                assert frame[pred].tolist() == pipeline.loc[[k], pred].tolist()


def test_predict_face_crop_applies_the_face_crop_seam(
    model: torch.nn.Module, image_folder: Path
) -> None:
    seen = []

    def crop(image):
        seen.append((image.mode, image.size))
        return image.crop((0, 0, image.width // 2, image.height // 2))

    predictor = Predictor(model, input_size=INPUT_SIZE, face_crop=crop)
    path = image_folder / "b.jpg"
    frame = predictor.predict_face_crop(path)
    assert seen == [("RGB", (64, 64))]
    assert frame[["x", "y", "width", "height"]].iloc[0].tolist() == [0, 0, 64, 64]
    cropped = predictor.predict([path], progress=False)
    probabilities = [c for c in prediction_columns(FAIRFACE_TASKS) if "_prob_" in c]
    np.testing.assert_allclose(
        frame[probabilities].to_numpy(np.float64),
        cropped[probabilities].to_numpy(np.float64),
        rtol=0,
        atol=1e-5,
    )


def test_predict_face_crop_names_an_unreadable_photo(model: torch.nn.Module) -> None:
    predictor = Predictor(model, input_size=INPUT_SIZE)
    with pytest.raises(DataValidationError, match=r"cannot read the image bytes \(9 bytes\)"):
        predictor.predict_face_crop(b"not a jpg")
