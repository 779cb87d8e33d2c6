"""A trained run's dataset with the split it saved, so evaluation never scores a row the run trained on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models import runs as ck
from models.data.images import cache_key, load_images
from models.data.labels import read_labels
from models.data.splits import heldout_name, read_split
from models.data.synthetic import identity_factors
from models.device import resolve_precision
from models.eval.affect import va_metrics
from models.inference import predict


@dataclass
class RunData:
    images: torch.Tensor  # (N, 3, 64, 64) uint8, every row of the dataset
    va: np.ndarray  # (N, 2)
    emotions: list[str]
    split: np.ndarray  # (N,) the split saved with the run
    heldout: str  # "test" when the dataset has one, else "val"
    identity: tuple[list[str], np.ndarray] | None = None  # synthetic faces: (factor names, per-row values (N, F))
    images_key: str = ""  # the decoded images' cache key: names the dataset's thumbnail store


def run_data(run: ck.LoadedRun, progress: bool = False) -> RunData:
    """The dataset a run was trained on, with the split it saved (so evaluation never sees its training rows)."""
    table = read_labels(run.config["dataset"]["root"], require_va=True)
    split = read_split(run.path / ck.SPLIT, table)
    key = cache_key(table)
    images = torch.from_numpy(load_images(table, progress=progress, key=key))
    return RunData(images, table.va, table.emotions, split, heldout_name(split), _identity_rows(table), key)


def _identity_rows(table) -> tuple[list[str], np.ndarray] | None:
    """Each row's identity factors, where the dataset is the synthetic generator's (it knows them)."""
    factors = identity_factors(table.root)
    ids = table.columns.get("identity")
    if factors is None or ids is None:
        return None
    idx = np.asarray(ids, int)
    if idx.min() < 0 or idx.max() >= len(factors[1]):
        return None
    return factors[0], factors[1][idx]


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
