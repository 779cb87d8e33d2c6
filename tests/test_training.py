"""Training end to end: the script, the run folder, resume after a kill, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from models import runs as ck
from tests.conftest import ROOT


def _train(*args, **kw):
    return subprocess.run([sys.executable, "-m", "scripts.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=kw.get("timeout", 300))


def test_one_epoch_run_writes_a_complete_run_folder(tiny_run):
    for name in (ck.CONFIG, ck.WEIGHTS, ck.CHECKPOINT, ck.METRICS, ck.SPLIT, ck.SUMMARY):
        assert (tiny_run / name).is_file(), name
    cfg = json.loads((tiny_run / ck.CONFIG).read_text())
    assert cfg["model"]["kind"] == "levasa" and cfg["dataset"]["n"] == 320 and cfg["dataset"]["heldout"] == "val"
    records = [json.loads(x) for x in (tiny_run / ck.METRICS).read_text().splitlines()]
    assert len(records) == 1 and records[0]["epoch"] == 1 and np.isfinite(records[0]["val"]["ccc_v"])
    summary = json.loads((tiny_run / ck.SUMMARY).read_text())
    assert summary["n_heldout"] == 32 and summary["images"] == 9 * 32  # 288 train images // 32 per batch
    run = ck.load_run(tiny_run)
    with torch.no_grad():
        out = run.model(torch.rand(2, 3, 64, 64))
    assert out.va.shape == (2, 2)


def test_split_is_saved_and_disjoint(tiny_run):
    lines = (tiny_run / ck.SPLIT).read_text().splitlines()
    assert lines[0] == "file,split" and len(lines) == 321
    splits = [ln.split(",")[1] for ln in lines[1:]]
    assert splits.count("val") == 32 and splits.count("train") == 288


def test_script_trains_vanilla_discrete_and_prints_summary(synth_dir, tmp_path):
    r = _train("--data", str(synth_dir), "--runs", str(tmp_path), "--name", "v", "--model", "vanilla",
               "--label-mode", "discrete", "--epochs", "1", "--batch-size", "64", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "vanilla / discrete" in r.stdout and "val CCC valence" in r.stdout
    assert json.loads((tmp_path / "v" / ck.CONFIG).read_text())["model"]["label_mode"] == "discrete"


def test_script_trains_relational_alone_and_refuses_it_for_vanilla(synth_dir, tmp_path):
    r = _train("--data", str(synth_dir), "--runs", str(tmp_path), "--name", "rel", "--relational", "distance",
               "--no-head-grad", "--epochs", "1", "--batch-size", "32", "--quiet")
    assert r.returncode == 0, r.stderr
    model = json.loads((tmp_path / "rel" / ck.CONFIG).read_text())["model"]
    assert model["relational"] == "distance" and model["head_grad"] is False
    log = [json.loads(line) for line in (tmp_path / "rel" / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["train"]["relational"] > 0
    r = _train("--data", str(synth_dir), "--runs", str(tmp_path), "--name", "v", "--model", "vanilla",
               "--relational", "cosine", "--epochs", "1")
    assert r.returncode == 2 and "LeVAsa options" in r.stderr


def test_edit_term_ramps_in_after_edit_start(synth_dir, tmp_path):
    from models.train.schedule import late_ramp

    assert late_ramp(0, 100, 0.0) == 1.0
    got = [late_ramp(s, 100, 0.5) for s in (0, 49, 50, 55, 60, 99)]
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.0])
    r = _train("--data", str(synth_dir), "--runs", str(tmp_path), "--name", "late", "--epochs", "2",
               "--batch-size", "32", "--threads", "1", "--quiet", "--edit-weight", "0.1", "--edit-local",
               "--edit-start", "0.5")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in (tmp_path / "late" / ck.METRICS).read_text().splitlines()]
    assert "edit" not in rows[0]["train"] and "edit_keep" not in rows[0]["train"]  # epoch 1: not yet
    assert rows[1]["train"]["edit"] > 0 and "edit_keep" in rows[1]["train"]  # epoch 2: on, and local
    assert json.loads((tmp_path / "late" / ck.CONFIG).read_text())["model"]["edit_start"] == 0.5
    bad = _train("--data", str(synth_dir), "--runs", str(tmp_path), "--name", "bad", "--edit-start", "1.5")
    assert bad.returncode == 2 and "edit_start must be in [0, 1)" in bad.stderr


def test_perceptual_term_trains_its_network_once_per_split_and_leaves_the_run_seeded_alike(synth_dir, tmp_path):
    common = ["--data", str(synth_dir), "--runs", str(tmp_path), "--epochs", "1", "--batch-size", "32",
              "--threads", "1", "--quiet", "--perceptual-weight", "0.05", "--edit-feather", "4"]
    first = _train(*common, "--name", "p1")  # trains the perceptual network, then the run
    assert first.returncode == 0, first.stderr
    cached = sorted((tmp_path / ck.PERCEPTS).glob("*.safetensors"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    second = _train(*common, "--name", "p2")  # finds it cached
    assert second.returncode == 0, second.stderr
    assert cached[0].stat().st_mtime_ns == stamp and len(list((tmp_path / ck.PERCEPTS).glob("*.safetensors"))) == 1
    rows = [json.loads((tmp_path / n / ck.METRICS).read_text().splitlines()[-1]) for n in ("p1", "p2")]
    assert rows[0]["train"]["perceptual"] > 0
    # training the network drew random numbers under its own seed; the run's own stream was put back
    assert rows[0]["train"] == rows[1]["train"]
    model = json.loads((tmp_path / "p1" / ck.CONFIG).read_text())["model"]
    assert model["perceptual_weight"] == 0.05 and model["edit_feather"] == 4.0


def test_ccc_alignment_flag_is_checked(synth_dir, tmp_path):
    common = ["--data", str(synth_dir), "--runs", str(tmp_path), "--name", "bad"]
    r = _train(*common, "--align-loss", "ccc", "--label-mode", "discrete")
    assert r.returncode == 2 and "align_loss ccc needs continuous labels" in r.stderr
    r = _train(*common, "--align-loss", "huber")
    assert r.returncode == 2 and "invalid choice: 'huber'" in r.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("terms", [[], ["--adversarial-weight", "0.05", "--perceptual-weight", "0.05"]],
                         ids=["plain", "perceptual+adversarial"])
def test_killed_run_resumes_and_matches_an_uninterrupted_one(synth_dir, tmp_path, terms):
    common = ["--data", str(synth_dir), "--runs", str(tmp_path), "--epochs", "3", "--batch-size", "32",
              "--precision", "fp32", "--threads", "1", "--quiet", *terms]
    full = _train(*common, "--name", "full")
    assert full.returncode == 0, full.stderr

    proc = subprocess.Popen([sys.executable, "-m", "scripts.train", *common, "--name", "killed"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt = tmp_path / "killed" / ck.CHECKPOINT
    deadline = time.time() + 240
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), "the first epoch never finished"
    time.sleep(0.5)  # now inside epoch 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state_epochs = [json.loads(x)["epoch"] for x in (tmp_path / "killed" / ck.METRICS).read_text().splitlines()]
    assert state_epochs and state_epochs[-1] < 3, "killed too late to test resume"

    r = _train("--runs", str(tmp_path), "--name", "killed", "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"resuming killed after epoch {state_epochs[-1]}" in r.stdout
    a, b = ck.load_run(tmp_path / "full").model, ck.load_run(tmp_path / "killed").model
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(p.float(), q.float(), atol=1e-5), name  # nothing lost: the same run as without the kill
    if terms:  # the discriminator and its optimiser came back too: the resumed run went on training the same one
        from safetensors.torch import load_file

        da, db = (load_file(tmp_path / n / ck.CHECKPOINT) for n in ("full", "killed"))
        disc = [k for k in da if k.startswith("disc.")]
        assert disc and all(torch.allclose(da[k].float(), db[k].float(), atol=1e-5) for k in disc)
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "killed" / ck.METRICS).read_text().splitlines()]
    assert epochs == [1, 2, 3]


def test_bad_input_exits_2_with_a_message(synth_dir, tmp_path):
    r = _train("--data", str(tmp_path), "--name", "x", "--runs", str(tmp_path))
    assert r.returncode == 2 and "no labels.csv there" in r.stderr
    r = _train("--data", str(synth_dir), "--name", "x", "--runs", str(tmp_path), "--epochs", "0")
    assert r.returncode == 2 and "epochs must be >= 1" in r.stderr
    (tmp_path / "cfg.json").write_text('{"model": {"zv_dims": 4}}')
    r = _train("--data", str(synth_dir), "--name", "x", "--runs", str(tmp_path), "--config", str(tmp_path / "cfg.json"))
    assert r.returncode == 2 and "unknown ModelConfig key(s): zv_dims" in r.stderr
    r = _train("--name", "nothing", "--runs", str(tmp_path), "--resume")
    assert r.returncode == 2 and "holds no run" in r.stderr
    nova = tmp_path / "nova"
    nova.mkdir()
    (nova / "labels.csv").write_text("file,emotion\na.png,happy\n")
    r = _train("--data", str(nova), "--name", "y", "--runs", str(tmp_path), "--quiet")
    assert r.returncode == 2 and "missing column(s) valence, arousal" in r.stderr


def test_existing_run_is_not_overwritten_silently(synth_dir, tiny_run):
    r = _train("--data", str(synth_dir), "--name", tiny_run.name, "--runs", str(tiny_run.parent))
    assert r.returncode == 2 and "already exists; use --resume" in r.stderr
