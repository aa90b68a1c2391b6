"""Resolving folders, file lists and label tables into the images to predict."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fairaudit.datasets import ImageSet, images_from_folder
from fairaudit.datasets._image_sets import images_from_files, images_from_table, resolve_images
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import GENDER

from .conftest import write_image


def test_folder_is_searched_recursively_in_sorted_order(image_folder: Path) -> None:
    (image_folder / "notes.txt").write_text("not an image")
    (image_folder / ".hidden.jpg").write_bytes(b"")
    image_set = images_from_folder(image_folder)
    expected = sorted(
        p.relative_to(image_folder).as_posix()
        for p in image_folder.rglob("*")
        if p.suffix in (".jpg", ".png") and not p.name.startswith(".")
    )
    assert image_set.table["file"].tolist() == expected
    assert "sub/c.jpg" in expected
    assert image_set.table["path"].tolist() == [str(image_folder.resolve() / f) for f in expected]
    assert image_set.ignored == ("notes.txt",)
    assert image_set.missing == ()
    assert not image_set.has_labels


def test_empty_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataValidationError, match="no images found in folder .*empty"):
        images_from_folder(empty)
    (empty / "readme.md").write_text("x")
    with pytest.raises(DataValidationError, match="readme.md"):
        resolve_images(empty)


def test_missing_folder_or_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="not found.*nowhere"):
        images_from_folder(tmp_path / "nowhere")
    with pytest.raises(DataValidationError, match="not found.*ghost.jpg"):
        resolve_images([tmp_path / "ghost.jpg"])


def test_file_list_keeps_order_and_refuses_duplicates_and_folders(tmp_path: Path) -> None:
    b = write_image(tmp_path / "b.jpg")
    a = write_image(tmp_path / "a.jpg")
    image_set = images_from_files([b, a])
    assert image_set.table["file"].tolist() == [b.as_posix(), a.as_posix()]
    with pytest.raises(DataValidationError, match="more than once"):
        images_from_files([a, b, a])
    with pytest.raises(DataValidationError, match="folder"):
        images_from_files([a, tmp_path])
    with pytest.raises(DataValidationError, match="no image files"):
        images_from_files([])
    single = resolve_images(a)
    assert single.table["file"].tolist() == [a.as_posix()]


def test_label_table_rows_without_image_are_counted_not_predicted(tmp_path: Path) -> None:
    write_image(tmp_path / "val" / "1.jpg")
    table = pd.DataFrame(
        {
            "file": ["val/1.jpg", "val/2.jpg"],
            "path": [str(tmp_path / "val" / "1.jpg"), str(tmp_path / "val" / "2.jpg")],
            "gender": pd.Categorical(["Male", "Female"], dtype=GENDER.dtype),
            "has_image": [True, False],
            "split": ["val", "val"],
        }
    )
    image_set = images_from_table(table, source="labels.csv")
    assert image_set.table["file"].tolist() == ["val/1.jpg"]
    assert list(image_set.table.columns) == ["file", "path", "gender"]
    assert image_set.table["gender"].dtype == GENDER.dtype
    assert image_set.missing == ("val/2.jpg",)
    assert image_set.has_labels
    # Without has_image, existence is checked on disk.
    assert images_from_table(table.drop(columns="has_image")).missing == ("val/2.jpg",)


def test_label_table_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['path'\]"):
        images_from_table(pd.DataFrame({"file": ["a.jpg"]}))
    dup = pd.DataFrame({"file": ["a.jpg", "a.jpg"], "path": ["/x/a.jpg", "/x/a.jpg"]})
    with pytest.raises(DataValidationError, match="listed twice: a.jpg"):
        images_from_table(dup)
    none = pd.DataFrame({"file": ["a.jpg"], "path": [str(tmp_path / "a.jpg")]})
    with pytest.raises(DataValidationError, match="none of the 1 labelled rows has an image"):
        images_from_table(none)


def test_limit_and_unsupported_input(image_folder: Path) -> None:
    image_set = resolve_images(image_folder, limit=2)
    assert isinstance(image_set, ImageSet)
    assert len(image_set) == 2
    assert (
        image_set.table["file"].tolist()
        == images_from_folder(image_folder).table["file"].tolist()[:2]
    )
    with pytest.raises(DataValidationError, match="positive"):
        resolve_images(image_folder, limit=0)
    with pytest.raises(DataValidationError, match="got int"):
        resolve_images(3)
