"""Multi-process training under torchrun: one process per device, gradients averaged by
DistributedDataParallel (gloo on the CPU, nccl on CUDA).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a no-op and
training runs as one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError


@dataclass(frozen=True)
class Topology:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone shows progress and writes the run directory."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def from_environment() -> Topology:
    try:
        return Topology(
            rank=int(os.environ.get("RANK", 0)),
            world_size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError as error:
        raise InputError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers ({error})") from None


def rank_device(device: torch.device, topology: Topology) -> torch.device:
    """Each process on a GPU node takes the GPU of its local rank."""
    if device.type == "cuda" and topology.distributed:
        if topology.local_rank >= torch.cuda.device_count():
            raise InputError(
                f"local rank {topology.local_rank} has no GPU: {torch.cuda.device_count()} visible; "
                "use --nproc_per_node at most the number of GPUs"
            )
        torch.cuda.set_device(topology.local_rank)
        return torch.device("cuda", topology.local_rank)
    return device


def start(topology: Topology, device: torch.device) -> bool:
    """Join the process group torchrun describes; True when this call created it."""
    import torch.distributed as dist

    if not topology.distributed or dist.is_initialized():
        return False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return True


def stop(created: bool, finished: bool = True) -> None:
    import torch.distributed as dist

    if created and dist.is_initialized():
        if finished:
            # Leave together: a rank tearing down its gloo threads while another still talks to
            # it can abort ("terminate called without an active exception"). After an error the
            # other ranks may be inside a collective, so there is no waiting for them then.
            dist.barrier()
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, topology: Topology, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around a module (averages gradients in backward), or the module."""
    if not topology.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)


def shard(n_rows: int, topology: Topology, seed: int) -> np.ndarray:
    """This rank's rows: a seeded permutation dealt round-robin, so shards are disjoint and cover
    every row, and differ in size by at most one."""
    if not topology.distributed:
        return np.arange(n_rows)
    if n_rows < 2 * topology.world_size:
        raise InputError(
            f"{n_rows} training sequences cannot be shared by {topology.world_size} processes "
            "(each needs at least 2); use fewer processes"
        )
    return np.sort(np.random.default_rng(seed).permutation(n_rows)[topology.rank :: topology.world_size])


def rank_seed(seed: int, topology: Topology) -> int:
    """Each rank's batch and noise stream; rank 0 keeps the plain seed, so one process reproduces
    a run trained without torchrun."""
    return seed + 1_000_003 * topology.rank


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on any (an all-reduce of one number)."""
    import torch.distributed as dist

    value = torch.tensor([float(flag)])
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_states(state: torch.Tensor, topology: Topology) -> list[torch.Tensor]:
    """Every rank's random number generator state, in rank order (all ranks take part)."""
    if not topology.distributed:
        return [state.clone()]
    import torch.distributed as dist

    device = torch.device("cuda", topology.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")
    local = state.to(device)
    states = [torch.empty_like(local) for _ in range(topology.world_size)]
    dist.all_gather(states, local)
    return [s.cpu() for s in states]
