"""Heads on frozen features: the feature cache, the fused model and ``train-heads``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fairaudit.cli import main
from fairaudit.datasets._transforms import ImageTransform
from fairaudit.exceptions import DataValidationError
from fairaudit.models import build_model, load_checkpoint, save_checkpoint
from fairaudit.models._descriptor_fusion import crops_to_pixels
from fairaudit.training import HeadsConfig, load_training_tables, train_heads
from fairaudit.training._features import cached_features, crop_pixels
from tests.training.conftest import make_fairface

needs_dlib = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None,
    reason='the face descriptor needs dlib-bin: pip install "fairaudit-faces[detect]"',
)


def _table(root: Path, n: int = 7):
    paths = sorted(str(p) for p in (root / "train").glob("*.jpg"))[:n]
    import pandas as pd

    return pd.DataFrame({"path": paths})


def test_crops_to_pixels_inverts_the_transform(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=5, n_val=1)
    paths = _table(root, 5)["path"].tolist()
    transform = ImageTransform(48)
    x = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    np.testing.assert_array_equal(crops_to_pixels(x), crop_pixels(paths, image_size=48))


def test_cached_features_resume_at_the_first_missing_chunk(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=7, n_val=1)
    table = _table(root)
    calls = []

    def extract(pixels):
        calls.append(len(pixels))
        return pixels.reshape(len(pixels), -1).mean(axis=1, keepdims=True)

    cache = tmp_path / "cache"
    first = cached_features(table, extract, cache, image_size=16, chunk_size=3, progress=False)
    assert first.shape == (7, 1) and calls == [3, 3, 1]
    # oracle: the mean pixel of each resized crop, one image at a time
    expected = [crop_pixels([p], image_size=16).mean() for p in table["path"]]
    np.testing.assert_allclose(first[:, 0], expected, rtol=1e-6)
    chunks = sorted(cache.glob("*.npy"))
    chunks[1].unlink()
    calls.clear()
    again = cached_features(table, extract, cache, image_size=16, chunk_size=3, progress=False)
    assert calls == [3]
    np.testing.assert_array_equal(again, first)
    np.save(chunks[1], np.zeros((2, 1), np.float32))
    with pytest.raises(DataValidationError, match="has 2 rows, expected 3"):
        cached_features(table, extract, cache, image_size=16, chunk_size=3, progress=False)
    # another table (other images or order) never reads these chunks
    calls.clear()
    cached_features(table.iloc[::-1], extract, cache, image_size=16, chunk_size=3, progress=False)
    assert calls == [3, 3, 1]


@needs_dlib
def test_fused_model_equals_its_parts_and_train_heads_packages_a_loadable_model(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=30, n_val=2)
    trunk = build_model("mobilenet_v2", head_units=[8])
    # a trunk trained with the same held-out rows may choose the epoch on them
    recipe = {"dataset": "fairface", "holdout_fraction": 0.2, "seed": 0}
    trunk_path = save_checkpoint(
        tmp_path / "trunk.pt",
        model=trunk.eval(),
        input_size=112,
        extra={"training": {"config": recipe}},
    )
    tables = load_training_tables("fairface", root, holdout_fraction=0.2)
    config = HeadsConfig(
        trunk=str(trunk_path), holdout_fraction=0.2, head_units=[16], max_epochs=3, patience=2
    )
    result = train_heads(
        config,
        train_table=tables.train,
        val_table=tables.val,
        output_dir=tmp_path / "run",
        progress=False,
    )
    assert (tmp_path / "run" / "history.csv").is_file()
    assert 1 <= result.best_epoch <= 3 and len(result.history) <= 3
    best = result.history.loc[result.history["val_loss"].idxmin(), "epoch"]
    assert best == result.best_epoch
    loaded = load_checkpoint(result.best_checkpoint)
    model = loaded.model.eval()
    assert loaded.arch == "mobilenet_v2_face_descriptor"
    # the backbone is the trunk's, frozen: identical weights
    for key, value in trunk.backbone.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[key], value)
    # forward on the crops == heads on the standardised cached parts
    paths = tables.val["path"].tolist()
    transform = ImageTransform(112)
    x = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        outputs = model(x)
        fused = model.fuse(model.cnn_pooled(x), model.describe(x))
        for task in model.tasks:
            torch.testing.assert_close(outputs[task.name], model.heads[task.name](fused))
    # the validation loss of the best epoch is reproduced by the saved model
    from fairaudit.vocab import FAIRFACE_VOCABULARIES

    loss = sum(
        torch.nn.functional.cross_entropy(
            outputs[t.name],
            torch.from_numpy(FAIRFACE_VOCABULARIES[t.name].encode(tables.val[t.name])),
        )
        for t in model.tasks
    )
    assert float(loss) == pytest.approx(result.history["val_loss"].min(), rel=1e-5)


def test_heads_config_and_cli_errors(tmp_path, capsys):
    with pytest.raises(DataValidationError, match="'fairface' or 'utkface'"):
        HeadsConfig(dataset="celeba")
    # FairFace's recipe holds out 10%; UTKFace validates on its protocol's val split
    assert HeadsConfig().holdout_fraction == 0.1
    assert HeadsConfig(dataset="utkface").holdout_fraction is None
    with pytest.raises(DataValidationError, match="does not apply to UTKFace"):
        HeadsConfig(dataset="utkface", holdout_fraction=0.1)
    with pytest.raises(DataValidationError, match="dropout"):
        HeadsConfig(dropout=1.0)
    args = ["train-heads", "--data-root", str(tmp_path), "--output", str(tmp_path / "o")]
    assert main([*args, "--head-units", "x"]) != 0
    assert "--head-units 'x'" in capsys.readouterr().err


@needs_dlib
def test_a_trunk_trained_on_the_held_out_rows_keeps_the_last_epoch(tmp_path):
    root = make_fairface(tmp_path / "ff", n_train=20, n_val=2)
    trunk = build_model("mobilenet_v2", head_units=[8]).eval()
    trunk_path = save_checkpoint(tmp_path / "trunk.pt", model=trunk, input_size=112)
    tables = load_training_tables("fairface", root, holdout_fraction=0.2)
    kwargs = {"train_table": tables.train, "val_table": tables.val, "progress": False}
    config = HeadsConfig(trunk=str(trunk_path), holdout_fraction=0.2, max_epochs=4)
    with pytest.raises(DataValidationError, match="trained on the rows held out"):
        train_heads(config, output_dir=tmp_path / "best", **kwargs)
    last = HeadsConfig(
        trunk=str(trunk_path), holdout_fraction=0.2, max_epochs=4, patience=1, select="last"
    )
    result = train_heads(last, output_dir=tmp_path / "last", **kwargs)
    # exactly max_epochs epochs (patience plays no part) and the last one kept
    assert len(result.history) == 4 and result.best_epoch == 4
    assert "select='last'" in result.stopped_reason


def test_trunk_saw_holdout_reads_the_recipe():
    from fairaudit.training._heads import trunk_saw_holdout

    config = HeadsConfig(holdout_fraction=0.1, seed=0)
    assert trunk_saw_holdout(None, config)
    assert trunk_saw_holdout({"dataset": "fairface", "seed": 0}, config)  # the seed's way
    assert trunk_saw_holdout({"dataset": "fairface", "holdout_fraction": 0.1, "seed": 1}, config)
    assert not trunk_saw_holdout(
        {"dataset": "fairface", "holdout_fraction": 0.1, "seed": 0}, config
    )
    # UTKFace: the protocol's val split is a function of the seed alone
    utk = HeadsConfig(dataset="utkface", seed=0)
    assert not trunk_saw_holdout({"dataset": "utkface", "seed": 0}, utk)
    assert trunk_saw_holdout({"dataset": "utkface", "seed": 1}, utk)
    assert trunk_saw_holdout({"dataset": "fairface", "holdout_fraction": 0.1, "seed": 0}, utk)


@needs_dlib
def test_utkface_heads_regress_the_age_with_the_trainers_loss(tmp_path):
    from fairaudit.models import UTKFACE_TASKS
    from fairaudit.training._setup import task_dataset
    from tests.training.conftest import make_utkface

    root = make_utkface(tmp_path / "utk", n=60)
    trunk = build_model("mobilenet_v2", tasks=UTKFACE_TASKS, head_units=[8]).eval()
    trunk_path = save_checkpoint(
        tmp_path / "trunk.pt",
        model=trunk,
        input_size=112,
        extra={"training": {"config": {"dataset": "utkface", "seed": 0}}},
    )
    tables = load_training_tables("utkface", root)
    config = HeadsConfig(
        trunk=str(trunk_path), dataset="utkface", head_units=[16], max_epochs=3, patience=3
    )
    result = train_heads(
        config,
        train_table=tables.train,
        val_table=tables.val,
        output_dir=tmp_path / "run",
        progress=False,
    )
    history = result.history
    assert {"val_age_mae", "val_gender_accuracy", "val_race_accuracy"} <= set(history.columns)
    assert "val_age_accuracy" not in history.columns
    model = load_checkpoint(result.best_checkpoint).model.eval()
    assert [t.kind for t in model.tasks] == ["classification", "regression", "classification"]
    # oracle: the saved model on the val crops, with the losses written out by hand
    data = task_dataset(tables.val, model.tasks, image_size=112)
    x = torch.stack([data[i][0] for i in range(len(data))])
    years = torch.tensor(tables.val["age_years"].to_numpy(), dtype=torch.float32)
    with torch.no_grad():
        out = model(x)
    age_task = model.tasks[1]
    assert out["age"].shape == (len(data),) and bool(((out["age"] >= 0) & (out["age"] <= 1)).all())
    squared = ((out["age"] - years / age_task.max_value) ** 2).mean()
    loss = float(squared) + sum(
        float(torch.nn.functional.cross_entropy(out[name], data.targets[name]))
        for name in ("gender", "race")
    )
    best = history.loc[history["epoch"] == result.best_epoch].iloc[0]
    assert loss == pytest.approx(best["val_loss"], rel=1e-5)
    mae = float((out["age"] * age_task.max_value - years).abs().mean())
    assert mae == pytest.approx(best["val_age_mae"], rel=1e-5)
