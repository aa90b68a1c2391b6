"""DDP with 2 CPU processes (gloo) equals a single-process run; the sampler behind it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DistributedSampler

from fairaudit.cli import main
from fairaudit.models import build_model, load_checkpoint
from fairaudit.training._distributed import EpochSampler, ShardSampler

from .conftest import TINY_ARCH_KWARGS, TINY_SIZE


@pytest.mark.parametrize("n", [16, 17])
def test_epoch_sampler_is_distributed_sampler(n):
    data = range(n)
    for rank in range(2):
        ours = EpochSampler(data, seed=5, rank=rank, world_size=2)
        theirs = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=True, seed=5)
        ours.set_epoch(3)
        theirs.set_epoch(3)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


def test_global_batches_match_single_process_batches():
    n, per_process, world = 16, 4, 2
    single = EpochSampler(range(n), seed=1)
    single.set_epoch(2)
    order = list(single)
    shards = []
    for rank in range(world):
        sampler = EpochSampler(range(n), seed=1, rank=rank, world_size=world)
        sampler.set_epoch(2)
        shards.append(list(sampler))
    for k in range(n // (per_process * world)):
        together = set().union(*(s[k * per_process : (k + 1) * per_process] for s in shards))
        assert together == set(order[k * per_process * world : (k + 1) * per_process * world])


def test_epoch_sampler_skip_resumes_mid_epoch():
    sampler = EpochSampler(range(10), seed=0)
    sampler.set_epoch(4)
    full = list(sampler)
    sampler.set_epoch(4, skip=6)
    assert list(sampler) == full[6:]
    assert len(sampler) == 4


def test_shard_sampler_covers_every_item_once():
    shards = [list(ShardSampler(11, rank=r, world_size=3)) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(11))


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process(tiny_fairface, tmp_path):
    """2 processes x batch 4 == 1 process x batch 8, to float tolerance.

    Why they agree: the epoch order is the same permutation and the global batch
    k of the 2 processes holds exactly batch k of the single run (see the
    sampler tests); each process's loss is the mean over its 4 images and DDP
    averages the gradients, which is the gradient of the mean over the 8 images;
    the validation sums are all-reduced. BatchNorm would normalise each half
    batch on its own (SyncBatchNorm runs on GPUs only in this torch), so the
    comparison freezes BatchNorm (inference-mode statistics, a real option for
    fine-tuning); every weight still trains, and the model has no dropout.
    """
    args = [
        "train", "--dataset", "fairface", "--data-root", str(tiny_fairface),
        "--arch-kwargs", '{"width": 0.125, "hidden": 16}', "--image-size", str(TINY_SIZE),
        "--batch-size", "8", "--epochs", "2", "--early-stopping", "none",
        "--freeze-batchnorm", "--threads", "1", "--quiet", "--official-val",
    ]  # fmt: skip
    assert TINY_ARCH_KWARGS == {"width": 0.125, "hidden": 16}
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "fairaudit", *args, "--output", str(tmp_path / "ddp"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best checkpoint" in done.stdout

    assert main([*args, "--output", str(tmp_path / "single")]) == 0

    ddp = load_checkpoint(tmp_path / "ddp" / "last.pt")
    single = load_checkpoint(tmp_path / "single" / "last.pt")
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(
            ddp.model.state_dict()[key], value, atol=1e-5, rtol=1e-4, msg=key
        )
    # Both really trained: the weights moved away from the seeded initialisation.
    torch.manual_seed(0)
    initial = build_model("lightweight", **TINY_ARCH_KWARGS).state_dict()
    moved = [k for k, v in single.model.state_dict().items() if not torch.allclose(v, initial[k])]
    assert any(k.startswith("backbone") for k in moved) and any(
        k.startswith("heads") for k in moved
    )
    history_ddp = ddp.extra["training"]["history"]
    history_single = single.extra["training"]["history"]
    for row_ddp, row_single in zip(history_ddp, history_single, strict=True):
        assert row_ddp["n_train"] == row_single["n_train"] == 16
        assert row_ddp["n_val"] == row_single["n_val"] == 8
        for key in ("train_loss", "val_loss", "val_race_accuracy", "train_age_loss"):
            assert row_ddp[key] == pytest.approx(row_single[key], rel=1e-4), key
