"""torch.distributed plumbing for DDP runs launched by ``torchrun``."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sized
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler

from fairaudit.exceptions import FairAuditError

__all__ = ["DistributedContext", "EpochSampler", "ShardSampler", "init_distributed"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes
    ----------
    rank, world_size, local_rank : int
    device : torch.device
    initialized_here : bool
        Whether :func:`init_distributed` created the process group (and so
        :meth:`close` destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) writes files and shows progress."""
        return self.rank == 0

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum a float64 CPU tensor over the processes (identity when alone)."""
        if not self.is_distributed:
            return values
        buffer = values.to(self.device)
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        return buffer.cpu()

    def barrier(self) -> None:
        if self.is_distributed:
            dist.barrier()

    def close(self) -> None:
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed() -> DistributedContext:
    """Join the process group that ``torchrun`` describes in the environment.

    With ``WORLD_SIZE`` unset or 1, returns a single-process context on CUDA
    (when available) or CPU. Otherwise initialises ``torch.distributed`` (NCCL
    on GPUs, gloo on CPU) from ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
    ``MASTER_PORT``, one GPU per process (``LOCAL_RANK``).

    Raises
    ------
    FairAuditError
        If the environment is incomplete or torch.distributed is unavailable.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world_size <= 1:
        return DistributedContext(device=torch.device("cuda" if cuda else "cpu"))
    if not dist.is_available():
        raise FairAuditError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    try:
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except KeyError as exc:
        raise FairAuditError(
            f"distributed run: environment variable {exc.args[0]} is not set (launch with torchrun)"
        ) from exc
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    initialized_here = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        initialized_here = True
    logger.info("distributed run: rank %d of %d on %s", rank, world_size, device)
    return DistributedContext(
        rank=rank,
        world_size=world_size,
        local_rank=local_rank,
        device=device,
        initialized_here=initialized_here,
    )


class EpochSampler(DistributedSampler):
    """:class:`~torch.utils.data.DistributedSampler` that can resume mid-epoch.

    The order of epoch ``e`` is ``torch.randperm(n)`` drawn from a generator
    seeded with ``seed + e``, padded by repeating its first items to a multiple
    of ``world_size``; process ``rank`` takes positions ``rank, rank +
    world_size, ...``. So the global batch ``k`` of a run with per-process batch
    ``b`` on ``w`` processes holds exactly the items of batch ``k`` of a
    one-process run with batch ``b * w`` (when ``n`` is a multiple of ``w``).

    ``set_epoch(epoch, skip=s)`` drops the first ``s`` items of this process's
    share: resuming an epoch after ``s / b`` steps continues with the same data.
    """

    def __init__(
        self,
        dataset: Sized,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        super().__init__(
            dataset,  # type: ignore[arg-type]
            num_replicas=world_size,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=False,
        )
        self.skip = 0

    def set_epoch(self, epoch: int, *, skip: int = 0) -> None:
        super().set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.skip :])

    def __len__(self) -> int:
        return max(self.num_samples - self.skip, 0)


class ShardSampler(Sampler[int]):
    """Items ``rank, rank + world_size, ...`` in order, without padding (evaluation)."""

    def __init__(self, n: int, *, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, n, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
