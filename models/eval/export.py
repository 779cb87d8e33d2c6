"""What the server reads from a run folder, written by evaluation or ``levasa export``: the dataset's latents,
thumbnails and projections (files named in models.runs). Every write is atomic and pickle-free."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.data.emotions import ALL_EMOTIONS
from models.data.labels import read_labels
from models.device import resolve_precision
from models.eval.projections import cached_projections
from models.eval.rundata import RunData, run_data
from models.inference import predict
from models.io import save_npz
from models.thumbstore import ensure_store, write_pointer


def export_latents(
    run: ck.LoadedRun, data: RunData, batch_size: int = 256, progress: bool = False
) -> dict[str, np.ndarray]:
    """Encode every dataset row and write RUN/latents.npz (atomic; plain arrays, readable with allow_pickle=False).

    Arrays: ids (N,) row index; mu (N, D) float32 latent means; va_label, va_head (N, 2) float32; emotion (N,) int
    codes in models.emotions.ALL_EMOTIONS order; split (N,) and files (N,) fixed-width unicode; recon_mse (N,) float32
    per-image reconstruction error of the mean latent. Returns the same arrays.
    """
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
    path = run.path / ck.LATENTS
    save_npz(path, **arrays)
    return arrays


def save_thumbnails(run_dir: Path, images: torch.Tensor, key: str, progress: bool = False) -> int:
    """Point RUN/thumbs.json at the dataset's thumbnail store (RUNS/.thumbs/KEY), written first if no run of this
    dataset made it yet (models.thumbstore). Returns the store's JPEG bytes."""
    assert images.dim() == 4 and images.shape[1] == 3 and images.dtype == torch.uint8, f"got {tuple(images.shape)}"
    run_dir = Path(run_dir)
    folder, _ = ensure_store(run_dir.parent, key, images.numpy(), progress)
    write_pointer(run_dir, key, len(images))
    (run_dir / ck.LEGACY_THUMBS).unlink(missing_ok=True)  # the run's own copy, from before the shared stores
    return int((folder / "data.npy").stat().st_size)


def prepare_serving(run: ck.LoadedRun, max_points: int = 30000, progress: bool = False) -> dict:
    """What the server reads from a run folder, without the full evaluation: latents.npz, thumbs.json (and its
    store) and projections.npz (t-SNE and PCA, reused when cached).
    Returns {"latents": n, "projections": n, "reused": bool, "seconds": {stage: s}} (stages: read, encode,
    thumbnails, projections)."""
    clock, seconds = time.perf_counter(), {}

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    data = run_data(run, progress=progress)
    lap("read")
    lat = export_latents(run, data, progress=progress)
    lap("encode")
    save_thumbnails(run.path, data.images, data.images_key, progress=progress)
    lap("thumbnails")
    c = run.model_cfg
    zv, za = slice(0, c.zv_dim), slice(c.zv_dim, c.zv_dim + c.za_dim)
    proj, reused = cached_projections(run.path, lat["mu"], zv, za, max_points=max_points, progress=progress)
    lap("projections")
    return {"latents": len(lat["ids"]), "projections": len(proj["ids"]), "reused": reused, "seconds": seconds}


def ensure_exported(run_dir: Path, max_points: int = 30000, log=print) -> bool:
    """Write the run's serving files unless they are all newer than its weights. Returns True when it wrote them."""
    run_dir = Path(run_dir)
    outs = [run_dir / f for f in ck.SERVING_FILES]
    weights_time = (run_dir / ck.WEIGHTS).stat().st_mtime
    if all(p.is_file() and p.stat().st_mtime >= weights_time for p in outs):
        return False
    log(f"== exporting {run_dir} for the explorer (latents, thumbnails, t-SNE and PCA)")
    t0 = time.time()
    out = prepare_serving(ck.load_run(run_dir), max_points, progress=True)
    log(f"   {out['latents']:,} faces, {out['projections']:,} projected, {time.time() - t0:.0f} s")
    return True
