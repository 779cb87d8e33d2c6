"""Shared fixtures: a small synthetic face dataset on disk, and a tiny run trained on it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """320 synthetic faces with exact VA labels, written as images + labels.csv like any real dataset."""
    from models.data.synthetic import generate

    out = tmp_path_factory.mktemp("synth")
    generate(out, n=320, seed=1, n_identities=24, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_run(synth_dir, tmp_path_factory) -> Path:
    """A LeVAsa run trained for one short epoch on the synthetic fixture."""
    from models.config import ModelConfig, TrainConfig
    from models.train.loop import train_run

    run = tmp_path_factory.mktemp("runs") / "tiny"
    train_run(run, synth_dir, ModelConfig(kind="levasa"), TrainConfig(epochs=1, batch_size=32, seed=0),
              progress=False, log=lambda s: None)
    return run


@pytest.fixture(scope="session")
def runs_dir(tiny_run, tmp_path_factory):
    """A runs folder as the service finds it: the tiny run with its latents, thumbnails and projections, plus two broken
    runs (truncated weights; a config that is not JSON)."""
    from models.eval.export import prepare_serving
    from models.runs import load_run

    root = tmp_path_factory.mktemp("served")
    good = root / "tiny"
    shutil.copytree(tiny_run, good)
    prepare_serving(load_run(good), max_points=30000)
    trunc = root / "truncated"
    shutil.copytree(tiny_run, trunc)
    w = trunc / "model.safetensors"
    w.write_bytes(w.read_bytes()[:5000])
    bad = root / "badconfig"
    shutil.copytree(tiny_run, bad)
    (bad / "config.json").write_text("{ not json")
    return root
