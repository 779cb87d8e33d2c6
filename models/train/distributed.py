"""Several processes training one run (torchrun): DistributedDataParallel over gloo (CPU) or NCCL (GPU).

The batch size stays the global one (each process takes batch_size / N of it, from a DistributedSampler over the
training rows), so the steps, the learning-rate schedule and the checkpoints are those of a single-process run; rank 0
alone writes the run folder and scores the held-out split.
"""

from __future__ import annotations

import os

import torch


def dist_setup(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device) under torchrun (its RANK / WORLD_SIZE / LOCAL_RANK environment),
    initialising the process group; (0, 1, device) for a plain single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), world, device


def barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def wrap_distributed(model: torch.nn.Module, device: torch.device, rank: int, world: int, n_train: int, seed: int):
    """(the DDP-wrapped model, a DistributedSampler over the training rows). Each process then seeds its own flips
    and affine draws."""
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data.distributed import DistributedSampler

    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    sampler = DistributedSampler(range(n_train), num_replicas=world, rank=rank, shuffle=True, seed=seed,
                                 drop_last=True)
    torch.manual_seed(seed * 1000 + rank + 1)
    return net, sampler


def mean_over_processes(values: dict[str, float], world: int) -> dict[str, float]:
    """The same named scalars averaged over every process (the epoch's loss terms)."""
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t)}


def broadcast_flag(flag: bool) -> bool:
    """Rank 0's flag (stop early?) on every process."""
    t = torch.tensor([int(flag)])
    torch.distributed.broadcast(t, 0)
    return bool(t.item())
