"""Training on PyTorch's own distributed engine: torchrun with 2 CPU processes (gloo) trains the same run a single
process would (same steps, split and schedule, comparable losses), rank 0 alone writes, and a killed job resumes."""

from __future__ import annotations

import json
import os
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


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant (torchrun starts its workers in sessions of their own)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    todo, tree = [pid], []
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
    runs, epochs = tmp_path, 8
    proc = subprocess.Popen([*TORCHRUN, *_args(synth_dir, runs, "k", epochs)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while not (runs / "k" / "checkpoint.safetensors").is_file() and time.time() - t0 < 300:
        time.sleep(0.05)  # an epoch has been checkpointed: kill the job in the next one
    _kill_tree(proc.pid)  # the launcher and both workers, mid-run
    proc.wait()
    done = [x["epoch"] for x in _records(runs / "k")]
    assert done and done[-1] < epochs and not (runs / "k" / "summary.json").exists()
    r = subprocess.run([*TORCHRUN, "-m", "scripts.train", "--runs", str(runs), "--name", "k", "--resume", "--quiet"],
                       cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    got = [x["epoch"] for x in _records(runs / "k")]
    # Every epoch is there; at most the one running at the kill (scored, not yet checkpointed) appears twice.
    assert sorted(set(got)) == list(range(1, epochs + 1)) and len(got) - epochs <= 1
    assert got[: len(done)] == done  # nothing finished before the kill was lost or rewritten
    summary = json.loads((runs / "k" / "summary.json").read_text())
    assert summary["epochs"] == epochs and summary["steps"] == epochs * (288 // 32)
