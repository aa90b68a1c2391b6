"""Batch-norm folding and the optimised inference copy compute the same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fairaudit.inference import optimize_for_inference
from fairaudit.inference._optimize import count_batchnorm, fold_batchnorm

from .conftest import make_model, randomize_batchnorm


def _max_diff(a: dict | torch.Tensor, b: dict | torch.Tensor) -> float:
    if isinstance(a, torch.Tensor):
        return float((a - b).abs().max())
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_lightweight_folded_matches_original() -> None:
    model = make_model()
    assert count_batchnorm(model) == 7
    fast = optimize_for_inference(model)
    assert count_batchnorm(fast) == 0
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
    with torch.inference_mode():
        got = fast(x.contiguous(memory_format=torch.channels_last))
    assert _max_diff(expected, got) <= 1e-5
    # The original is untouched: still 7 batch norms, still the same outputs.
    assert count_batchnorm(model) == 7
    with torch.no_grad():
        assert _max_diff(model(x), expected) == 0.0


def test_mobilenet_v2_folded_matches_original() -> None:
    from fairaudit.models._mobilenet_v2 import MobileNetV2

    torch.manual_seed(0)
    model = randomize_batchnorm(MobileNetV2(num_classes=5, width_mult=0.35))
    n_bn = count_batchnorm(model)
    assert n_bn > 30
    fast = optimize_for_inference(model)
    assert count_batchnorm(fast) == 0
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(x)
    with torch.inference_mode():
        got = fast(x.contiguous(memory_format=torch.channels_last))
    assert _max_diff(expected, got) <= 1e-5 * max(1.0, float(expected.abs().max()))


class _NotSequential(nn.Module):
    """Conv and BN as attributes with a custom forward: found by fx tracing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.tasks = ("marker",)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x))) + 1


class _SharedConvOutput(nn.Module):
    """The conv's output also feeds another op: folding would change the result."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y


@pytest.mark.parametrize(
    ("module_type", "expected_bn"), [(_NotSequential, 0), (_SharedConvOutput, 1)]
)
def test_traced_folding(module_type: type, expected_bn: int) -> None:
    torch.manual_seed(0)
    model = randomize_batchnorm(module_type())
    folded = fold_batchnorm(model)
    assert count_batchnorm(folded) == expected_bn
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert _max_diff(model(x), folded(x)) <= 1e-5
    if module_type is _NotSequential:
        assert folded.tasks == ("marker",)


def test_untraceable_model_keeps_its_batchnorm() -> None:
    class Untraceable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
                return self.bn(self.conv(x))
            return self.bn(self.conv(-x))

    model = randomize_batchnorm(Untraceable())
    folded = optimize_for_inference(model, channels_last=False)
    assert count_batchnorm(folded) == 1
    x = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        assert _max_diff(model(x), folded(x)) == 0.0


def test_optimized_copy_has_no_gradients_and_is_in_eval_mode() -> None:
    model = make_model().train()
    fast = optimize_for_inference(model)
    assert model.training
    assert not fast.training
    assert all(not p.requires_grad for p in fast.parameters())
    assert all(p.requires_grad for p in model.parameters())


def test_transfer_mobilenet_v2_model_folded_matches_original() -> None:
    """The multi-task MobileNetV2 of build_model (no pretrained weights, nothing downloaded)."""
    from fairaudit.models import FAIRFACE_TASKS, build_model

    torch.manual_seed(0)
    model = randomize_batchnorm(build_model("mobilenet_v2", tasks=FAIRFACE_TASKS, pretrained=False))
    fast = optimize_for_inference(model)
    assert count_batchnorm(fast) == 0
    assert fast.tasks == model.tasks
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = model(x)
    with torch.inference_mode():
        got = fast(x.contiguous(memory_format=torch.channels_last))
    scale = max(1.0, max(float(v.abs().max()) for v in expected.values()))
    assert _max_diff(expected, got) <= 1e-5 * scale
