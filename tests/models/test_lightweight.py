"""LightweightMTLNet224: exact parameter count, layout, shapes, options."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from fairaudit.exceptions import ConfigurationError, DataValidationError
from fairaudit.models import FAIRFACE_TASKS, UTKFACE_TASKS, LightweightMTLNet224, build_model
from fairaudit.models._tasks import TaskSpec

torch.set_num_threads(1)


def _expected_parameter_count(channels, hidden, outputs):
    """Independent arithmetic: dw 3x3 + pw 1x1 (no biases) + BN affine, dense, heads."""
    total, c_in = 0, 3
    for c_out in channels:
        total += 9 * c_in + c_in * c_out + 2 * c_out
        c_in = c_out
    total += c_in * hidden + hidden
    total += sum(hidden * k + k for k in outputs)
    return total


def test_exact_trainable_parameter_count():
    model = LightweightMTLNet224()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 668_077
    assert trainable == _expected_parameter_count(
        (64, 128, 128, 256, 256, 512, 512), 256, (2, 9, 7)
    )


def test_layout_matches_the_design():
    model = LightweightMTLNet224()
    blocks = list(model.backbone)
    assert len(blocks) == 7
    channels, strides = [], []
    for block in blocks:
        dw, pw, bn, relu = block
        assert dw.kernel_size == (3, 3) and dw.padding == (1, 1) and dw.groups == dw.in_channels
        assert dw.bias is None and pw.bias is None and pw.kernel_size == (1, 1)
        assert isinstance(bn, nn.BatchNorm2d) and isinstance(relu, nn.ReLU)
        channels.append(pw.out_channels)
        strides.append(dw.stride[0])
    assert channels == [64, 128, 128, 256, 256, 512, 512]
    assert strides == [2, 1, 2, 1, 2, 1, 2]
    assert (model.shared[0].in_features, model.shared[0].out_features) == (512, 256)
    assert {k: v.out_features for k, v in model.heads.items()} == {"gender": 2, "age": 9, "race": 7}


@pytest.mark.parametrize(
    ("height", "width"), [(224, 224), (112, 112), (64, 64), (96, 80), (17, 33)]
)
def test_forward_shapes_for_several_input_sizes(height, width):
    model = LightweightMTLNet224().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, height, width))
        fmap = model.backbone(torch.randn(1, 3, height, width))
    assert list(out) == ["gender", "age", "race"]
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "gender": (2, 2),
        "age": (2, 9),
        "race": (2, 7),
    }
    # output stride 16 (four stride-2 blocks, padding 1): ceil halving four times
    h, w = height, width
    for _ in range(4):
        h, w = (h + 1) // 2, (w + 1) // 2
    assert tuple(fmap.shape) == (1, 512, h, w)


def test_regression_head_outputs_unit_interval():
    model = LightweightMTLNet224(tasks=UTKFACE_TASKS).eval()
    with torch.no_grad():
        out = model(torch.randn(4, 3, 32, 32) * 100)
    assert tuple(out["age"].shape) == (4,)
    assert bool(((out["age"] >= 0) & (out["age"] <= 1)).all())
    assert tuple(out["race"].shape) == (4, 5)


def test_custom_tasks_and_options():
    tasks = (TaskSpec("smile", ("no", "yes")), TaskSpec("age", kind="regression", max_value=65))
    model = build_model("lightweight", tasks=tasks, width=0.5, hidden=64, dropout=0.2)
    assert model.arch == "lightweight" and model.tasks == tasks
    assert model.arch_kwargs == {"width": 0.5, "hidden": 64, "dropout": 0.2}
    json.dumps(model.arch_kwargs)
    rebuilt = build_model(model.arch, tasks=model.tasks, **model.arch_kwargs)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in model.state_dict().items()
    }
    n = sum(p.numel() for p in model.parameters())
    assert n == _expected_parameter_count((32, 64, 64, 128, 128, 256, 256), 64, (2, 1))


def test_bad_options_and_inputs():
    with pytest.raises(ConfigurationError, match="width"):
        LightweightMTLNet224(width=0)
    with pytest.raises(ConfigurationError, match="dropout"):
        LightweightMTLNet224(dropout=1.0)
    with pytest.raises(ConfigurationError, match="pretrained"):
        build_model("lightweight", pretrained=True)
    with pytest.raises(ConfigurationError, match="depth"):
        build_model("lightweight", depth=3)
    with pytest.raises(DataValidationError, match=r"\(N, 3, H, W\)"):
        LightweightMTLNet224()(torch.randn(2, 1, 32, 32))


def test_default_tasks_are_fairface():
    assert LightweightMTLNet224().tasks == FAIRFACE_TASKS
