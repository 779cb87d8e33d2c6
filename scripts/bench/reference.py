"""The reference recipe's training loop, kept only as the baseline that benchmarks measure ours against.

As in the LeVAsa notebooks: a torch Dataset that opens and decodes each image with PIL and applies a torchvision
transform on every step, a DataLoader with batch 128 and shuffling, fp32, Adam at a constant lr 1e-4, the reference's
loss normalisation (the same one models.vae keeps). The network is ours (the same architecture, with the bounded output
layer), so the comparison isolates the recipe and the compute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from models._torchvision import torchvision  # noqa: F401 - makes torchvision importable on the CPU torch
from models.config import ModelConfig
from models.vae import VAE


class PILFaces(torch.utils.data.Dataset):
    """Decode + transform every time an image is asked for (no cache), like the reference notebooks."""

    def __init__(self, root: Path, files: list[str], va: np.ndarray):
        from torchvision import transforms

        self.paths = [Path(root) / f for f in files]
        self.va = torch.as_tensor(va, dtype=torch.float32)
        self.transform = transforms.Compose([transforms.Resize((64, 64)), transforms.ToTensor()])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert("RGB")), self.va[i]


def train_reference(dataset: PILFaces, model_cfg: ModelConfig, seed: int, max_seconds: float,
                    on_eval: Callable[[VAE, dict], bool], eval_every_images: int, batch_size: int = 128,
                    lr: float = 1e-4, max_epochs: int = 100) -> dict:
    """Run the reference loop until ``on_eval`` returns True or ``max_seconds`` of training time pass.

    ``on_eval(model, state)`` is called every ``eval_every_images`` images; its time is not counted.
    """
    torch.manual_seed(seed)
    model = VAE(model_cfg)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    state = {"images": 0, "train_s": 0.0, "steps": 0, "stopped": "cap"}
    next_eval = eval_every_images
    model.train()
    for _ in range(max_epochs):
        t0 = time.perf_counter()
        for x, va in loader:  # the decode happens inside this iteration: it is part of the recipe's cost
            terms = model.loss(x, va)
            opt.zero_grad()
            terms["loss"].backward()
            opt.step()
            state["images"] += x.shape[0]
            state["steps"] += 1
            state["train_s"] += time.perf_counter() - t0
            if state["images"] >= next_eval:
                next_eval += eval_every_images
                if on_eval(model, state):
                    state["stopped"] = "target"
                    return state
            if state["train_s"] >= max_seconds:
                return state
            t0 = time.perf_counter()
    return state
