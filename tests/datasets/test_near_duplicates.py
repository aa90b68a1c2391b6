"""Near-duplicates: perceptual hash robust to resizing + JPEG, band index vs all pairs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fairaudit.cli import main
from fairaudit.datasets import check_integrity, load_fairface
from fairaudit.datasets._near_duplicates import (
    _popcount,
    find_near_duplicates,
    hamming_pairs,
    perceptual_hash,
)
from fairaudit.exceptions import DataValidationError
from tests.datasets._helpers import write_csv


def smooth_image(seed: int, size: int = 224) -> Image.Image:
    """A photo-like image: smooth random colour fields (not white noise) with edges."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize((size, size), Image.Resampling.BICUBIC)
    pixels = np.asarray(image).astype(np.int16)
    y, x = np.mgrid[:size, :size]
    cy, cx, radius = rng.integers(size // 4, 3 * size // 4, 3)
    disc = (y - cy) ** 2 + (x - cx) ** 2 < (radius // 2) ** 2
    pixels[disc] = 255 - pixels[disc]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def reencoded(image: Image.Image, size: int = 112, quality: int = 85) -> Image.Image:
    """The copy a re-encoding makes: resized with LANCZOS, saved as JPEG."""
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def test_hash_is_robust_to_resizing_and_jpeg_but_separates_images() -> None:
    for seed in range(8):
        original = smooth_image(seed)
        h = perceptual_hash(original)
        for size, quality in ((112, 85), (160, 60), (64, 90)):
            copy = perceptual_hash(reencoded(original, size, quality))
            assert bin(h ^ copy).count("1") <= 4, (seed, size, quality)
    distances = [
        bin(perceptual_hash(smooth_image(a)) ^ perceptual_hash(smooth_image(b))).count("1")
        for a in range(8)
        for b in range(a + 1, 8)
    ]
    assert min(distances) > 8


@pytest.mark.parametrize("max_distance", [0, 3, 6, 10])
def test_band_index_finds_exactly_the_pairs_all_pairs_would(max_distance: int) -> None:
    rng = np.random.default_rng(max_distance)
    centres = rng.integers(0, 2**63, size=40, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    hashes = [centres]
    for flips in (1, 2, 4, 7, 11):  # noisy copies at various distances
        noisy = centres.copy()
        for k in range(len(noisy)):
            bits = rng.choice(64, size=flips, replace=False)
            for bit in bits:
                noisy[k] ^= np.uint64(1) << np.uint64(int(bit))
        hashes.append(noisy)
    all_hashes = np.concatenate(hashes)
    i, j, d = hamming_pairs(all_hashes, max_distance)
    n = len(all_hashes)
    full = _popcount(all_hashes[:, None] ^ all_hashes[None, :])
    ei, ej = np.nonzero(np.triu(full <= max_distance, k=1))
    assert (i < j).all()
    np.testing.assert_array_equal(np.stack([i, j]), np.stack([ei, ej]))
    np.testing.assert_array_equal(d, full[ei, ej])
    assert len(i) >= (len(centres) if max_distance >= 1 else 0)
    assert n == 240


def test_band_index_rejects_bad_distance() -> None:
    with pytest.raises(DataValidationError, match="max_distance"):
        hamming_pairs(np.zeros(3, dtype=np.uint64), 64)


@pytest.fixture
def copied_fairface(tmp_path: Path) -> Path:
    """Val originals (224 px) with 112 px JPEG re-encoded copies in train, and strangers."""
    root = tmp_path / "ff"
    train = [
        ("train/1.jpg", "20-29", "Male", "White", "False"),  # copy of val/1, same labels
        ("train/2.jpg", "30-39", "Female", "Black", "False"),  # copy of val/2, other age
        ("train/3.jpg", "3-9", "Male", "Indian", "False"),  # copy of train/4, same split
        ("train/4.jpg", "3-9", "Male", "Indian", "False"),
        ("train/5.jpg", "0-2", "Female", "White", "False"),  # a different image
        ("train/6.jpg", "0-2", "Female", "White", "False"),  # a different image
    ]
    val = [
        ("val/1.jpg", "20-29", "Male", "White", "False"),
        ("val/2.jpg", "50-59", "Female", "Black", "False"),
        ("val/3.jpg", "40-49", "Male", "Latino_Hispanic", "False"),  # a different image
    ]
    write_csv(root / "labels" / "fairface_label_train.csv", train)
    write_csv(root / "labels" / "fairface_label_val.csv", val)
    for folder in ("train", "val"):
        (root / folder).mkdir(parents=True)
    originals = {k: smooth_image(100 + k) for k in range(1, 4)}
    for k, image in originals.items():
        image.save(root / "val" / f"{k}.jpg", quality=95)
    reencoded(originals[1]).save(root / "train" / "1.jpg", quality=85)
    reencoded(originals[2]).save(root / "train" / "2.jpg", quality=85)
    base = smooth_image(7)
    base.save(root / "train" / "4.jpg", quality=90)
    reencoded(base, 150, 70).save(root / "train" / "3.jpg", quality=70)
    smooth_image(8).resize((112, 112)).save(root / "train" / "5.jpg")
    smooth_image(9).resize((112, 112)).save(root / "train" / "6.jpg")
    return root


def test_near_duplicates_across_splits_with_conflicts(copied_fairface: Path) -> None:
    table = load_fairface(copied_fairface).table
    pairs = find_near_duplicates(table, progress=False)
    found = {(a, b) for a, b in zip(pairs["file_a"], pairs["file_b"])}
    assert found == {
        ("train/1.jpg", "val/1.jpg"),
        ("train/2.jpg", "val/2.jpg"),
        ("train/3.jpg", "train/4.jpg"),
    }
    by_pair = pairs.set_index(["file_a", "file_b"])
    assert by_pair.loc[("train/1.jpg", "val/1.jpg"), "cross_split"]
    assert not by_pair.loc[("train/1.jpg", "val/1.jpg"), "conflict"]
    assert by_pair.loc[("train/2.jpg", "val/2.jpg"), "conflict"]
    assert by_pair.loc[("train/2.jpg", "val/2.jpg"), "conflicting_columns"] == "age"
    assert by_pair.loc[("train/2.jpg", "val/2.jpg"), "age_b"] == "50-59"
    assert not by_pair.loc[("train/3.jpg", "train/4.jpg"), "cross_split"]
    assert (pairs["distance"] <= 6).all() and (pairs["correlation"] >= 0.95).all()
    assert pairs.attrs["n_hashed"] == 9


def test_integrity_report_and_cli_with_near_duplicates(
    copied_fairface: Path, tmp_path: Path, capsys
) -> None:
    table = load_fairface(copied_fairface).table
    report = check_integrity(table, progress=False, near_duplicates=True)
    assert report.n_near_duplicate_pairs == 3
    assert report.n_cross_split_near_duplicate_pairs == 2
    assert report.n_conflicting_near_duplicate_pairs == 1
    assert not report.near_duplicates["byte_identical"].any()
    assert report.n_duplicate_groups == 0  # byte hashes find none of them
    assert "near-duplicate pairs" in report.summary()
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["n_cross_split_near_duplicate_pairs"] == 2
    assert len(payload["near_duplicates"]) == 3
    assert check_integrity(table, progress=False).near_duplicates is None

    csv = tmp_path / "near.csv"
    status = main(
        ["integrity", str(copied_fairface), "--near-duplicates-csv", str(csv), "--jobs", "2"]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "near-duplicate pairs (hash distance <= 6, correlation >= 0.95): 3" in out
    assert "train/2.jpg ~ val/2.jpg" in out and "labels differ: age" in out
    assert len(pd.read_csv(csv)) == 3
    # a stricter distance threshold
    assert (
        main(["integrity", str(copied_fairface), "--near-duplicates", "--max-distance", "0"]) == 0
    )


def test_unreadable_files_are_left_out(copied_fairface: Path) -> None:
    (copied_fairface / "train" / "5.jpg").write_bytes(b"not an image")
    table = load_fairface(copied_fairface).table
    pairs = find_near_duplicates(table, progress=False)
    assert pairs.attrs["n_hashed"] == 8
    assert len(pairs) == 3


#: Cross-split copies in the real FairFace (train: 112 px re-encodings, val: originals),
#: found by this module and inspected by eye.
KNOWN_FAIRFACE_COPIES = [
    ("train/1674.jpg", "val/3715.jpg"),
    ("train/6629.jpg", "val/2236.jpg"),
    ("train/9213.jpg", "val/1353.jpg"),
]


@pytest.mark.shared_data
def test_real_fairface_subset(real_fairface) -> None:
    table = real_fairface.table
    known = {f for pair in KNOWN_FAIRFACE_COPIES for f in pair}
    others = table[table["has_image"] & (table["file"].str.match(r"(train|val)/\d{1,2}\.jpg$"))]
    subset = pd.concat([table[table["file"].isin(known)], others])
    pairs = find_near_duplicates(subset, progress=False)
    found = set(zip(pairs["file_a"], pairs["file_b"]))
    for pair in KNOWN_FAIRFACE_COPIES:
        assert pair in found
    cross = pairs[pairs["cross_split"]]
    assert set(KNOWN_FAIRFACE_COPIES) <= set(zip(cross["file_a"], cross["file_b"]))
    # the 200 other images have no copy among themselves
    assert len(pairs) == len(KNOWN_FAIRFACE_COPIES)


#: Copies in the real UTKFace that are not byte-identical (re-encoded), with other ages.
KNOWN_UTKFACE_COPIES = [
    ("24_0_0_20170104004125063.jpg.chip.jpg", "28_0_0_20170117202533919.jpg.chip.jpg"),
    ("22_0_0_20170110232146790.jpg.chip.jpg", "24_0_0_20170117150004378.jpg.chip.jpg"),
    ("28_0_1_20170103225933161.jpg.chip.jpg", "32_0_1_20170113001102379.jpg.chip.jpg"),
]


@pytest.mark.shared_data
def test_real_utkface_subset(real_utkface) -> None:
    table = real_utkface.table
    known = {f for pair in KNOWN_UTKFACE_COPIES for f in pair}
    subset = pd.concat([table[table["file"].isin(known)], table[table["has_image"]].iloc[:150]])
    subset = subset.drop_duplicates("file")
    report = check_integrity(subset, progress=False, near_duplicates=True)
    pairs = report.near_duplicates
    found = {frozenset(p) for p in zip(pairs["file_a"], pairs["file_b"])}
    assert {frozenset(p) for p in KNOWN_UTKFACE_COPIES} <= found
    known_rows = pairs[
        [
            frozenset(p) in map(frozenset, KNOWN_UTKFACE_COPIES)
            for p in zip(pairs["file_a"], pairs["file_b"])
        ]
    ]
    assert not known_rows["byte_identical"].any()  # byte hashes miss them
    assert known_rows["conflicting_columns"].str.contains("age_years").all()
    assert not pairs["cross_split"].any()  # UTKFace has one split


def test_no_candidate_pair_gives_an_empty_table(copied_fairface: Path) -> None:
    table = load_fairface(copied_fairface).table
    strangers = table[table["file"].isin(["train/5.jpg", "train/6.jpg", "val/3.jpg"])]
    pairs = find_near_duplicates(strangers, max_distance=0, progress=False)
    assert pairs.attrs["n_hashed"] == 3
    assert len(pairs) == 0 and {"file_a", "file_b", "conflict"} <= set(pairs.columns)
