"""End-to-end training runs on tiny synthetic sets, checked against independent oracles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error

import fairaudit.training._loop as loop_module
from fairaudit.datasets import FaceDataset, load_fairface, load_utkface
from fairaudit.exceptions import CheckpointError
from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS, load_checkpoint
from fairaudit.training import TrainConfig, train
from fairaudit.training._class_weights import compute_class_weights
from fairaudit.training._splits import utkface_protocol_split
from fairaudit.vocab import FAIRFACE_VOCABULARIES

from .conftest import TINY_ARCH_KWARGS, TINY_SIZE, make_utkface, truncate_jpeg


def _tables(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = load_fairface(root).table
    return (
        table[table["split"] == "train"].reset_index(drop=True),
        table[table["split"] == "val"].reset_index(drop=True),
    )


def _config(**overrides) -> TrainConfig:
    base = {
        "arch_kwargs": TINY_ARCH_KWARGS,
        "image_size": TINY_SIZE,
        "batch_size": 4,
        "max_epochs": 2,
        "early_stopping": "none",
    }
    return TrainConfig.fairface_reference(**{**base, **overrides})


def _naive_predictions(checkpoint: Path, table: pd.DataFrame, *, age_target="group"):
    """Outputs of a checkpoint on every row, one image at a time (no DataLoader)."""
    loaded = load_checkpoint(checkpoint)
    model = loaded.model.eval()
    names = tuple(t.name for t in loaded.tasks)
    data = FaceDataset(table, image_size=loaded.input_size, tasks=names, age_target=age_target)
    outputs: dict[str, list] = {t: [] for t in names}
    targets: dict[str, list] = {t: [] for t in names}
    with torch.no_grad():
        for i in range(len(data)):
            item = data[i]
            if item is None:
                continue
            image, target = item
            out = model(image[None])
            for t in names:
                outputs[t].append(out[t][0].numpy())
                targets[t].append(target[t].item())
    return (
        loaded,
        {t: np.array(v) for t, v in outputs.items()},
        {t: np.array(v) for t, v in targets.items()},
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _states_close(a: dict, b: dict, *, atol: float = 1e-6) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key].float(), b[key].float(), atol=atol, rtol=1e-5, msg=key)


def test_run_writes_files_and_history_matches_sklearn(tiny_fairface, tmp_path):
    train_table, val_table = _tables(tiny_fairface)
    result = train(
        _config(),
        train_table=train_table,
        val_table=val_table,
        output_dir=tmp_path / "run",
        progress=False,
    )
    out = tmp_path / "run"
    for name in ("best.pt", "last.pt", "history.csv", "history.json", "curves.png"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*tmp")), "temporary files left behind"
    assert result.stopped_reason == "reached max_epochs (2)"
    assert list(result.history["epoch"]) == [1, 2]
    assert result.history["n_train"].tolist() == [16, 16]
    assert result.history["n_val"].tolist() == [8, 8]
    assert result.n_corrupt_skipped == 0

    # CSV and JSON logs hold the same numbers as the returned history.
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "history.csv"), result.history, check_dtype=False
    )
    assert json.loads((out / "history.json").read_text())[1]["epoch"] == 2

    # The last epoch's validation metrics, recomputed image by image from last.pt.
    loaded, outputs, targets = _naive_predictions(out / "last.pt", val_table)
    last = result.history.iloc[-1]
    total = 0.0
    for task in FAIRFACE_TASKS:
        probs = _softmax(outputs[task.name])
        labels = list(range(len(task.classes)))
        loss = log_loss(targets[task.name], probs, labels=labels)
        acc = accuracy_score(targets[task.name], outputs[task.name].argmax(axis=1))
        assert last[f"val_{task.name}_loss"] == pytest.approx(loss, rel=1e-4)
        assert last[f"val_{task.name}_accuracy"] == pytest.approx(acc)
        total += loss
    assert last["val_loss"] == pytest.approx(total, rel=1e-4)

    # The checkpoint alone is enough to predict: vocabularies, input size, config.
    assert loaded.tasks == FAIRFACE_TASKS
    assert loaded.input_size == TINY_SIZE
    state = loaded.extra["training"]
    assert TrainConfig.from_dict(state["config"]) == _config()
    assert state["epoch"] == 2

    # best.pt is the epoch with the lowest validation loss, and says so.
    best = load_checkpoint(out / "best.pt")
    best_epoch = int(result.history["val_loss"].idxmin()) + 1
    assert result.best_epoch == best_epoch
    assert best.extra["training"]["epoch"] == best_epoch
    _, best_outputs, best_targets = _naive_predictions(out / "best.pt", val_table)
    best_loss = sum(
        log_loss(best_targets[t.name], _softmax(best_outputs[t.name]), labels=range(len(t.classes)))
        for t in FAIRFACE_TASKS
    )
    assert best_loss == pytest.approx(result.history["val_loss"].min(), rel=1e-4)


def test_resume_after_one_epoch_equals_two_epochs(tiny_fairface, tmp_path):
    train_table, val_table = _tables(tiny_fairface)
    kwargs = {"train_table": train_table, "val_table": val_table, "progress": False}
    straight = train(_config(max_epochs=2), output_dir=tmp_path / "a", **kwargs)

    first = train(_config(max_epochs=1), output_dir=tmp_path / "b", **kwargs)
    assert first.stopped_reason == "reached max_epochs (1)"
    resumed = train(_config(max_epochs=2), output_dir=tmp_path / "b", **kwargs)

    _states_close(
        load_checkpoint(tmp_path / "a" / "last.pt").model.state_dict(),
        load_checkpoint(tmp_path / "b" / "last.pt").model.state_dict(),
    )
    pd.testing.assert_frame_equal(
        straight.history.drop(columns="seconds"),
        resumed.history.drop(columns="seconds"),
        rtol=1e-5,
    )
    # Resuming a finished run does nothing more.
    again = train(_config(max_epochs=2), output_dir=tmp_path / "b", **kwargs)
    assert len(again.history) == 2


def test_resume_within_an_epoch_continues_exactly(tiny_fairface, tmp_path, monkeypatch):
    train_table, val_table = _tables(tiny_fairface)
    # Augmentation and dropout draw from the RNG: the resume must restore it too.
    config = _config(
        max_epochs=2,
        checkpoint_every_steps=1,
        augment=True,
        arch_kwargs={**TINY_ARCH_KWARGS, "dropout": 0.3},
    )
    kwargs = {"train_table": train_table, "val_table": val_table, "progress": False}
    straight = train(config, output_dir=tmp_path / "a", **kwargs)

    class Interrupted(Exception):
        pass

    calls = []

    def interrupt(path):
        calls.append(path)
        if len(calls) == 6:  # epoch 2, after its 3rd of 4 steps
            raise Interrupted

    monkeypatch.setattr(loop_module, "_after_step_checkpoint", interrupt)
    with pytest.raises(Interrupted):
        train(config, output_dir=tmp_path / "b", **kwargs)
    state = load_checkpoint(tmp_path / "b" / "last.pt").extra["training"]
    assert (state["epoch"], state["step_in_epoch"]) == (1, 3)
    monkeypatch.setattr(loop_module, "_after_step_checkpoint", lambda path: None)
    resumed = train(config, output_dir=tmp_path / "b", **kwargs)

    _states_close(
        load_checkpoint(tmp_path / "a" / "last.pt").model.state_dict(),
        load_checkpoint(tmp_path / "b" / "last.pt").model.state_dict(),
    )
    pd.testing.assert_frame_equal(
        straight.history.drop(columns="seconds"),
        resumed.history.drop(columns="seconds"),
        rtol=1e-5,
    )


def test_resume_refuses_another_configuration(tiny_fairface, tmp_path):
    train_table, val_table = _tables(tiny_fairface)
    kwargs = {"train_table": train_table, "val_table": val_table, "progress": False}
    train(_config(max_epochs=1), output_dir=tmp_path / "run", **kwargs)
    with pytest.raises(CheckpointError, match=r"lr: 0\.001 -> 0\.01"):
        train(_config(max_epochs=2, lr=1e-2), output_dir=tmp_path / "run", **kwargs)
    # resume=False starts again from scratch.
    fresh = train(
        _config(max_epochs=1, lr=1e-2), output_dir=tmp_path / "run", resume=False, **kwargs
    )
    assert len(fresh.history) == 1


def test_corrupt_image_is_skipped_and_counted(tiny_fairface, tmp_path):
    truncate_jpeg(tiny_fairface / "train" / "3.jpg")
    truncate_jpeg(tiny_fairface / "val" / "2.jpg")
    train_table, val_table = _tables(tiny_fairface)
    result = train(
        _config(max_epochs=2),
        train_table=train_table,
        val_table=val_table,
        output_dir=tmp_path / "run",
        progress=False,
    )
    assert result.history["n_corrupt_train"].tolist() == [1, 1]
    assert result.history["n_corrupt_val"].tolist() == [1, 1]
    assert result.history["n_train"].tolist() == [15, 15]
    assert result.history["n_val"].tolist() == [7, 7]
    assert result.n_corrupt_skipped == 4
    assert np.isfinite(result.history["train_loss"]).all()


def test_class_weights_are_used_and_stored(tiny_fairface, tmp_path):
    train_table, val_table = _tables(tiny_fairface)
    result = train(
        _config(max_epochs=1, class_weighting=True),
        train_table=train_table,
        val_table=val_table,
        output_dir=tmp_path / "run",
        progress=False,
    )
    stored = load_checkpoint(result.last_checkpoint).extra["training"]["class_weights"]
    expected = compute_class_weights(train_table, vocabularies=FAIRFACE_VOCABULARIES)
    assert stored.keys() == expected.keys() == {"gender", "age", "race"}
    for task in stored:
        torch.testing.assert_close(stored[task], expected[task])
    # Weighted training loss differs from the unweighted run's first epoch.
    plain = train(
        _config(max_epochs=1),
        train_table=train_table,
        val_table=val_table,
        output_dir=tmp_path / "plain",
        progress=False,
    )
    assert result.history["train_loss"][0] != pytest.approx(plain.history["train_loss"][0])


def test_early_stopping_rule_stops_the_run(tiny_fairface, tmp_path):
    train_table, val_table = _tables(tiny_fairface)
    result = train(
        _config(max_epochs=5, early_stopping="train_loss_delta", min_delta=100.0),
        train_table=train_table,
        val_table=val_table,
        output_dir=tmp_path / "run",
        progress=False,
    )
    assert len(result.history) == 2
    assert result.stopped_reason.startswith("early stopping after epoch 2: training loss fell by")


def test_utkface_age_regression_mae_matches_sklearn(tmp_path):
    root = make_utkface(tmp_path / "utk", n=40)
    parts = utkface_protocol_split(load_utkface(root).table, seed=0)
    config = TrainConfig.utkface_protocol(
        backbone="lightweight",
        arch_kwargs=TINY_ARCH_KWARGS,
        image_size=TINY_SIZE,
        batch_size=4,
        max_epochs=1,
    )
    result = train(
        config,
        train_table=parts["train"],
        val_table=parts["val"],
        output_dir=tmp_path / "run",
        progress=False,
    )
    loaded, outputs, targets = _naive_predictions(
        result.last_checkpoint, parts["val"], age_target="years"
    )
    assert loaded.tasks == UTKFACE_TASKS
    max_age = UTKFACE_TASKS[1].max_value
    last = result.history.iloc[-1]
    assert last["val_age_mae"] == pytest.approx(
        mean_absolute_error(targets["age"], outputs["age"] * max_age), rel=1e-5
    )
    mse = np.mean((outputs["age"] - targets["age"] / max_age) ** 2)
    assert last["val_age_loss"] == pytest.approx(mse, rel=1e-4)
    assert last["val_race_accuracy"] == pytest.approx(
        accuracy_score(targets["race"], outputs["race"].argmax(axis=1))
    )
