"""derive_attributes: the table, statuses, chunks that survive a kill, files, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import fairaudit.attributes._derive as derive_module
from fairaudit.attributes import derive_attributes, write_attributes
from fairaudit.attributes._derive import DERIVED_VOCABULARIES, VALUE_COLUMNS
from fairaudit.cli import main as fairaudit_main
from fairaudit.exceptions import DataValidationError

from ._helpers import lab_for_ita, write_patch

pytest.importorskip("skimage.color", reason="scikit-image makes the patches of known colour")

ITAS = (60.0, 35.0, 15.0, -10.0, -45.0)


@pytest.fixture
def patches(tmp_path: Path) -> Path:
    """Five chips of known ITA, a greyscale one and an unreadable one."""
    folder = tmp_path / "chips"
    for k, ita in enumerate(ITAS):
        write_patch(folder / f"face{k}.png", lab_for_ita(ita, 16.0))
    Image.fromarray(np.full((48, 48, 3), 120, np.uint8)).save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_one_row_per_image_with_values_bins_and_statuses(patches: Path):
    table = derive_attributes(patches, landmarks="chip", progress=False)
    assert list(table.columns[:7]) == ["file", *DERIVED_VOCABULARIES]
    assert set(VALUE_COLUMNS) <= set(table.columns)
    by_file = table.set_index("file")
    for k, ita in enumerate(ITAS):
        row = by_file.loc[f"face{k}.png"]
        assert abs(row["ita"] - ita) < 1.0
        assert row["attributes_status"] == "ok" and row["skin_region"] == "fixed boxes"
    assert by_file.loc["face0.png", "skin_tone"] == "very light"
    assert by_file.loc["face4.png", "skin_tone"] == "dark"
    assert by_file.loc["face1.png", "skin_type"] == "lighter"
    assert by_file.loc["face2.png", "skin_type"] == "darker"
    grey = by_file.loc["grey.png"]
    assert grey["attributes_status"] == "greyscale" and np.isnan(grey["ita"])
    assert pd.isna(grey["skin_tone"]) and grey["brightness_level"] == "normal"
    broken = by_file.loc["broken.jpg"]
    assert (
        broken["attributes_status"] == "unreadable" and "broken.jpg" in broken["attributes_error"]
    )
    assert broken[list(DERIVED_VOCABULARIES)].isna().all()
    for name, vocab in DERIVED_VOCABULARIES.items():
        assert table[name].dtype == vocab.dtype, name


def test_labelled_rows_without_an_image_are_kept_as_missing(patches: Path):
    labels = pd.DataFrame(
        {
            "file": ["face0.png", "face1.png", "gone.png"],
            "path": [
                str(patches / "face0.png"),
                str(patches / "face1.png"),
                str(patches / "gone.png"),
            ],
            "gender": ["Male", "Female", "Male"],
        }
    )
    table = derive_attributes(labels, landmarks="chip", progress=False)
    assert table["file"].tolist() == ["face0.png", "face1.png", "gone.png"]
    assert table["attributes_status"].tolist() == ["ok", "ok", "missing"]
    assert np.isnan(table["ita"].iloc[2])


def test_a_killed_run_resumes_from_its_finished_chunks(patches: Path, tmp_path, monkeypatch):
    output = tmp_path / "out" / "attrs.csv"
    fresh = derive_attributes(patches, landmarks="chip", progress=False)
    real = derive_module._value_rows
    calls: list[int] = []

    def killed_at_the_second_chunk(paths, landmarker, bar):
        calls.append(len(paths))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(paths, landmarker, bar)

    monkeypatch.setattr(derive_module, "_value_rows", killed_at_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        derive_attributes(patches, landmarks="chip", output=output, chunk_size=3, progress=False)
    parts = output.with_name("attrs.csv.parts")
    assert sorted(p.name for p in parts.iterdir()) == ["manifest.json", "part-00000.csv"]
    assert not output.exists()
    with pytest.raises(DataValidationError, match="resume"):
        derive_attributes(patches, landmarks="chip", output=output, chunk_size=3, progress=False)
    with pytest.raises(DataValidationError, match="another image list"):
        derive_attributes(
            patches, landmarks="chip", output=output, chunk_size=2, resume=True, progress=False
        )
    calls.clear()
    monkeypatch.setattr(derive_module, "_value_rows", lambda *a: calls.append(1) or real(*a))
    resumed = derive_attributes(
        patches, landmarks="chip", output=output, chunk_size=3, resume=True, progress=False
    )
    assert len(calls) == 2  # chunks 2 and 3 of 3, 3 and 1 images
    assert not parts.exists()
    pd.testing.assert_frame_equal(resumed, fresh)
    written = pd.read_csv(output)
    np.testing.assert_allclose(written["ita"], fresh["ita"])
    assert (
        written["skin_tone"].fillna("").tolist()
        == fresh["skin_tone"].astype(object).fillna("").tolist()
    )


def test_parquet_keeps_the_class_order(patches: Path, tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow")
    table = derive_attributes(patches, landmarks="chip", progress=False)
    path = write_attributes(table, tmp_path / "attrs.parquet")
    back = pd.read_parquet(path)
    for name, vocab in DERIVED_VOCABULARIES.items():
        assert list(back[name].cat.categories) == list(vocab.classes) and back[name].cat.ordered
    with pytest.raises(DataValidationError, match=r"\.csv or \.parquet"):
        write_attributes(table, tmp_path / "attrs.json")


def test_the_command_line(patches: Path, tmp_path, capsys):
    output = tmp_path / "attrs.csv"
    code = fairaudit_main(
        ["attributes", "--images", str(patches), "-o", str(output), "--landmarks", "chip", "-q"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "7 row(s) (5 ok, 1 greyscale, 1 unreadable)" in printed
    assert "very light 1" in printed and "dark 1" in printed
    assert len(pd.read_csv(output)) == 7


def test_command_line_split_of_a_dataset(tmp_path, capsys):
    from tests.datasets._helpers import TRAIN_ROWS, VAL_ROWS, write_csv, write_image

    root = tmp_path / "fairface"
    write_csv(root / "labels" / "fairface_label_train.csv", TRAIN_ROWS)
    write_csv(root / "labels" / "fairface_label_val.csv", VAL_ROWS)
    for i, (file, *_rest) in enumerate(TRAIN_ROWS[:3] + VAL_ROWS[:1]):
        write_image(root / file, seed=i)
    output = tmp_path / "val.csv"
    args = ["attributes", str(root), "--split", "val", "-o", str(output), "--landmarks", "chip"]
    assert fairaudit_main([*args, "-q"]) == 0
    table = pd.read_csv(output)
    assert table["file"].tolist() == [row[0] for row in VAL_ROWS]
    assert table["attributes_status"].tolist()[1:] == ["missing"] * (len(VAL_ROWS) - 1)
    assert fairaudit_main([*args[:2], "--split", "test", *args[4:]]) != 0
    assert "no split 'test'" in capsys.readouterr().err


def test_landmark_modes_without_the_model_file(tmp_path, caplog):
    pytest.importorskip(
        "dlib", reason='the landmarks need dlib: pip install "fairaudit-faces[detect]"'
    )
    from fairaudit.attributes._skin import FaceLandmarker
    from fairaudit.exceptions import ConfigurationError, MissingDependencyError

    with pytest.raises(MissingDependencyError, match="shape_predictor_68_face_landmarks.dat"):
        FaceLandmarker(mode="dlib", model_folder=tmp_path)
    with caplog.at_level("WARNING"):
        assert FaceLandmarker(mode="auto", model_folder=tmp_path).mode == "chip"
    assert "fixed skin boxes" in caplog.text
    with pytest.raises(ConfigurationError, match="landmarks must be one of"):
        FaceLandmarker(mode="cnn")


def test_tiny_images_have_no_skin_or_are_unusable(tmp_path):
    from fairaudit.attributes._derive import face_attributes
    from fairaudit.attributes._skin import FaceLandmarker

    values = face_attributes(
        np.full((6, 6, 3), 150, np.uint8), landmarker=FaceLandmarker(mode="chip")
    )
    assert values["attributes_status"] == "no skin" and np.isnan(values["ita"])
    assert values["brightness"] > 0
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "dot.png")
    table = derive_attributes(tmp_path, landmarks="chip", progress=False)
    assert table["attributes_status"].tolist() == ["unreadable"]
    assert "too small" in table["attributes_error"].iloc[0]
