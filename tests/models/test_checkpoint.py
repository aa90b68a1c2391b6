"""Checkpoints: round trip, atomic writes, safe loading, clear errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from fairaudit.exceptions import CheckpointError
from fairaudit.models import (
    FAIRFACE_TASKS,
    UTKFACE_TASKS,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from fairaudit.models._checkpoint import CHECKPOINT_FORMAT, LoadedCheckpoint

torch.set_num_threads(1)


def _trained_model(tasks=FAIRFACE_TASKS, **kwargs):
    """A small lightweight model whose BN statistics moved away from their defaults."""
    torch.manual_seed(0)
    model = build_model("lightweight", tasks=tasks, width=0.25, hidden=16, **kwargs)
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 32, 32))
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return _trained_model()


@pytest.fixture
def saved(tmp_path, model):
    return save_checkpoint(tmp_path / "model.pt", model=model, input_size=32)


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _trained_model(UTKFACE_TASKS)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    out = model(torch.randn(2, 3, 32, 32))
    (out["gender"].sum() + out["age"].sum()).backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3)
    extra = {
        "epoch": 7,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": [{"loss": 0.5, "acc": None}],
        "class_weights": {"race": torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])},
        "config": {"lr": 1e-3, "tags": ("a", "b")},
    }
    path = save_checkpoint(tmp_path / "sub" / "ck.pt", model=model, input_size=32, extra=extra)
    assert path == tmp_path / "sub" / "ck.pt" and path.is_file()
    loaded = load_checkpoint(path)
    assert isinstance(loaded, LoadedCheckpoint)
    assert loaded.arch == "lightweight" and loaded.tasks == UTKFACE_TASKS
    assert loaded.input_size == 32 and loaded.path == path
    assert loaded.arch_kwargs == model.arch_kwargs
    assert not loaded.model.training
    x = torch.randn(3, 3, 40, 48)
    model.eval()
    with torch.no_grad():
        expected, got = model(x), loaded.model(x)
    for name in expected:
        assert torch.equal(expected[name], got[name])
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key
    assert loaded.extra["epoch"] == 7 and loaded.extra["config"] == extra["config"]
    assert loaded.extra["history"] == extra["history"]
    torch.testing.assert_close(
        loaded.extra["class_weights"]["race"], extra["class_weights"]["race"]
    )
    restored = torch.optim.SGD(loaded.model.parameters(), lr=1e-3, momentum=0.9)
    restored.load_state_dict(loaded.extra["optimizer"])
    for key, state in optimizer.state_dict()["state"].items():
        torch.testing.assert_close(
            restored.state_dict()["state"][key]["momentum_buffer"], state["momentum_buffer"]
        )


def test_file_is_a_weights_only_plain_dict(saved):
    payload = torch.load(saved, weights_only=True)
    assert payload["format"] == CHECKPOINT_FORMAT and payload["format_version"] == 1
    assert payload["arch"] == "lightweight" and payload["input_size"] == 32
    assert payload["tasks"] == [t.to_dict() for t in FAIRFACE_TASKS]
    assert isinstance(payload["library_version"], str)


def test_frozen_backbone_flag_survives(tmp_path):
    model = _trained_model(freeze_backbone=True)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "f.pt", model=model, input_size=32))
    assert loaded.model.backbone_frozen
    assert not any(p.requires_grad for p in loaded.model.backbone.parameters())


def _no_temp_files(folder: Path) -> bool:
    return sorted(p.name for p in folder.iterdir()) == ["model.pt"]


def test_failed_save_leaves_the_old_file_and_no_partial_file(tmp_path, model, saved, monkeypatch):
    before = saved.read_bytes()

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(CheckpointError, match=r"model\.pt.*No space left"):
        save_checkpoint(saved, model=model, input_size=32)
    assert saved.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_interrupted_save_leaves_nothing(tmp_path, model, monkeypatch):
    def interrupted(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "new.pt", model=model, input_size=32)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"out": Path("/tmp/x")}, r"extra\['out'\].*str\(\)"),
        (
            {"history": [{"loss": __import__("numpy").float64(0.5)}]},
            r"extra\['history'\]\[0\]\['loss'\].*numpy",
        ),
        ({"fn": len}, r"extra\['fn'\]"),
        ({("a", "b"): 1}, "key"),
    ],
)
def test_unsafe_extra_is_refused_before_writing(tmp_path, model, extra, match):
    with pytest.raises(CheckpointError, match=match):
        save_checkpoint(tmp_path / "x.pt", model=model, input_size=32, extra=extra)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_foreign_models_and_bad_input_size(tmp_path, model):
    with pytest.raises(CheckpointError, match="arch"):
        save_checkpoint(tmp_path / "x.pt", model=torch.nn.Linear(2, 2), input_size=32)
    with pytest.raises(CheckpointError, match="input_size"):
        save_checkpoint(tmp_path / "x.pt", model=model, input_size=0)
    with pytest.raises(CheckpointError, match=r"input_size must be an int in \[1, 1024\]"):
        save_checkpoint(tmp_path / "x.pt", model=model, input_size=1025)


@pytest.mark.parametrize("size", [100_000, 1025, 0, True])
def test_load_refuses_an_unbounded_input_size(saved, size):
    """Issue 26: input_size 100000 reached 23.8 GB before the kernel killed it."""
    with pytest.raises(CheckpointError, match=rf"edited\.pt: invalid input_size {size!r} "):
        load_checkpoint(_rewrite(saved, input_size=size))


def test_load_accepts_the_largest_input_size(saved):
    assert load_checkpoint(_rewrite(saved, input_size=1024)).input_size == 1024


def test_expected_arch_and_tasks(saved):
    assert load_checkpoint(saved, expected_arch="lightweight", expected_tasks=FAIRFACE_TASKS)
    with pytest.raises(CheckpointError, match=r"model\.pt.*'lightweight', expected 'mobilenet_v2'"):
        load_checkpoint(saved, expected_arch="mobilenet_v2")
    other = (FAIRFACE_TASKS[0], FAIRFACE_TASKS[1], UTKFACE_TASKS[2])
    with pytest.raises(CheckpointError, match=r"model\.pt.*tasks differ.*Latino_Hispanic.*Others"):
        load_checkpoint(saved, expected_tasks=other)
    with pytest.raises(CheckpointError, match="regression"):
        load_checkpoint(saved, expected_tasks=UTKFACE_TASKS)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match=r"not found: .*nope\.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty", "text"])
def test_corrupt_files(tmp_path, saved, kind):
    bad = tmp_path / f"{kind}.pt"
    data = {
        "garbage": bytes(range(256)) * 8,
        "truncated": saved.read_bytes()[: saved.stat().st_size // 2],
        "empty": b"",
        "text": b"hello world",
    }[kind]
    bad.write_bytes(data)
    with pytest.raises(CheckpointError, match=rf"{kind}\.pt.*not a fairaudit checkpoint"):
        load_checkpoint(bad)


def test_other_torch_files_are_refused(tmp_path, model):
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    with pytest.raises(CheckpointError, match="bare state dict"):
        load_checkpoint(bare)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(CheckpointError, match="not a fairaudit checkpoint"):
        load_checkpoint(tensor)


def _rewrite(path: Path, **changes) -> Path:
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    out = path.with_name("edited.pt")
    torch.save(payload, out)
    return out


def test_other_format_version(saved):
    with pytest.raises(CheckpointError, match="format version 99"):
        load_checkpoint(_rewrite(saved, format_version=99))


def test_state_dict_mismatch(saved, model):
    state = dict(model.state_dict())
    del state["heads.race.bias"]
    with pytest.raises(CheckpointError, match=r"missing key.*heads\.race\.bias"):
        load_checkpoint(_rewrite(saved, state_dict=state))
    state = dict(model.state_dict())
    state["heads.race.weight"] = torch.zeros(5, 16)
    with pytest.raises(CheckpointError, match=r"mismatched.*heads\.race\.weight"):
        load_checkpoint(_rewrite(saved, state_dict=state))
    state = dict(model.state_dict()) | {"extra_layer.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(_rewrite(saved, state_dict=state))
    with pytest.raises(CheckpointError, match="architecture 'resnet9000'"):
        load_checkpoint(_rewrite(saved, arch="resnet9000"))
    with pytest.raises(CheckpointError, match="task"):
        load_checkpoint(_rewrite(saved, tasks=[{"name": "g"}]))


class _Malicious:
    """Unpickling this runs code that creates a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("writer", ["torch_zip", "torch_legacy", "pickle", "pickle_protocol2"])
def test_malicious_pickle_is_refused(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"format": CHECKPOINT_FORMAT, "format_version": 1, "evil": _Malicious(marker)}
    with open(path, "wb") as handle:
        if writer == "torch_zip":
            torch.save(payload, handle)
        elif writer == "torch_legacy":
            torch.save(payload, handle, _use_new_zipfile_serialization=False)
        elif writer == "pickle":
            pickle.dump(payload, handle)
        else:
            pickle.dump(payload, handle, protocol=2)
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused to load"):
        load_checkpoint(path)
    assert not marker.exists()
    # The file really is malicious: an unsafe load runs its code.
    if writer.startswith("torch"):
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as handle:
            pickle.load(handle)  # on purpose: proves the payload is live
    assert marker.exists()


def test_map_location_and_eval_mode(saved):
    loaded = load_checkpoint(saved, map_location=torch.device("cpu"))
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    assert not loaded.model.training
    assert os.path.samefile(loaded.path, saved)
