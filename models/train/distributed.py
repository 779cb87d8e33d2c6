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
