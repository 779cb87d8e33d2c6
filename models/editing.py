"""Face editing in latent space: move z_v and z_a the least distance that makes the heads read a target (V, A).

Continuous heads are tanh(w . z + b), so the least-norm move that makes a head read t is along w:
    z' = z + (atanh(t) - w . z - b) w / |w|^2          (closed form; t clipped to +-0.995 so atanh stays finite)
Discrete heads (softmax expected value) are not linear: a few Gauss-Newton steps along the gradient, each the least-norm
step for the linearised head, reach the target to within 1e-3 where the head can express it at all.
z_z is never touched, so what the model holds apart from affect (identity, pose, light) stays put.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from models.vae import VAE, VAHead

T_MAX = 0.995  # |target| cap for the continuous inverse (atanh(1) is infinite)


def _edit_chunk(head: VAHead, z: torch.Tensor, target: torch.Tensor, steps: int = 12) -> torch.Tensor:
    """z (B, d), target (B,) -> z' (B, d), the least-norm move (or its Gauss-Newton approximation)."""
    w = head.linear.weight.float()
    b = head.linear.bias.float()
    z = z.float()
    if head.label_mode == "continuous":
        w, b = w[0], b[0]  # (d,), ()
        s = torch.atanh(target.float().clamp(-T_MAX, T_MAX))
        return z + ((s - z @ w - b) / w.dot(w).clamp_min(1e-12))[:, None] * w
    values = torch.arange(-10, 11, device=z.device, dtype=torch.float32) / 10.0
    for _ in range(steps):
        p = (z @ w.T + b).softmax(-1)  # (B, 21)
        f = p @ values  # (B,)
        # d f / d z = W^T (p * (values - f))
        g = (p * (values - f[:, None])) @ w  # (B, d)
        step = ((target - f) / (g * g).sum(1).clamp_min(1e-8))[:, None] * g
        z = z + step.clamp(-5.0, 5.0)
    return z


def edit_latent(model: VAE, z: torch.Tensor, target_va: torch.Tensor) -> torch.Tensor:
    """Latents (B, D) and targets (B, 2) in [-1, 1] -> edited latents (B, D); z_z unchanged."""
    assert z.dim() == 2 and target_va.shape == (z.shape[0], 2), f"z {tuple(z.shape)}, targets {tuple(target_va.shape)}"
    zv, za, zz = model.split(z.float())
    zv = _edit_chunk(model.head_v, zv, target_va[:, 0].to(z.device))
    za = _edit_chunk(model.head_a, za, target_va[:, 1].to(z.device))
    return torch.cat([zv, za, zz], 1)


# The expression box on a 64 px face (rows, cols): eyes, brows, nose and mouth; outside it are identity and background.
# Faces are centred crops (the synthetic renderer, FER2013, AffectNet's boxes), so one fixed box serves them all.
EXPR_ROWS, EXPR_COLS = slice(14, 58), slice(12, 52)


def expression_box(device: torch.device | str = "cpu") -> torch.Tensor:
    """(64, 64) bool, True inside the expression box: the hard (unfeathered) expression mask."""
    return expression_mask(0.0, device) > 0.5


def expression_mask(feather: float = 0.0, device: torch.device | str = "cpu") -> torch.Tensor:
    """(64, 64) float in [0, 1]: the expression box, with its edge feathered over ``feather`` px.

    Each pixel's signed distance to the box's edge (positive inside) goes through a smoothstep that rises from 0 at
    -feather/2 to 1 at +feather/2, per axis, and the two axes multiply. At 0 it is the hard box (expression_box); wider,
    the edit term's read-back and keep weights have no edge for the decoder to learn to draw.
    """
    if feather < 0:
        raise ValueError(f"feather must be >= 0 px, got {feather}")
    centres = torch.arange(64, device=device, dtype=torch.float32) + 0.5

    def ramp(span: slice) -> torch.Tensor:
        inside = torch.minimum(centres - span.start, span.stop - centres)  # signed distance to the nearer edge
        if feather == 0:
            return (inside > 0).float()
        t = (inside / feather + 0.5).clamp(0, 1)
        return t * t * (3 - 2 * t)

    return ramp(EXPR_ROWS)[:, None] * ramp(EXPR_COLS)[None, :]


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) blurred by a Gaussian of ``sigma`` px (separable, reflected at the border); differentiable.

    The edit term's read-back sees edits through it (``edit_blur``): a pattern finer than the blur (the 2-4 px speckle
    a decoder can learn to write for its own encoder) no longer carries a target, while an expression, tens of pixels
    across, reads as before. At ``sigma`` 0 it returns ``images`` as they are.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 px, got {sigma}")
    if sigma == 0:
        return images
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(images.dtype)
    c = images.shape[1]
    x = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along rows
    return F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along columns
