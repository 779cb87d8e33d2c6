"""The independent VA judge: a small CNN that regresses (valence, arousal) from a face, trained on a run's training
split and never part of any VAE. Evaluation asks it what an edited, decoded face shows, so an edit cannot pass by
fooling the model's own heads.

It is trained with mild blur and noise augmentation: the faces it judges are decoder outputs, softer than photos.
Weights are cached per (dataset, training split) in RUNS/.judges/, so every run on the same data is judged alike.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from models.device import autocast, resolve_precision
from models.io import atomic_write

JUDGE_VERSION = 1


def _block(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, 2, 1), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class VARegressor(nn.Module):
    """x (B, 3, 64, 64) in [0, 1] -> VA (B, 2) in (-1, 1). 4 conv blocks (32-64-128-192), global pool, MLP."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(_block(3, 32), _block(32, 64), _block(64, 128), _block(128, 192))  # 64 -> 4 px
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(192 * 16, 128), nn.ReLU(inplace=True), nn.Dropout(0.2),
                                  nn.Linear(128, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(self.features(x)).float())

    def block_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four conv blocks' outputs (32 px x 32 ... 4 px x 192): the layers a perceptual loss compares."""
        out = []
        for block in self.features:
            x = block(x)
            out.append(x)
        return out

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 128-d penultimate features (after the ReLU): the space models.eval.image_quality measures faces in."""
        return self.head[:3](self.features(x)).float()


def _augment(x: torch.Tensor) -> torch.Tensor:
    """Flip half, blur a random half with a 3x3 box (decoder outputs are soft), add a little noise."""
    b = x.shape[0]
    x = torch.where(torch.rand(b, 1, 1, 1, device=x.device) < 0.5, x.flip(3), x)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    x = torch.where(torch.rand(b, 1, 1, 1, device=x.device) < 0.5, blurred, x)
    return (x + 0.02 * torch.randn_like(x)).clamp(0, 1)


def judge_key(files: list[str], va: np.ndarray, train_mask: np.ndarray, purpose: str = "judge") -> str:
    """The cache key of a network trained on these training rows; ``purpose`` keeps networks of other uses apart."""
    h = hashlib.sha1(f"{purpose}-v{JUDGE_VERSION}".encode())
    for f, (v, a), t in zip(files, va, train_mask):
        if t:
            h.update(f"{f}:{v:.4f}:{a:.4f}\n".encode())
    return h.hexdigest()[:16]


def train_regressor(images: torch.Tensor, va: np.ndarray, epochs: int = 6, batch_size: int = 128, lr: float = 3e-3,
                    seed: int = 0, device: torch.device | str = "cpu", progress: bool = True,
                    desc: str = "judge (independent VA regressor)") -> VARegressor:
    """Fit the judge on uint8 images (N, 3, 64, 64) and their VA (N, 2)."""
    device = torch.device(device)
    precision = resolve_precision("auto", device)
    torch.manual_seed(seed)
    net = VARegressor().to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    n = len(images)
    steps = epochs * (n // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(1, steps), pct_start=0.15)
    y_all = torch.as_tensor(va, dtype=torch.float32)
    it = range(epochs)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=desc, unit="epoch")
    net.train()
    for ep in it:
        perm = torch.from_numpy(np.random.default_rng([seed, ep]).permutation(n))
        for i in range(n // batch_size):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            x = _augment(images[idx].to(device).float() / 255)
            with autocast(device, precision):
                loss = F.mse_loss(net(x), y_all[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


@torch.no_grad()
def judge(net: VARegressor, faces: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """VA the judge reads from float faces in [0, 1] (or uint8) -> (N, 2)."""
    dev = next(net.parameters()).device
    out = []
    for i in range(0, len(faces), batch_size):
        x = faces[i : i + batch_size].to(dev)
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        out.append(net(x).float().cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def judge_features(net: VARegressor, faces: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """The judge's penultimate features of float faces in [0, 1] (or uint8) -> (N, 128)."""
    dev = next(net.parameters()).device
    net.eval()
    out = []
    for i in range(0, len(faces), batch_size):
        x = faces[i : i + batch_size].to(dev)
        out.append(net.embed(x.float() / 255 if x.dtype == torch.uint8 else x.float()).cpu())
    return torch.cat(out).numpy().astype(np.float64)


def load_or_train_judge(cache_dir: Path, key: str, images: torch.Tensor, va: np.ndarray, epochs: int = 6,
                        device: torch.device | str = "cpu", progress: bool = True,
                        seed: int = 0, desc: str = "judge (independent VA regressor)") -> tuple[VARegressor, dict]:
    """The cached network for this training split (the judge, or with another key and seed the perceptual network of
    models.train.percept), trained (and cached atomically) when missing."""
    cache_dir = Path(cache_dir)
    path, meta_path = cache_dir / f"{key}.safetensors", cache_dir / f"{key}.json"
    net = VARegressor()
    if path.is_file() and meta_path.is_file():
        net.load_state_dict(load_file(path))
        return net.to(device).eval(), json.loads(meta_path.read_text())
    t0 = time.perf_counter()
    net = train_regressor(images, va, epochs=epochs, device=device, progress=progress, seed=seed, desc=desc)
    meta = {"key": key, "seed": seed, "epochs": epochs, "n_train": len(images),
            "train_s": round(time.perf_counter() - t0, 1)}
    cache_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, tmp))
    atomic_write(meta_path, lambda tmp: Path(tmp).write_text(json.dumps(meta)))
    return net, meta
