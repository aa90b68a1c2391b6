"""FaceDataset, ImageTransform and collate_faces."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import NEEDS_TORCH

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)

from torch.utils.data import DataLoader

from fairaudit.datasets import FaceDataset, load_fairface, load_utkface
from fairaudit.datasets._torchdata import FaceBatch, FaceItem, collate_faces
from fairaudit.datasets._transforms import IMAGENET_MEAN, IMAGENET_STD, ImageTransform
from fairaudit.exceptions import DataValidationError, UnknownLabelError
from fairaudit.vocab import FAIRFACE_RACE, UTKFACE_RACE
from tests.datasets._helpers import write_image

MEAN = np.array(IMAGENET_MEAN).reshape(3, 1, 1)
STD = np.array(IMAGENET_STD).reshape(3, 1, 1)


def test_transform_normalisation_exact_on_lossless_image() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    out = ImageTransform(8)(Image.fromarray(pixels, "RGB"))  # same size: no resampling
    expected = (pixels.transpose(2, 0, 1) / 255.0 - MEAN) / STD
    assert out.dtype == torch.float32 and out.shape == (3, 8, 8)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
    raw = ImageTransform(8, normalize=False)(Image.fromarray(pixels, "RGB"))
    np.testing.assert_allclose(raw.numpy(), pixels.transpose(2, 0, 1) / 255.0, atol=1e-7)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_transform_converts_modes_to_rgb(mode: str) -> None:
    image = Image.fromarray(np.full((10, 12, 3), 100, dtype=np.uint8), "RGB").convert(mode)
    out = ImageTransform((6, 4), normalize=False)(image)
    assert out.shape == (3, 6, 4)
    expected = np.asarray(image.convert("RGB"), dtype=np.float64)[0, 0] / 255.0
    np.testing.assert_allclose(out[:, 0, 0].numpy(), expected, atol=1e-6)


def test_augmentation_is_seeded_and_bounded() -> None:
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8))
    transform = ImageTransform(32, augment=True, normalize=False)
    torch.manual_seed(5)
    first = [transform(image) for _ in range(4)]
    torch.manual_seed(5)
    second = [transform(image) for _ in range(4)]
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    assert not all(torch.equal(first[0], x) for x in first[1:])
    plain = ImageTransform(32, normalize=False)(image)
    assert not torch.equal(first[0], plain)
    assert all(0.0 <= float(x.min()) and float(x.max()) <= 1.0 for x in first)


def test_transform_rejects_bad_arguments() -> None:
    with pytest.raises(DataValidationError, match="image_size"):
        ImageTransform((1, 2, 3))
    with pytest.raises(DataValidationError, match="positive"):
        ImageTransform(0)
    with pytest.raises(DataValidationError, match="expects a PIL image"):
        ImageTransform(8)(np.zeros((8, 8, 3)))


@pytest.fixture
def face_table(tiny_fairface: Path):
    """tiny_fairface with train/2.jpg truncated; rows 3 and 5 have no image."""
    data = (tiny_fairface / "train" / "2.jpg").read_bytes()
    (tiny_fairface / "train" / "2.jpg").write_bytes(data[: len(data) // 2])
    return load_fairface(tiny_fairface).table


def test_face_dataset_items(face_table, tiny_fairface: Path) -> None:
    ds = FaceDataset(face_table, image_size=20)
    assert len(ds) == 4 and ds.n_without_image == 2
    image, targets = ds[0]
    assert image.shape == (3, 20, 20) and image.dtype == torch.float32
    raw = (
        Image.open(tiny_fairface / "train" / "1.jpg")
        .convert("RGB")
        .resize((20, 20), Image.BILINEAR)
    )
    expected = (np.asarray(raw, dtype=np.float64).transpose(2, 0, 1) / 255.0 - MEAN) / STD
    np.testing.assert_allclose(image.numpy(), expected, atol=1e-5)
    assert set(targets) == {"gender", "age", "race"}
    for task in targets:
        assert targets[task].dtype == torch.int64 and targets[task].shape == ()
        assert int(targets[task]) == face_table[task].cat.codes.iloc[0]
    item = ds[3]  # the 4th row with an image is val/1.jpg, table row 4
    assert isinstance(item, FaceItem) and item.index == 4
    assert int(item.targets["race"]) == FAIRFACE_RACE.classes.index("Middle Eastern")
    assert ds.vocabularies["race"].classes == FAIRFACE_RACE.classes


def test_corrupt_image_skipped_and_counted(face_table) -> None:
    ds = FaceDataset(face_table, image_size=16)
    assert ds[1] is None  # train/2.jpg is truncated
    assert ds.n_corrupt == 1 and ds.corrupt_files[0].endswith("train/2.jpg")
    strict = FaceDataset(face_table, image_size=16, skip_corrupt=False)
    with pytest.raises(DataValidationError, match=r"cannot read image .*train/2\.jpg"):
        strict[1]


def test_collate_and_dataloader(face_table) -> None:
    ds = FaceDataset(face_table, image_size=16)
    loader = DataLoader(ds, batch_size=3, collate_fn=collate_faces, num_workers=0)
    batches = list(loader)
    assert [len(b) for b in batches] == [2, 1]
    assert [b.n_skipped for b in batches] == [1, 0]
    first = batches[0]
    assert isinstance(first, FaceBatch)
    assert first.images.shape == (2, 3, 16, 16)
    assert first.indices.tolist() == [0, 2]  # table rows of train/1.jpg and train/3.jpg
    for task in ("gender", "age", "race"):
        assert first.targets[task].dtype == torch.int64
        expected = face_table[task].cat.codes.iloc[[0, 2]].tolist()
        assert first.targets[task].tolist() == expected
    assert batches[1].indices.tolist() == [4]
    moved = first.to("cpu")
    assert torch.equal(moved.images, first.images)
    empty = collate_faces([None, None])
    assert len(empty) == 0 and empty.n_skipped == 2 and empty.images.shape[0] == 0


def test_face_item_pickles_for_worker_processes(face_table) -> None:
    item = FaceDataset(face_table, image_size=8)[2]
    copy = pickle.loads(pickle.dumps(item))
    assert copy.index == item.index == 2
    assert torch.equal(copy.image, item.image)
    image, targets = copy
    assert set(targets) == {"gender", "age", "race"}


def test_tasks_vocabularies_and_age_years(tmp_path: Path) -> None:
    folder = tmp_path / "utk"
    write_image(folder / "25_1_2_20170116174525125.jpg.chip.jpg", seed=1)
    write_image(folder / "71_0_4_20170116174525126.jpg.chip.jpg", seed=2)
    table = load_utkface(folder).table
    ds = FaceDataset(table, image_size=(12, 10), tasks=("age", "race"), age_target="years")
    image, targets = ds[0]
    assert image.shape == (3, 12, 10)
    assert targets["age"].dtype == torch.float32 and float(targets["age"]) == 25.0
    assert int(targets["race"]) == UTKFACE_RACE.classes.index("Asian")
    grouped = FaceDataset(table, image_size=8, tasks=("age",))
    assert int(grouped[1][1]["age"]) == 8  # "more than 70"
    with pytest.raises(UnknownLabelError, match="'Asian'"):
        FaceDataset(table, image_size=8, tasks=("race",), vocabularies={"race": FAIRFACE_RACE})
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['service'\]"):
        FaceDataset(table, tasks=("service",))
    with pytest.raises(DataValidationError, match="age_target"):
        FaceDataset(table, age_target="decades")
    plain = table.assign(race=table["race"].astype(str))
    with pytest.raises(DataValidationError, match="not categorical"):
        FaceDataset(plain, tasks=("race",))
