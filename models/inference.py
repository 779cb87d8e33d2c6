"""Batch inference over a uint8 image store: latent means, head VA and reconstruction error, in eval mode."""

from __future__ import annotations

import numpy as np
import torch

from models.device import autocast, to_input
from models.eval.affect import va_metrics
from models.vae import VAE


@torch.no_grad()
def predict(
    model: VAE,
    images: torch.Tensor,
    device: torch.device,
    precision: str = "fp32",
    batch_size: int = 256,
    channels_last: bool = False,
) -> dict[str, np.ndarray]:
    """Encode uint8 images in eval mode: latent means, head VA and per-image reconstruction MSE."""
    was_training = model.training
    model.eval()
    mus, vas, errs = [], [], []
    for i in range(0, len(images), batch_size):
        x = to_input(images[i : i + batch_size], device, channels_last)
        with autocast(device, precision):
            mu, _ = model.encode(x)
            va, _ = model.heads(mu)
            recon = model.decode(mu)
        mus.append(mu.float().cpu())
        vas.append(va.float().cpu())
        errs.append((recon.float() - x.float()).pow(2).mean((1, 2, 3)).cpu())
    model.train(was_training)
    return {"mu": torch.cat(mus).numpy(), "va": torch.cat(vas).numpy(), "recon_mse": torch.cat(errs).numpy()}


def evaluate_heads(
    model: VAE, images: torch.Tensor, va: np.ndarray, device: torch.device, precision: str, channels_last: bool = False
) -> dict:
    """Held-out CCC of the heads on each axis, recon MSE, and the full affect metrics."""
    p = predict(model, images, device, precision, channels_last=channels_last)
    m = va_metrics(va, p["va"])
    return {
        "n": len(va),
        "ccc_v": m["valence"]["ccc"],
        "ccc_a": m["arousal"]["ccc"],
        "recon_mse": float(p["recon_mse"].mean()),
        "metrics": m,
    }
