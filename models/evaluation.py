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


# --- thumbnails, saved with the run so the server shows dataset faces without the dataset ----------------------------
THUMBS = "thumbs.npz"
THUMB_QUALITY = 90  # JPEG: a 64 px face in about 2 KB (20,000 faces in ~40 MB), served as stored bytes


def save_thumbnails(run_dir, images: torch.Tensor, progress: bool = False) -> int:
    """Every dataset row's face as JPEG bytes in RUN/thumbs.npz: data (uint8, all JPEGs end to end) and offsets
    (int64, N + 1; face i is data[offsets[i]:offsets[i + 1]]). Atomic, no pickle. Returns the bytes written."""
    import io
    from pathlib import Path

    from PIL import Image

    assert images.dim() == 4 and images.shape[1] == 3 and images.dtype == torch.uint8, f"got {tuple(images.shape)}"
    rows = range(len(images))
    if progress:
        from tqdm import tqdm

        rows = tqdm(rows, desc="thumbnails", unit="face", mininterval=1.0)
    hwc = images.permute(0, 2, 3, 1).numpy()
    parts, offsets = [], [0]
    for i in rows:
        buf = io.BytesIO()
        Image.fromarray(hwc[i]).save(buf, format="JPEG", quality=THUMB_QUALITY)
        parts.append(buf.getvalue())
        offsets.append(offsets[-1] + len(parts[-1]))
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    ck.save_npz(Path(run_dir) / THUMBS, data=data, offsets=np.asarray(offsets, np.int64))
    return int(data.nbytes)


def prepare_serving(run: ck.LoadedRun, max_points: int = 30000, progress: bool = False) -> dict:
    """What the server reads from a run folder, without the full evaluation: latents.npz, thumbs.npz and
    projections.npz (t-SNE and PCA, reused when cached). Returns {"latents": n, "projections": n, "reused": bool}."""
    from models.projections import cached_projections

    data = run_data(run, progress=progress)
    lat = export_latents(run, data, progress=progress)
    save_thumbnails(run.path, data.images, progress=progress)
    c = run.model_cfg
    zv, za = slice(0, c.zv_dim), slice(c.zv_dim, c.zv_dim + c.za_dim)
    proj, reused = cached_projections(run.path, lat["mu"], zv, za, max_points, progress=progress)
    return {"latents": len(lat["ids"]), "projections": len(proj["ids"]), "reused": reused}
