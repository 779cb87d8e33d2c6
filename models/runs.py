"""Run folders: the one owner of every run-folder file name, and of loading a run (``load_run``).

A run is one folder, runs/NAME/. Training writes:
  config.json             model + training config, dataset summary, label mode (everything to rebuild the model)
  model.safetensors       the latest weights (BatchNorm buffers included), config embedded in its metadata
  checkpoint.safetensors  weights + optimizer state + RNG + epoch/step, for --resume (one file: one atomic replace)
  metrics.jsonl           one JSON line per held-out scoring during training (train loss terms, CCC, recon MSE, time)
  split.csv               file, split (train / val / test) of every dataset row
  summary.json            the final held-out figures, written when training ends
Export (``levasa export``) and evaluation (``levasa evaluate``) add what the server shows:
  latents.npz             every dataset row's latent mean, labels, head VA, split, file name, recon error
  thumbs.json             which thumbnail store holds every dataset row's face (RUNS/.thumbs/KEY, once per dataset)
  projections.npz         t-SNE and PCA of the latents (cached: reused while the latents are the same)
  metrics.json            the full evaluation's figures (levasa evaluate)
Weights are safetensors only (no pickled code is ever loaded); every write is atomic (models.io).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from models.config import ConfigError, ModelConfig, TrainConfig
from models.domain import image_to_domain, run_color, to_domain
from models.io import RunError, atomic_write, read_json
from models.vae import VAE

CONFIG, WEIGHTS, CHECKPOINT, METRICS, SPLIT, SUMMARY = (
    "config.json",
    "model.safetensors",
    "checkpoint.safetensors",
    "metrics.jsonl",
    "split.csv",
    "summary.json",
)
LATENTS, THUMBS, PROJECTIONS, METRICS_JSON = "latents.npz", "thumbs.json", "projections.npz", "metrics.json"
PROJECTIONS_PARTIAL = "projections.partial.npz"  # the maps an interrupted export finished (models.eval.projections)
LEGACY_THUMBS = "thumbs.npz"  # a run exported before the shared stores kept its faces itself: still served
THUMB_STORES = ".thumbs"  # in the runs folder: the JPEG thumbnails, one store per dataset (models.thumbstore)
SERVING_FILES = (LATENTS, THUMBS, PROJECTIONS)  # what export writes for the server
JUDGES, QUICK_JUDGES = ".judges", ".judges-quick"  # in the runs folder: the independent judges, one per training split
PERCEPTS = ".percepts"  # in the runs folder: the perceptual loss's networks, one per training split (never a judge)
FORMAT_VERSION = 1


def _state_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}


def save_weights(run_dir: Path, model: VAE) -> None:
    meta = {"format": str(FORMAT_VERSION), "model_config": json.dumps(model.cfg.to_dict())}
    atomic_write(Path(run_dir) / WEIGHTS, lambda tmp: save_file(_state_tensors(model), tmp, metadata=meta))


def save_checkpoint(run_dir: Path, model: VAE, optimizer: torch.optim.Optimizer, state: dict,
                    extra: dict[str, tuple[torch.nn.Module, torch.optim.Optimizer]] | None = None) -> None:
    """Weights, optimizer moments, RNG and ``state`` (epoch, step, ...) in one atomically replaced file; ``extra``:
    other trained networks with their optimisers (the adversarial term's discriminator), saved under their names."""
    tensors = {f"model.{k}": v for k, v in _state_tensors(model).items()}
    meta = {"format": str(FORMAT_VERSION), "state": json.dumps(state),
            "param_groups": _pack_optimizer(optimizer, "opt", tensors)}
    for name, (module, opt) in (extra or {}).items():
        tensors |= {f"{name}.model.{k}": v for k, v in _state_tensors(module).items()}
        meta[f"{name}.param_groups"] = _pack_optimizer(opt, f"{name}.opt", tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    atomic_write(Path(run_dir) / CHECKPOINT, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _pack_optimizer(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]) -> str:
    """Put the optimiser's per-parameter state into ``tensors`` as PREFIX.IDX.KEY; returns its param groups as JSON."""
    opt = optimizer.state_dict()
    for idx, s in opt["state"].items():
        for key, val in s.items():
            tensors[f"{prefix}.{idx}.{key}"] = torch.as_tensor(val).detach().contiguous().cpu()
    return json.dumps(opt["param_groups"])


def _unpack_optimizer(optimizer: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor],
                      groups: str) -> None:
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith(prefix + "."):
            idx, key = k[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = v
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(groups)})


def load_checkpoint(run_dir: Path, model: VAE, optimizer: torch.optim.Optimizer,
                    extra: dict[str, tuple[torch.nn.Module, torch.optim.Optimizer]] | None = None) -> dict:
    """Restore model, optimizer, RNG and ``extra`` from checkpoint.safetensors; returns the saved ``state`` dict."""
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise RunError(f"cannot resume: {path} not found (no epoch of this run has finished)")
    try:
        tensors = load_file(path)
        from safetensors import safe_open

        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # safetensors raises its own error types for truncated or foreign files
        raise RunError(f"cannot read {path}: {e}") from None
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    _unpack_optimizer(optimizer, "opt", tensors, meta["param_groups"])
    for name, (module, opt) in (extra or {}).items():
        if f"{name}.param_groups" not in meta:
            raise RunError(f"cannot resume: {path} holds no {name} (was the run trained without it?)")
        head = f"{name}.model."
        module.load_state_dict({k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)})
        _unpack_optimizer(opt, f"{name}.opt", tensors, meta[f"{name}.param_groups"])
    torch.set_rng_state(tensors["rng.torch"])
    return json.loads(meta["state"])


@dataclass
class LoadedRun:
    name: str
    path: Path
    model: VAE
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    config: dict  # the whole config.json (dataset summary included)
    device: torch.device
    color: str = "rgb"  # the training images' colour mode: images from elsewhere are converted to it (models.domain)

    def to_domain(self, pixels: np.ndarray, axis: int = -1) -> tuple[np.ndarray, str]:
        """uint8 RGB images from elsewhere (RGB along ``axis``) -> as this run's training images were, and what was
        done ("grayscale" or "none")."""
        return to_domain(pixels, self.color, axis)

    def image_to_domain(self, img: Image.Image) -> tuple[Image.Image, str]:
        """An RGB PIL image from elsewhere -> as this run's training images were, and what was done."""
        return image_to_domain(img, self.color)


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild a run's model from config.json + model.safetensors, in eval mode on ``device``.

    The one load function for scripts and the server. Raises RunError naming the file and the reason.
    """
    run_dir = Path(run_dir)
    cfg = read_json(run_dir / CONFIG)
    try:
        model_cfg = ModelConfig.from_dict(cfg["model"])
        train_cfg = TrainConfig.from_dict(cfg.get("train", {}))
    except (KeyError, TypeError, ConfigError) as e:
        raise RunError(f"{run_dir / CONFIG}: bad config: {e}") from None
    path = run_dir / WEIGHTS
    if not path.is_file():
        raise RunError(f"{path} not found (training has not finished an epoch)")
    try:
        tensors = load_file(path)
    except Exception as e:
        raise RunError(f"cannot read {path}: {e}") from None
    model = VAE(model_cfg)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise RunError(f"{path} does not match {run_dir / CONFIG}: {str(e).splitlines()[0]}") from None
    device = torch.device(device)
    model.to(device).eval()
    return LoadedRun(run_dir.name, run_dir, model, model_cfg, train_cfg, cfg, device, run_color(cfg))
