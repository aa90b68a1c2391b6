"""Transfer models: heads, strategies (frozen / fine-tuned), registry, timm backbones."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch import nn

from fairaudit.exceptions import CheckpointError, ConfigurationError, MissingDependencyError
from fairaudit.models import (
    FAIRFACE_TASKS,
    UTKFACE_TASKS,
    TransferMTLNet,
    available_architectures,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from fairaudit.models._backbones import BACKBONES, timm_available

torch.set_num_threads(1)

TIMM_ARCHS = [name for name, spec in BACKBONES.items() if spec.timm_name is not None]


def _timm_missing_reason() -> str:
    try:
        import timm  # noqa: F401
    except ImportError as exc:
        return (
            f"timm does not import here ({exc}); the optional extra fairaudit-faces[backbones] "
            "needs timm and a torchvision built for the installed torch"
        )
    return ""


needs_timm = pytest.mark.skipif(not timm_available(), reason=_timm_missing_reason())


def _bn_buffers(module: nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: buf.clone()
        for name, buf in module.named_buffers()
        if name.rsplit(".", 1)[-1] in {"running_mean", "running_var", "num_batches_tracked"}
    }


#: Architectures built without timm.
TORCHVISION_ONLY = {"mobilenet_v2", "mobilenet_v2_face_descriptor"}


def test_available_architectures():
    names = available_architectures()
    assert names[0] == "lightweight"
    assert set(names) == {"lightweight", *BACKBONES, "mobilenet_v2_face_descriptor"}
    assert {"mobilenet_v2", "vgg19", "resnet50", "inception_v3", "xception", "mobilenet_v1"} <= set(
        names
    )
    usable = available_architectures(usable_only=True)
    assert {"lightweight", "mobilenet_v2"} <= set(usable)
    from fairaudit.detect._dlib import dlib_available

    expected = set(names) if timm_available() else {"lightweight", *TORCHVISION_ONLY}
    if not dlib_available():
        expected -= {"mobilenet_v2_face_descriptor"}
    assert set(usable) == expected


@pytest.mark.parametrize("tasks", [FAIRFACE_TASKS, UTKFACE_TASKS])
def test_mobilenet_v2_heads_and_shapes(tasks):
    model = build_model("mobilenet_v2", tasks=tasks).eval()
    assert isinstance(model, TransferMTLNet) and model.arch == "mobilenet_v2"
    for task in tasks:
        head = model.heads[task.name]
        assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
        assert [(m.in_features, m.out_features) for m in head[::2]] == [
            (1280, 128),
            (128, 128),
            (128, task.num_outputs),
        ]
    heads = sum(p.numel() for p in model.heads.parameters())
    assert heads == sum(
        1280 * 128 + 128 + 128 * 128 + 128 + 128 * t.num_outputs + t.num_outputs for t in tasks
    )
    for size in [(32, 32), (64, 48)]:
        with torch.no_grad():
            out = model(torch.randn(2, 3, *size))
        for task in tasks:
            assert tuple(out[task.name].shape) == (
                (2, task.num_outputs) if task.is_classification else (2,)
            )
    if tasks is UTKFACE_TASKS:
        assert bool(((out["age"] >= 0) & (out["age"] <= 1)).all())


def test_arch_kwargs_rebuild_and_are_json():
    model = build_model("mobilenet_v2", head_units=(64,), dropout=0.3)
    assert json.loads(json.dumps(model.arch_kwargs)) == model.arch_kwargs
    rebuilt = build_model(model.arch, tasks=model.tasks, **model.arch_kwargs)
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]
    assert [m.out_features for m in model.heads["gender"] if isinstance(m, nn.Linear)] == [64, 2]


@pytest.mark.parametrize("arch", ["lightweight", "mobilenet_v2"])
def test_frozen_backbone_learns_nothing_and_keeps_its_statistics(arch):
    torch.manual_seed(0)
    model = build_model(arch, freeze_backbone=True)
    assert model.backbone_frozen
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head_parameters())
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == sum(
        p.numel() for p in model.head_parameters()
    )
    before = _bn_buffers(model.backbone)
    model.train()
    assert model.training and not model.backbone.training
    out = model(torch.randn(4, 3, 32, 32) * 3 + 1)
    sum(v.float().sum() for v in out.values()).backward()
    after = _bn_buffers(model.backbone)
    assert before and all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.backbone.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head_parameters())


@pytest.mark.parametrize("arch", ["lightweight", "mobilenet_v2"])
def test_fine_tuning_updates_statistics(arch):
    model = build_model(arch, freeze_backbone=True).unfreeze_backbone()
    assert all(p.requires_grad for p in model.parameters())
    before = _bn_buffers(model.backbone)
    model.train()
    assert model.backbone.training
    model(torch.randn(4, 3, 32, 32) * 3 + 1)
    after = _bn_buffers(model.backbone)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_pretrained_mobilenet_v2_backbone_has_the_imagenet_weights():
    try:
        model = build_model("mobilenet_v2", pretrained=True, freeze_backbone=True)
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    from fairaudit.models._pretrained import load_mobilenet_v2_imagenet_state_dict

    reference = load_mobilenet_v2_imagenet_state_dict()
    state = model.backbone.state_dict()
    assert set(state) == {k for k in reference if not k.startswith("classifier.")}
    assert all(torch.equal(state[k], reference[k]) for k in state)


def test_registry_errors():
    with pytest.raises(ConfigurationError, match="unknown architecture 'resnet9'.*lightweight"):
        build_model("resnet9")
    with pytest.raises(ConfigurationError, match=r"no option\(s\) \['width'\]"):
        build_model("mobilenet_v2", width=2)
    with pytest.raises(ConfigurationError, match="head_units"):
        build_model("mobilenet_v2", head_units=(0,))
    with pytest.raises(ConfigurationError, match="divisible"):
        build_model("mobilenet_v2", transformer_layers=1, transformer_dim=10, transformer_heads=4)


@pytest.mark.parametrize("arch", TIMM_ARCHS)
def test_timm_backbones_without_timm_say_what_to_install(arch, monkeypatch):
    # Make `import timm` fail whether or not timm is installed (None in sys.modules
    # is how Python marks a module as unimportable), so this runs everywhere.
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(MissingDependencyError, match=r"fairaudit-faces\[backbones\]"):
        build_model(arch)


def test_mobilenet_v2_with_transformer_encoder_round_trips(tmp_path):
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", tasks=UTKFACE_TASKS, transformer_layers=1).eval()
    assert model.arch_kwargs["transformer_layers"] == 1
    path = save_checkpoint(tmp_path / "t.pt", model=model, input_size=64)
    loaded = load_checkpoint(path, expected_arch="mobilenet_v2", expected_tasks=UTKFACE_TASKS)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a, b = model(x), loaded.model(x)
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- timm backbones (optional extra) ----------------------------------------------
@needs_timm
@pytest.mark.slow
@pytest.mark.parametrize("arch", TIMM_ARCHS)
def test_timm_backbone_shapes(arch):
    model = build_model(arch, tasks=UTKFACE_TASKS).eval()
    side = BACKBONES[arch].min_input_size
    with torch.no_grad():
        out = model(torch.randn(2, 3, side, side))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "gender": (2, 2),
        "age": (2,),
        "race": (2, 5),
    }
    assert model.heads["gender"][0].in_features == model.num_features


@needs_timm
def test_timm_weights_load_from_a_local_file(tmp_path):
    import timm

    torch.manual_seed(1)
    source = timm.create_model("mobilenetv1_100", pretrained=False, num_classes=1000)
    file = tmp_path / "mobilenetv1.pth"
    torch.save(source.state_dict(), file)
    model = build_model("mobilenet_v1", weights_path=file, freeze_backbone=True)
    reference = source.state_dict()
    for key, value in model.backbone.model.state_dict().items():
        assert torch.equal(value, reference[key]), key
    with pytest.raises(ConfigurationError, match="weights_path"):
        build_model("mobilenet_v1", pretrained=True)
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv_stem.weight": torch.zeros(1)}, wrong)
    with pytest.raises(CheckpointError, match=r"wrong\.pth.*do not fit"):
        build_model("mobilenet_v1", weights_path=wrong)
