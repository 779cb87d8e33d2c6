"""The CUDA path: training, the service's model calls and DDP's device choice on a GPU. Skipped cleanly where there is
no GPU (this project's CI machine); run on a lent GPU machine with `python -m pytest tests/test_cuda.py`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_training_runs_on_the_gpu_in_bf16(synth_dir, tmp_path):
    from models.config import ModelConfig, TrainConfig
    from models.train.loop import train_run

    s = train_run(tmp_path / "gpu", synth_dir, ModelConfig(kind="levasa", edit_weight=0.1),
                  TrainConfig(epochs=1, batch_size=32, device="cuda"), progress=False, log=lambda m: None)
    assert s["device"].startswith("cuda") and s["precision"] == "bf16" and np.isfinite(s["recon_mse"])


def test_service_model_calls_run_on_the_gpu_and_match_the_cpu(runs_dir):
    from backend.registry import Registry

    gpu = Registry(runs_dir, torch.device("cuda"), "fp32")
    cpu = Registry(runs_dir, torch.device("cpu"), "fp32")
    gpu.load_all()
    cpu.load_all()
    g, c = gpu.runs["tiny"], cpu.runs["tiny"]
    assert next(g.stored.run.model.parameters()).is_cuda
    z = np.random.default_rng(0).normal(size=(3, g.stored.latent_dim)).astype(np.float32)
    t = np.array([[0.5, 0.2], [-0.3, 0.6], [0.0, -0.8]], np.float32)
    faces_g, va_g, _ = g.infer.edit(z, t)
    faces_c, va_c, _ = c.infer.edit(z, t)
    assert np.abs(faces_g.astype(int) - faces_c.astype(int)).mean() < 2  # the same faces, up to float rounding
    assert np.allclose(va_g, va_c, atol=0.02)
