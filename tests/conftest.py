"""Shared fixtures: a small synthetic face dataset on disk, a tiny run trained on it, and for the browser tests a real
server holding it and Debian's chromium driven by playwright."""

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


@pytest.fixture(scope="session")
def site(runs_dir, tiny_run, synth_dir, tmp_path_factory):
    """A server with two good runs on the same faces (the tiny LeVAsa run, and a vanilla one for comparing) and one
    broken run."""
    from models.config import ModelConfig, TrainConfig
    from models.eval.export import prepare_serving
    from models.runs import load_run
    from models.train.loop import train_run
    from scripts.bench.serve import start_server, stop_server

    root = tmp_path_factory.mktemp("site")
    shutil.copytree(runs_dir / "tiny", root / "tiny")
    shutil.copytree(runs_dir / "truncated", root / "truncated")
    van = root / "tiny-vanilla"
    train_run(van, synth_dir, ModelConfig(kind="vanilla"), TrainConfig(epochs=1, batch_size=32, seed=0),
              progress=False, log=lambda s: None)
    prepare_serving(load_run(van), max_points=30000)
    proc, url = start_server(root, log_path=root / "server.log")
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    """Headless chromium (scripts/bench/browser.py), one per test module: playwright's sync API keeps an event loop
    running while it is open, which asyncio.run() in later modules (tests/test_server.py) must not find."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
    from scripts.bench.browser import launch

    with sync_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    """A fresh page on the site; the test fails if the page threw a JavaScript error."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, base_url=site)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    assert not pg.errors, f"JavaScript errors on the page: {pg.errors}"
    ctx.close()
