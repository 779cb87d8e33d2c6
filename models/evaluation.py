"""Held-out evaluation of trained runs: the run's own saved split, the heads against the labels, and baselines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models import checkpoint as ck
from models.data import heldout_name, load_images, read_labels, read_split
from models.metrics import va_metrics
from models.training import predict, resolve_precision


@dataclass
class RunData:
    images: torch.Tensor  # (N, 3, 64, 64) uint8, every row of the dataset
    va: np.ndarray  # (N, 2)
    emotions: list[str]
    split: np.ndarray  # (N,) the split saved with the run
    heldout: str  # "test" when the dataset has one, else "val"


def run_data(run: ck.LoadedRun, progress: bool = False) -> RunData:
    """The dataset a run was trained on, with the split it saved (so evaluation never sees its training rows)."""
    table = read_labels(run.config["dataset"]["root"], require_va=True)
    split = read_split(run.path / ck.SPLIT, table)
    images = torch.from_numpy(load_images(table, progress=progress))
    return RunData(images, table.va, table.emotions, split, heldout_name(split))


def heads_vs_baselines(runs: list[ck.LoadedRun], data: RunData) -> dict[str, dict]:
    """Affect metrics of each run's heads on the held-out split, and of a constant predictor (the training mean)."""
    held = data.split == data.heldout
    truth = data.va[held]
    out = {}
    for run in runs:
        p = predict(run.model, data.images[held], run.device, resolve_precision("auto", run.device))
        out[run.name] = va_metrics(truth, p["va"]) | {"recon_mse": float(p["recon_mse"].mean())}
    const = np.broadcast_to(data.va[data.split == "train"].mean(0), truth.shape)
    out["constant (train mean)"] = va_metrics(truth, const)
    return out


# --- the dataset's latents, saved with the run for the server and the projections ------------------------------------
LATENTS = "latents.npz"


def export_latents(
    run: ck.LoadedRun, data: RunData, batch_size: int = 256, progress: bool = False
) -> dict[str, np.ndarray]:
    """Encode every dataset row and write RUN/latents.npz (atomic; plain arrays, readable with allow_pickle=False).

    Arrays: ids (N,) row index; mu (N, D) float32 latent means; va_label, va_head (N, 2) float32; emotion (N,) int
    codes in models.emotions.ALL_EMOTIONS order; split (N,) and files (N,) fixed-width unicode; recon_mse (N,) float32
    per-image reconstruction error of the mean latent. Returns the same arrays.
    """
    from models.emotions import ALL_EMOTIONS

    table = read_labels(run.config["dataset"]["root"], require_va=True)
    assert len(table) == len(data.va), f"labels.csv has {len(table)} rows, the loaded data {len(data.va)}"
    precision = resolve_precision("auto", run.device)
    chunks = range(0, len(data.images), 2048)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc=f"encode {run.name}", unit="chunk", total=len(chunks))
    parts = [predict(run.model, data.images[i : i + 2048], run.device, precision, batch_size) for i in chunks]
    p = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}
    arrays = {
        "ids": np.arange(len(data.va), dtype=np.int64),
        "mu": p["mu"].astype(np.float32),
        "va_label": np.asarray(data.va, np.float32),
        "va_head": p["va"].astype(np.float32),
        "emotion": np.array([ALL_EMOTIONS.index(e) for e in data.emotions], dtype=np.int64),
        "split": np.asarray(data.split).astype(str),
        "files": np.array(table.files, dtype=str),
        "recon_mse": p["recon_mse"].astype(np.float32),
    }
    path = run.path / LATENTS
    ck.save_npz(path, **arrays)
    return arrays


def load_latents(run_dir) -> dict[str, np.ndarray]:
    """RUN/latents.npz as a dict of arrays (no pickle)."""
    from pathlib import Path

    with np.load(Path(run_dir) / LATENTS, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
