"""Inference form of a model: batch norm folded into convolutions, channels_last.

:func:`optimize_for_inference` returns an evaluation-mode copy of a model (the
original is left untouched) whose ``Conv2d -> BatchNorm2d`` pairs are folded into
single convolutions (``W' = W * g / sqrt(v + eps)``, ``b' = (b - m) * g /
sqrt(v + eps) + beta``, via :func:`torch.nn.utils.fusion.fuse_conv_bn_eval`) and
whose weights are stored channels_last. Run it under :func:`torch.inference_mode`
with channels_last inputs (:class:`fairaudit.inference.Predictor` does).

Pairs are found in two ways: adjacent children of an :class:`torch.nn.Sequential`
(keeps the module structure and its attributes), and, for batch norms left after
that, by tracing the model with :mod:`torch.fx` (any module layout whose forward
is traceable). A batch norm that neither finds is kept, which is still correct.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["count_batchnorm", "fold_batchnorm", "optimize_for_inference"]

logger = logging.getLogger(__name__)

#: Model attributes copied onto a traced (fx) copy, so it still describes itself.
_DESCRIPTIVE_ATTRIBUTES = ("arch", "arch_kwargs", "tasks")


def count_batchnorm(model: nn.Module) -> int:
    """Number of :class:`torch.nn.BatchNorm2d` modules in ``model``."""
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and type(bn) is nn.BatchNorm2d
        and bn.track_running_stats
        and bn.running_mean is not None
        and bn.num_features == conv.out_channels
    )


def _fold_sequentials(model: nn.Module) -> int:
    """Fold adjacent Conv2d -> BatchNorm2d children of every Sequential, in place."""
    n_folded = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = module._modules[first], module._modules[second]
            if _foldable(conv, bn):
                module._modules[first] = fuse_conv_bn_eval(conv, bn)
                module._modules[second] = nn.Identity()
                n_folded += 1
    return n_folded


def _fold_traced(model: nn.Module) -> tuple[nn.Module, int]:
    """Fold Conv2d -> BatchNorm2d pairs of the fx graph; the conv's output must feed only the BN."""
    traced = fx.symbolic_trace(model)
    modules = dict(traced.named_modules())
    n_folded = 0
    for node in list(traced.graph.nodes):
        if node.op != "call_module" or not node.args:
            continue
        source = node.args[0]
        if not isinstance(source, fx.Node) or source.op != "call_module":
            continue
        conv, bn = modules.get(source.target), modules.get(node.target)
        if conv is None or bn is None or not _foldable(conv, bn) or len(source.users) != 1:
            continue
        fused = fuse_conv_bn_eval(conv, bn)
        parent_name, _, attr = source.target.rpartition(".")
        setattr(traced.get_submodule(parent_name) if parent_name else traced, attr, fused)
        modules[source.target] = fused
        node.replace_all_uses_with(source)
        traced.graph.erase_node(node)
        n_folded += 1
    traced.graph.lint()
    traced.delete_all_unused_submodules()
    traced.recompile()
    for name in _DESCRIPTIVE_ATTRIBUTES:
        if hasattr(model, name):
            setattr(traced, name, getattr(model, name))
    return traced, n_folded


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An evaluation-mode copy of ``model`` with its Conv2d+BatchNorm2d pairs folded.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; it is not modified.

    Returns
    -------
    torch.nn.Module
        A copy in evaluation mode computing the same function (to float
        rounding) with fewer layers. Batch norms that do not directly follow a
        convolution are kept.
    """
    folded = copy.deepcopy(model).eval()
    n_folded = _fold_sequentials(folded)
    remaining = count_batchnorm(folded)
    if remaining:
        try:
            traced, n_traced = _fold_traced(folded)
        except Exception as exc:  # untraceable models keep their batch norms
            logger.info("fx tracing failed (%s); %d batch norm(s) kept unfolded", exc, remaining)
        else:
            if n_traced:
                folded, n_folded = traced.eval(), n_folded + n_traced
    logger.debug("folded %d batch norm(s); %d kept", n_folded, count_batchnorm(folded))
    return folded


def optimize_for_inference(
    model: nn.Module, *, fold_bn: bool = True, channels_last: bool = True
) -> nn.Module:
    """An evaluation copy of ``model`` prepared for fast CPU inference.

    Parameters
    ----------
    model : torch.nn.Module
        The model; it is not modified.
    fold_bn : bool, default=True
        Fold every ``Conv2d -> BatchNorm2d`` pair into one convolution
        (:func:`fold_batchnorm`).
    channels_last : bool, default=True
        Store the weights in the channels_last memory format; feed it inputs made
        ``x.contiguous(memory_format=torch.channels_last)``.

    Returns
    -------
    torch.nn.Module
        A copy in evaluation mode with gradients disabled on its parameters. Use
        it under :func:`torch.inference_mode`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    >>> fast = optimize_for_inference(net)
    >>> count_batchnorm(fast)
    0
    >>> x = torch.randn(2, 3, 8, 8)
    >>> bool(torch.allclose(net(x), fast(x), atol=1e-5))
    True
    """
    optimized = fold_batchnorm(model) if fold_bn else copy.deepcopy(model).eval()
    if channels_last:
        optimized = optimized.to(memory_format=torch.channels_last)
    for parameter in optimized.parameters():
        parameter.requires_grad_(False)
    return optimized
