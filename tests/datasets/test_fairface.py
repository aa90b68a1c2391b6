"""FairFace loaders: synthetic bad input, and counts on the real data against csv/os oracles."""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairaudit.datasets import load_dataset, load_fairface
from fairaudit.datasets._fairface import load_fairface_labels
from fairaudit.datasets._report import LabelRepair
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.vocab import FAIRFACE_AGE, FAIRFACE_RACE, GENDER
from tests.datasets._helpers import TRAIN_ROWS, VAL_ROWS, write_csv, write_image

# --------------------------------------------------------------------------- synthetic


def test_load_fairface_table_and_report(tiny_fairface: Path) -> None:
    ds = load_fairface(tiny_fairface)
    table = ds.table
    assert list(table.columns) == [
        "file", "path", "split", "gender", "age", "race", "service_test", "has_image",
    ]  # fmt: skip
    rows = TRAIN_ROWS + VAL_ROWS
    assert table["file"].tolist() == [r[0] for r in rows]
    assert table["age"].astype(str).tolist() == [r[1] for r in rows]
    assert table["gender"].astype(str).tolist() == [r[2] for r in rows]
    assert table["race"].astype(str).tolist() == [r[3] for r in rows]
    assert table["service_test"].tolist() == [r[4] == "True" for r in rows]
    assert table["service_test"].dtype == bool
    assert table["has_image"].tolist() == [True, True, True, False, True, False]
    assert table["split"].tolist() == ["train"] * 4 + ["val"] * 2
    assert list(table["split"].cat.categories) == ["train", "val"]
    assert table["age"].dtype == FAIRFACE_AGE.dtype
    assert table["race"].dtype == FAIRFACE_RACE.dtype
    assert table["gender"].dtype == GENDER.dtype
    expected_paths = [str((tiny_fairface / r[0]).resolve()) for r in rows]
    assert table["path"].tolist() == expected_paths
    assert [os.path.isabs(p) for p in table["path"]] == [True] * 6

    report = ds.report
    assert (report.n_rows, report.n_images_found, report.n_missing_images) == (6, 4, 2)
    assert report.missing_images == ("train/4.jpg", "val/2.jpg")
    assert report.n_dropped == 0
    assert report.splits == {
        "train": {"n_rows": 4, "n_images_found": 3, "n_missing_images": 1},
        "val": {"n_rows": 2, "n_images_found": 1, "n_missing_images": 1},
    }
    assert report.unlabelled_images == ()
    assert json.loads(json.dumps(report.to_dict()))["missing_images"] == [
        "train/4.jpg",
        "val/2.jpg",
    ]
    summary = report.summary()
    assert "labels without image: 2" in summary and "train/4.jpg" in summary
    assert ds.root == tiny_fairface.resolve()
    assert ds.with_images["file"].tolist() == [
        "train/1.jpg",
        "train/2.jpg",
        "train/3.jpg",
        "val/1.jpg",
    ]


def test_missing_image_policies(tiny_fairface: Path) -> None:
    dropped = load_fairface(tiny_fairface, on_missing_image="drop")
    assert dropped.table["file"].tolist() == [
        "train/1.jpg",
        "train/2.jpg",
        "train/3.jpg",
        "val/1.jpg",
    ]
    assert dropped.table.index.tolist() == [0, 1, 2, 3]
    assert dropped.report.n_dropped == 2
    assert dropped.report.missing_images == ("train/4.jpg", "val/2.jpg")
    assert dropped.report.n_rows == 4
    with pytest.raises(
        DataValidationError, match=r"1 of 4 labelled images are missing.*train/4\.jpg"
    ):
        load_fairface(tiny_fairface, on_missing_image="raise")
    with pytest.raises(DataValidationError, match="on_missing_image"):
        load_fairface(tiny_fairface, on_missing_image="ignore")


def test_single_split_and_labels_in_root(tmp_path: Path) -> None:
    root = tmp_path / "ff"
    write_csv(root / "fairface_label_val.csv", VAL_ROWS)
    write_image(root / "val" / "1.jpg")
    write_image(root / "val" / "99.jpg")  # an image no label names
    ds = load_fairface(root, splits=("val",))
    assert ds.table["has_image"].tolist() == [True, False]
    assert ds.report.unlabelled_images == ("val/99.jpg",)
    assert "images without labels: 1" in ds.report.summary()
    with pytest.raises(DataValidationError, match=r"no FairFace labels for split 'train'"):
        load_fairface(root)


def test_labels_without_image_root(tiny_fairface: Path) -> None:
    ds = load_fairface_labels(tiny_fairface / "labels" / "fairface_label_train.csv")
    assert ds.table["split"].tolist() == ["train"] * 4  # from the file name
    assert not ds.table["has_image"].any()
    assert ds.table["path"].isna().all()
    assert ds.report.images_checked is False
    assert "images not checked" in ds.report.summary()
    other = write_csv(tiny_fairface / "mine.csv", VAL_ROWS)
    assert load_fairface_labels(other).table["split"].tolist() == ["all", "all"]
    assert load_fairface_labels(other, split="test").table["split"].tolist() == ["test", "test"]


def test_no_service_test_column(tmp_path: Path) -> None:
    rows = [r[:4] for r in TRAIN_ROWS]
    path = write_csv(tmp_path / "labels.csv", rows, header=("file", "age", "gender", "race"))
    table = load_fairface_labels(path).table
    assert "service_test" not in table.columns
    assert table["race"].astype(str).tolist() == [r[3] for r in rows]


def test_unknown_label_names_file_line_and_value(tmp_path: Path) -> None:
    rows = list(TRAIN_ROWS)
    rows[1] = ("train/2.jpg", "0-2", "Female", "Latino", "False")  # data row 2 -> line 3
    path = write_csv(tmp_path / "labels.csv", rows)
    with pytest.raises(UnknownLabelError) as info:
        load_fairface_labels(path)
    err = info.value
    assert err.column == "race"
    assert err.values == ["Latino"]
    assert err.rows == [3]
    message = str(err)
    assert str(path) in message and "'Latino'" in message and "[3]" in message
    assert "header is line 1" in message


def test_missing_value_is_an_error(tmp_path: Path) -> None:
    rows = list(TRAIN_ROWS)
    rows[3] = ("train/4.jpg", "", "Male", "White", "True")
    path = write_csv(tmp_path / "labels.csv", rows)
    with pytest.raises(UnknownLabelError, match=r"<missing>.*\[5\]") as info:
        load_fairface_labels(path)
    assert info.value.column == "age"


def test_label_repairs_applied_logged_and_reported(tmp_path: Path, caplog) -> None:
    rows = list(TRAIN_ROWS)
    rows[0] = ("train/1.jpg", "20-29", "Male", "Latino", "True")
    rows[2] = ("train/3.jpg", "more than 70", "Female", "Latino", "False")
    path = write_csv(tmp_path / "labels.csv", rows)
    repairs = {"race": {"Latino": "Latino_Hispanic", "Martian": "White"}}
    with caplog.at_level(logging.INFO, logger="fairaudit.datasets"):
        ds = load_fairface_labels(path, label_repairs=repairs)
    assert ds.table["race"].astype(str).tolist() == [
        "Latino_Hispanic", "Black", "Latino_Hispanic", "East Asian",
    ]  # fmt: skip
    assert ds.report.repairs == (LabelRepair("race", "Latino", "Latino_Hispanic", 2),)
    assert "repaired race: 'Latino' -> 'Latino_Hispanic' in 2 rows" in ds.report.summary()
    assert any("Latino_Hispanic" in r.getMessage() for r in caplog.records)
    assert ds.report.to_dict()["repairs"] == [
        {"column": "race", "from_value": "Latino", "to_value": "Latino_Hispanic", "n_rows": 2}
    ]


def test_label_repairs_merge_across_splits(tmp_path: Path) -> None:
    root = tmp_path / "ff"
    write_csv(
        root / "labels" / "fairface_label_train.csv",
        [("train/1.jpg", "20-29", "M", "White", "True")],
    )
    write_csv(
        root / "labels" / "fairface_label_val.csv", [("val/1.jpg", "3-9", "M", "Black", "False")]
    )
    ds = load_fairface(root, label_repairs={"gender": {"M": "Male"}})
    assert ds.table["gender"].astype(str).tolist() == ["Male", "Male"]
    assert ds.report.repairs == (LabelRepair("gender", "M", "Male", 2),)


@pytest.mark.parametrize(
    ("repairs", "match"),
    [
        ({"race": {"Latino": "Latin"}}, r"not valid values of 'race'"),
        ({"colour": {"a": "b"}}, r"unknown column 'colour'"),
        ({"race": "Latino"}, r"must map raw values"),
    ],
)
def test_invalid_repairs(tiny_fairface: Path, repairs, match) -> None:
    with pytest.raises(DataValidationError, match=match):
        load_fairface(tiny_fairface, label_repairs=repairs)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "labels.csv", [("train/1.jpg", "Male")], header=("file", "gender"))
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['age', 'race'\]"):
        load_fairface_labels(path)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataValidationError, match=r"empty\.csv: the labels file is empty"):
        load_fairface_labels(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n")
    with pytest.raises(DataValidationError, match="is empty"):
        load_fairface_labels(blank)
    header_only = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(DataValidationError, match="header but no data rows"):
        load_fairface_labels(header_only)


def test_non_csv_files(tmp_path: Path) -> None:
    jpeg = write_image(tmp_path / "labels.jpg")
    with pytest.raises(DataValidationError, match="not a (CSV text|UTF-8 CSV)"):
        load_fairface_labels(jpeg)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"file,age,gender,race\n\xe9t\xe9.jpg,20-29,Male,White\n")
    with pytest.raises(DataValidationError, match="not a UTF-8 CSV"):
        load_fairface_labels(latin)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("file,age,gender,race\na.jpg,20-29,Male,White,x,y,z\nb.jpg,1,2,3\n")
    with pytest.raises(DataValidationError, match="not a readable CSV"):
        load_fairface_labels(ragged)
    with pytest.raises(DataValidationError, match="labels file not found"):
        load_fairface_labels(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="is not a file"):
        load_fairface_labels(tmp_path)


def test_bad_service_test_and_files(tmp_path: Path) -> None:
    rows = list(TRAIN_ROWS)
    rows[2] = ("train/3.jpg", "more than 70", "Female", "Indian", "yes")
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(DataValidationError, match=r"service_test.*'yes'.*line\(s\) \[4\]"):
        load_fairface_labels(path)
    rows = list(TRAIN_ROWS)
    rows[3] = ("train/1.jpg",) + TRAIN_ROWS[3][1:]
    path = write_csv(tmp_path / "b.csv", rows)
    with pytest.raises(
        DataValidationError, match=r"listed more than once.*'train/1\.jpg'.*\[2, 5\]"
    ):
        load_fairface_labels(path)
    rows = list(TRAIN_ROWS)
    rows[0] = ("",) + TRAIN_ROWS[0][1:]
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(DataValidationError, match=r"'file' is empty at line\(s\) \[2\]"):
        load_fairface_labels(path)


def test_root_errors(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="FairFace folder not found"):
        load_fairface(tmp_path / "missing")
    with pytest.raises(DataValidationError, match="no FairFace labels for split"):
        load_fairface(tmp_path)
    with pytest.raises(DataValidationError, match="distinct split names"):
        load_fairface(tmp_path, splits=("val", "val"))


def test_load_dataset_autodetects(tiny_fairface: Path, tmp_path: Path) -> None:
    folder = load_dataset(tiny_fairface)
    assert folder.report.dataset == "fairface"
    assert list(folder.table["split"].cat.categories) == ["train", "val"]
    single = load_dataset(tiny_fairface / "labels" / "fairface_label_val.csv")
    assert single.table["has_image"].tolist() == [True, False]  # images beside labels/
    utk = tmp_path / "utk"
    write_image(utk / "25_1_2_20170116174525125.jpg.chip.jpg")
    assert load_dataset(utk).report.dataset == "utkface"
    with pytest.raises(DataValidationError, match="no such file"):
        load_dataset(tmp_path / "nothing")


# --------------------------------------------------------------------------- real data


def _read_raw(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.shared_data
def test_real_fairface_counts(real_fairface, fairface_root: Path) -> None:
    table, report = real_fairface.table, real_fairface.report
    raw = {split: _read_raw(fairface_root / "labels" / f"fairface_label_{split}.csv")
           for split in ("train", "val")}  # fmt: skip
    assert len(raw["train"]) == 86_744 and len(raw["val"]) == 10_954
    assert report.splits["train"]["n_rows"] == len(raw["train"])
    assert report.splits["val"]["n_rows"] == len(raw["val"])
    assert report.n_rows == len(table) == 86_744 + 10_954

    # existence oracle: one os.path.isfile per row
    exists = {split: [os.path.isfile(fairface_root / r["file"]) for r in rows]
              for split, rows in raw.items()}  # fmt: skip
    for split in ("train", "val"):
        assert report.splits[split]["n_images_found"] == sum(exists[split])
        assert report.splits[split]["n_missing_images"] == len(exists[split]) - sum(exists[split])
    assert report.splits["train"]["n_images_found"] == 40_000
    assert report.splits["val"]["n_images_found"] == 5_000
    assert report.n_images_found == 45_000
    assert report.n_missing_images == 52_698 == len(report.missing_images)
    assert table["has_image"].to_numpy().tolist() == exists["train"] + exists["val"]
    assert report.unlabelled_images == ()

    # labels equal the raw strings row by row
    all_rows = raw["train"] + raw["val"]
    for column in ("file", "age", "gender", "race"):
        assert table[column].astype(str).tolist() == [r[column] for r in all_rows], column
    assert table["service_test"].tolist() == [r["service_test"] == "True" for r in all_rows]
    assert not table[["gender", "age", "race"]].isna().any().any()
    assert report.repairs == ()


@pytest.mark.shared_data
def test_real_fairface_age_counts_match_value_counts(real_fairface, fairface_root: Path) -> None:
    raw = pd.read_csv(fairface_root / "labels" / "fairface_label_val.csv")
    mine = real_fairface.table.query("split == 'val'")["age"].value_counts().sort_index()
    theirs = raw["age"].value_counts().reindex(FAIRFACE_AGE.classes)
    np.testing.assert_array_equal(mine.to_numpy(), theirs.to_numpy())


@pytest.mark.parametrize(
    "text",
    [
        "file,age,gender,race\na.jpg,20-29,Male,White,x,y,z\nb.jpg,3-9,Male,White\n",
        "file,age,gender,race\nb.jpg,3-9,Male,White\na.jpg,20-29,Male,White,x\n",
    ],
)
def test_rows_with_extra_fields_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(text)
    with pytest.raises(DataValidationError, match="not a readable CSV"):
        load_fairface_labels(path)
