"""Training augmentations on batches already on the device: horizontal flips and small affine jitter."""

from __future__ import annotations

import math

import torch


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Mirror a random half of the batch: valence and arousal do not change under a left-right flip."""
    flip = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < 0.5
    return torch.where(flip, x.flip(3), x)


def random_affine(x: torch.Tensor, strength: float) -> torch.Tensor:
    """Per-image random shift (+-4 px), rotation (+-10 deg) and scale (+-6 %) times ``strength``; borders replicated.

    Real face crops are not aligned to the pixel; VA does not change when the face moves a little.
    """
    b = x.shape[0]
    u = (torch.rand(b, 4, device=x.device) * 2 - 1) * strength
    ang, scale = u[:, 0] * math.radians(10), 1 + u[:, 1] * 0.06
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * 0.125], 1), torch.stack([sin, cos, u[:, 3] * 0.125], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(x.float(), grid, padding_mode="border", align_corners=False)
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out
