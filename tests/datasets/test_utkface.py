"""UTKFace loader: strict name parsing, malformed names, and the real folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fairaudit.datasets import load_utkface
from fairaudit.datasets._utkface import parse_utkface_name
from fairaudit.exceptions import DataValidationError
from fairaudit.vocab import FAIRFACE_AGE, GENDER, UTKFACE_RACE
from tests.datasets._helpers import write_image

GOOD = [
    "1_0_0_20170109193917584.jpg.chip.jpg",
    "2_1_4_20161219203650636.jpg.chip.jpg",
    "9_0_1_20170110224519409.jpg.chip.jpg",
    "70_1_3_20170120134639935.jpg.chip.jpg",
    "116_0_2_20170112220255503.jpg.chip.jpg",
    "30_1_2_20170116174525125.jpg",  # in-the-wild naming
]
MALFORMED = [
    "39_1_20170116174525125.jpg.chip.jpg",  # a field missing
    "24_0_1_20170116220224657 .jpg.chip.jpg",  # a space
    "55_0_0_20170116232725357jpg.chip.jpg",  # a dot missing
    "30_2_0_20170116174525125.jpg.chip.jpg",  # gender 2
    "30_0_5_20170116174525125.jpg.chip.jpg",  # race 5
    "x_0_0_20170116174525125.jpg.chip.jpg",
]


def _independent_parse(name: str) -> tuple[int, int, int] | None:
    """An oracle written without the library's regex: split on "_" and int()."""
    for suffix in (".jpg.chip.jpg", ".jpg"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return None
    parts = stem.split("_")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    age, gender, race = int(parts[0]), int(parts[1]), int(parts[2])
    if gender not in (0, 1) or race not in range(5) or len(parts[0]) > 3:
        return None
    return age, gender, race


@pytest.mark.parametrize("name", GOOD + MALFORMED)
def test_parse_agrees_with_oracle(name: str) -> None:
    assert parse_utkface_name(name) == _independent_parse(name)


def test_load_utkface_table_and_malformed(tmp_path: Path) -> None:
    folder = tmp_path / "UTKFace"
    for i, name in enumerate(GOOD + MALFORMED):
        write_image(folder / name, seed=i)
    (folder / "README.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0")
    ds = load_utkface(folder)
    table = ds.table
    assert list(table.columns) == [
        "file", "path", "split", "gender", "age", "race", "age_years", "has_image",
    ]  # fmt: skip
    assert table["file"].tolist() == sorted(GOOD)
    by_file = table.set_index("file")
    expected_group = {
        1: "0-2", 2: "0-2", 9: "3-9", 70: "more than 70", 116: "more than 70", 30: "30-39",
    }  # fmt: skip
    for name in GOOD:
        age, gender, race = _independent_parse(name)
        row = by_file.loc[name]
        assert row["age_years"] == age
        assert row["gender"] == GENDER.classes[gender]
        assert row["race"] == UTKFACE_RACE.classes[race]
        assert row["age"] == expected_group[age]
        assert row["path"] == str((folder / name).resolve())
    assert table["split"].tolist() == ["all"] * len(GOOD)
    assert table["has_image"].all()
    assert str(table["age_years"].dtype) == "Int64"
    assert table["age"].dtype == FAIRFACE_AGE.dtype
    assert table["race"].dtype == UTKFACE_RACE.dtype
    report = ds.report
    assert report.malformed_names == tuple(sorted(MALFORMED))
    assert report.n_malformed == len(MALFORMED)
    assert report.ignored_files == ("README.txt",)
    counts = (report.n_rows, report.n_images_found, report.n_missing_images)
    assert counts == (len(GOOD), len(GOOD), 0)
    assert f"malformed file names (excluded): {len(MALFORMED)}" in report.summary()
    assert report.to_dict()["malformed_names"] == sorted(MALFORMED)


def test_malformed_raise_and_parent_folder(tmp_path: Path) -> None:
    folder = tmp_path / "UTKFace"
    write_image(folder / GOOD[0])
    write_image(folder / MALFORMED[0])
    with pytest.raises(DataValidationError, match=r"1 file name\(s\) do not match.*39_1_2017"):
        load_utkface(folder, on_malformed="raise")
    assert load_utkface(tmp_path).root == folder.resolve()  # the parent holding UTKFace/
    with pytest.raises(DataValidationError, match="on_malformed"):
        load_utkface(folder, on_malformed="guess")


def test_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataValidationError, match=r"no images \(\.jpg/\.jpeg/\.png\) in"):
        load_utkface(tmp_path)
    with pytest.raises(DataValidationError, match="UTKFace folder not found"):
        load_utkface(tmp_path / "missing")
    only_bad = tmp_path / "bad"
    write_image(only_bad / MALFORMED[0])
    with pytest.raises(DataValidationError, match="none of the 1 image names parses"):
        load_utkface(only_bad)


# --------------------------------------------------------------------------- real data

#: The malformed names of the published UTKFace (aligned & cropped) set.
REAL_MALFORMED = (
    "24_0_1_20170116220224657 .jpg.chip.jpg",
    "39_1_20170116174525125.jpg.chip.jpg",
    "55_0_0_20170116232725357jpg.chip.jpg",
    "61_1_20170109142408075.jpg.chip.jpg",
    "61_1_20170109150557335.jpg.chip.jpg",
)


@pytest.mark.shared_data
def test_real_utkface(real_utkface, utkface_root: Path) -> None:
    names = sorted(os.listdir(utkface_root))
    assert len(names) == 23_708
    parsed = {n: _independent_parse(n) for n in names}
    malformed = tuple(sorted(n for n, p in parsed.items() if p is None))
    assert malformed == REAL_MALFORMED
    report, table = real_utkface.report, real_utkface.table
    assert report.malformed_names == malformed
    assert report.n_rows == len(table) == 23_708 - 5 == 23_703
    assert report.ignored_files == ()
    good = {n: p for n, p in parsed.items() if p is not None}
    assert table["file"].tolist() == sorted(good)
    assert table["age_years"].tolist() == [good[n][0] for n in table["file"]]
    assert table["gender"].cat.codes.tolist() == [good[n][1] for n in table["file"]]
    assert table["race"].cat.codes.tolist() == [good[n][2] for n in table["file"]]
    good_ages = table["age_years"].tolist()
    lower = [0, 3, 10, 20, 30, 40, 50, 60, 70]
    expected_age = [FAIRFACE_AGE.classes[sum(a >= b for b in lower) - 1] for a in good_ages]
    assert table["age"].astype(str).tolist() == expected_age
