"""check_integrity: bad files and duplicates on synthetic data, and on the real data vs hashlib."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from fairaudit.datasets import check_integrity, load_fairface
from fairaudit.datasets._integrity import check_file
from fairaudit.exceptions import DataValidationError
from tests.datasets._helpers import write_csv, write_image


@pytest.fixture
def messy_fairface(tmp_path: Path) -> Path:
    root = tmp_path / "ff"
    write_csv(
        root / "labels" / "fairface_label_train.csv",
        [
            ("train/1.jpg", "20-29", "Male", "White", "True"),
            ("train/2.jpg", "20-29", "Male", "White", "False"),  # copy of 1, same labels
            ("train/3.jpg", "3-9", "Female", "Black", "False"),  # truncated
            ("train/4.jpg", "3-9", "Female", "Black", "False"),  # text named .jpg
            ("train/5.jpg", "3-9", "Female", "Black", "False"),  # empty file
            ("train/6.jpg", "40-49", "Female", "Indian", "False"),
        ],
    )
    write_csv(
        root / "labels" / "fairface_label_val.csv",
        [
            ("val/1.jpg", "50-59", "Female", "Indian", "False"),  # copy of train/6, other age
            ("val/2.jpg", "0-2", "Male", "White", "False"),  # a PNG named .jpg: readable
            ("val/3.jpg", "0-2", "Male", "White", "False"),  # no image
        ],
    )
    write_image(root / "train" / "1.jpg", seed=1, size=32)
    shutil.copyfile(root / "train" / "1.jpg", root / "train" / "2.jpg")
    good = write_image(tmp_path / "full.jpg", seed=3, size=64).read_bytes()
    (root / "train" / "3.jpg").write_bytes(good[: len(good) * 6 // 10])
    (root / "train" / "4.jpg").write_text("hello, I am not a JPEG")
    (root / "train" / "5.jpg").write_bytes(b"")
    write_image(root / "train" / "6.jpg", seed=6, size=32)
    (root / "val").mkdir()
    shutil.copyfile(root / "train" / "6.jpg", root / "val" / "1.jpg")
    write_image(root / "val" / "2.jpg", seed=7, size=32, mode="RGBA", fmt="PNG")
    return root


@pytest.mark.parametrize(("decode", "n_jobs"), [("draft", 1), ("full", 1), ("draft", 2)])
def test_integrity_on_messy_data(messy_fairface: Path, decode: str, n_jobs: int) -> None:
    table = load_fairface(messy_fairface).table
    report = check_integrity(table, progress=False, decode=decode, n_jobs=n_jobs)
    assert report.n_checked == 8
    assert report.n_without_image == 1
    unreadable = report.unreadable.set_index("file")["error"]
    assert sorted(unreadable.index) == ["train/3.jpg", "train/4.jpg", "train/5.jpg"]
    assert "truncated" in unreadable["train/3.jpg"]
    assert "not an image" in unreadable["train/4.jpg"]
    assert "empty" in unreadable["train/5.jpg"]
    assert report.unreadable["split"].astype(str).tolist() == ["train"] * 3

    dup = report.duplicates
    groups = {frozenset(g["file"]) for _, g in dup.groupby("group")}
    assert groups == {
        frozenset({"train/1.jpg", "train/2.jpg"}),
        frozenset({"train/6.jpg", "val/1.jpg"}),
    }
    assert report.n_duplicate_groups == 2 and report.n_duplicate_files == 4
    assert report.n_cross_split_groups == 1
    assert dup.set_index("file").loc["val/1.jpg", "cross_split"]
    assert not dup.set_index("file").loc["train/1.jpg", "cross_split"]
    sha = hashlib.sha256((messy_fairface / "train" / "1.jpg").read_bytes()).hexdigest()
    assert dup.set_index("file").loc["train/2.jpg", "sha256"] == sha
    assert dup["n_in_group"].tolist() == [2, 2, 2, 2]

    conflicts = report.conflicts
    assert report.n_conflicting_groups == 1
    assert sorted(conflicts["file"]) == ["train/6.jpg", "val/1.jpg"]
    assert conflicts["conflicting_columns"].tolist() == ["age", "age"]
    assert sorted(conflicts["age"].astype(str)) == ["40-49", "50-59"]

    summary = report.summary()
    assert "unreadable: 3" in summary and "2 groups, 4 files; 1 groups across splits" in summary
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["n_conflicting_groups"] == 1 and len(as_dict["duplicates"]) == 4
    assert {r["file"] for r in as_dict["unreadable"]} == set(unreadable.index)


def test_integrity_clean_data_and_utk_columns(tmp_path: Path) -> None:
    from fairaudit.datasets import load_utkface

    folder = tmp_path / "utk"
    write_image(folder / "10_0_0_20170110220644705.jpg.chip.jpg", seed=1)
    shutil.copyfile(
        folder / "10_0_0_20170110220644705.jpg.chip.jpg",
        folder / "13_0_0_20170110232519225.jpg.chip.jpg",
    )
    write_image(folder / "30_1_2_20170110232519225.jpg.chip.jpg", seed=2)
    report = check_integrity(load_utkface(folder).table, progress=False)
    assert report.n_unreadable == 0
    assert report.n_duplicate_groups == 1
    assert report.n_conflicting_groups == 1  # same age group, different age in years
    assert set(report.conflicts["conflicting_columns"]) == {"age_years"}
    assert "age_years" in report.duplicates.columns


def test_check_file_direct(tmp_path: Path) -> None:
    good = write_image(tmp_path / "a.jpg", seed=1)
    digest, error = check_file(str(good))
    assert error is None and digest == hashlib.sha256(good.read_bytes()).hexdigest()
    digest, error = check_file(str(tmp_path / "missing.jpg"))
    assert digest is None and "cannot read file" in error


def test_integrity_rejects_bad_tables(tiny_fairface: Path) -> None:
    table = load_fairface(tiny_fairface).table
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['has_image'\]"):
        check_integrity(table.drop(columns="has_image"), progress=False)
    broken = table.copy()
    broken.loc[0, "path"] = pd.NA
    with pytest.raises(DataValidationError, match=r"no path, e\.g\. file 'train/1\.jpg'"):
        check_integrity(broken, progress=False)
    with pytest.raises(DataValidationError, match="expects the label table"):
        check_integrity([1, 2], progress=False)
    with pytest.raises(DataValidationError, match="decode must be"):
        check_integrity(table, progress=False, decode="fast")


# --------------------------------------------------------------------------- real data


def _oracle(table: pd.DataFrame, label_columns: list[str]) -> dict[str, object]:
    """Duplicates and conflicts from hashlib over the files, in plain Python."""
    by_digest: dict[str, list[int]] = defaultdict(list)
    rows = table[table["has_image"]]
    for i, path in enumerate(rows["path"]):
        with open(path, "rb") as handle:
            by_digest[hashlib.sha256(handle.read()).hexdigest()].append(i)
    files = rows["file"].tolist()
    splits = rows["split"].astype(str).tolist()
    labels = list(zip(*(rows[c].astype(str).tolist() for c in label_columns)))
    groups = [ix for ix in by_digest.values() if len(ix) >= 2]
    return {
        "groups": {frozenset(files[i] for i in ix) for ix in groups},
        "n_files": sum(len(ix) for ix in groups),
        "n_cross": sum(len({splits[i] for i in ix}) > 1 for ix in groups),
        "conflicts": {
            frozenset(files[i] for i in ix) for ix in groups if len({labels[i] for i in ix}) > 1
        },  # fmt: skip
    }


def _report_groups(frame: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g["file"]) for _, g in frame.groupby("group")}


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_fairface_integrity(real_fairface, real_fairface_integrity) -> None:
    report = real_fairface_integrity
    oracle = _oracle(real_fairface.table, ["gender", "age", "race"])
    assert report.n_checked == 45_000
    assert report.n_unreadable == 0
    assert _report_groups(report.duplicates) == oracle["groups"]
    assert report.n_duplicate_groups == len(oracle["groups"])
    assert report.n_duplicate_files == oracle["n_files"]
    assert report.n_cross_split_groups == oracle["n_cross"]
    assert _report_groups(report.conflicts) == oracle["conflicts"]
    assert report.n_conflicting_groups == len(oracle["conflicts"])
    assert report.n_duplicate_groups > 0 and report.n_conflicting_groups > 0
    print("\nFairFace integrity:\n" + report.summary())


@pytest.mark.shared_data
@pytest.mark.slow
def test_real_utkface_integrity(real_utkface, real_utkface_integrity) -> None:
    report = real_utkface_integrity
    oracle = _oracle(real_utkface.table, ["gender", "age", "race", "age_years"])
    assert report.n_checked == 23_703
    assert report.n_unreadable == 0
    assert _report_groups(report.duplicates) == oracle["groups"]
    assert report.n_duplicate_files == oracle["n_files"]
    assert report.n_cross_split_groups == 0 == oracle["n_cross"]
    assert _report_groups(report.conflicts) == oracle["conflicts"]
    assert report.n_conflicting_groups > 0
    print("\nUTKFace integrity:\n" + report.summary())
