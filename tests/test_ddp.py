"""Training on PyTorch's own distributed engine: torchrun with 2 CPU processes (gloo) trains the same run a single
process would (same steps, split and schedule, comparable losses), rank 0 alone writes, and a killed job resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _args(data: Path, runs: Path, name: str, epochs: int) -> list[str]:
    return ["-m", "scripts.train", "--data", str(data), "--runs", str(runs), "--name", name, "--epochs", str(epochs),
            "--batch-size", "32", "--threads", "1", "--quiet"]


def _records(run: Path) -> list[dict]:
    p = run / "metrics.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.is_file() else []


@pytest.fixture(scope="module")
def pair(synth_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("ddp")
    r2 = subprocess.run([*TORCHRUN, *_args(synth_dir, runs, "ddp", 2)], cwd=ROOT, env=ENV, capture_output=True,
                        text=True, timeout=600)
    assert r2.returncode == 0, r2.stderr[-3000:]
    r1 = subprocess.run([sys.executable, *_args(synth_dir, runs, "single", 2)], cwd=ROOT, env=ENV,
                        capture_output=True, text=True, timeout=600)
    assert r1.returncode == 0, r1.stderr[-3000:]
    return runs / "ddp", runs / "single", r2.stdout


def test_two_processes_train_the_run_one_process_would(pair):
    ddp, single, out = pair
    assert "2 processes x 16" in out and out.count("images seen") == 1  # one voice: rank 0
    s2, s1 = (json.loads((r / "summary.json").read_text()) for r in (ddp, single))
    assert (s2["steps"], s2["images"], s2["epochs"]) == (s1["steps"], s1["images"], s1["epochs"])
    assert (ddp / "split.csv").read_text() == (single / "split.csv").read_text()
    m2, m1 = _records(ddp), _records(single)
    assert [r["epoch"] for r in m2] == [1, 2]  # written once per epoch, by rank 0 only
    assert [r["lr"] for r in m2] == pytest.approx([r["lr"] for r in m1])  # the same schedule
    for m in (m1, m2):
        assert m[1]["train"]["loss"] < m[0]["train"]["loss"]
    assert m2[-1]["train"]["loss"] == pytest.approx(m1[-1]["train"]["loss"], rel=0.25)
    assert s2["recon_mse"] == pytest.approx(s1["recon_mse"], rel=0.15)


def test_a_killed_distributed_run_resumes_losing_only_the_running_epoch(synth_dir, tmp_path):
    runs = tmp_path
    proc = subprocess.Popen([*TORCHRUN, *_args(synth_dir, runs, "k", 3)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while not _records(runs / "k") and time.time() - t0 < 300:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(_records(runs / "k"))
    assert done >= 1 and not (runs / "k" / "summary.json").exists()
    shutil.rmtree(runs / "k" / "leftover", ignore_errors=True)
    r = subprocess.run([*TORCHRUN, "-m", "scripts.train", "--runs", str(runs), "--name", "k", "--resume", "--quiet"],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    recs = _records(runs / "k")
    assert [x["epoch"] for x in recs] == [1, 2, 3][: len(recs)] and recs[-1]["epoch"] == 3
    summary = json.loads((runs / "k" / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["steps"] == 3 * (288 // 32)
