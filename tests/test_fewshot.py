"""Few-shot labelling: support sets per group, the pair head against the nearest-neighbour baseline, and the script."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from models.data.fewshot import FewShotConfig, fit_pair_head, label_queries, nn_baseline, standardise, support_mask
from models.eval.affect import ccc
from tests.conftest import ROOT


def test_support_is_every_kth_face_of_each_group():
    groups = np.array(["a"] * 10 + ["b"] * 5 + ["c"] * 1)
    m = support_mask(groups, 3)
    assert np.flatnonzero(m).tolist() == [0, 3, 6, 9, 10, 13, 15]  # each group from its first face; c is kept
    assert support_mask(groups, 1).all()
    with pytest.raises(ValueError, match="every must be >= 1"):
        support_mask(groups, 0)


def test_pair_head_beats_the_nearest_neighbour_on_a_sparse_support():
    rng = np.random.default_rng(0)
    n = 600
    va = rng.uniform(-1, 1, (n, 2))
    emo = (va[:, 0] > 0).astype(int) + 2 * (va[:, 1] > 0)
    mix = rng.normal(size=(2, 16))
    feats = va @ mix + 0.05 * rng.normal(size=(n, 16))  # encodings that carry VA linearly, plus noise
    mask = np.zeros(n, bool)
    mask[::15] = True  # 40 labelled faces
    fs, fq = standardise(feats[mask], feats[~mask])
    head = fit_pair_head(fs, va[mask], emo[mask], FewShotConfig(steps=400, seed=0))
    pred, pred_emo, conf = label_queries(head, fs, va[mask], emo[mask], fq, 4, 8)
    nn = nn_baseline(fs, va[mask], fq)
    truth = va[~mask]
    ours = (ccc(truth[:, 0], pred[:, 0]) + ccc(truth[:, 1], pred[:, 1])) / 2
    base = (ccc(truth[:, 0], nn[:, 0]) + ccc(truth[:, 1], nn[:, 1])) / 2
    assert ours > base and ours > 0.9, (ours, base)
    assert (pred_emo == emo[~mask]).mean() > 0.7
    assert pred.shape == truth.shape and np.all(np.abs(pred) <= 1) and np.all((conf > 0) & (conf <= 1 + 1e-5))


def test_script_scores_fractions_and_writes_a_labelled_dataset(runs_dir, tmp_path):
    run = runs_dir / "tiny"
    r = subprocess.run([sys.executable, "-m", "scripts.fewshot", "--run", str(run), "--fractions", "0.5,0.2",
                        "--figures", "fewshot6"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "pair head" in r.stdout and "1-NN latent" in r.stdout and "heads (no support)" in r.stdout
    assert "FIGURE" not in r.stdout  # no 6% row asked for, so no figure claimed
    out = tmp_path / "labelled"
    r = subprocess.run([sys.executable, "-m", "scripts.fewshot", "--run", str(run), "--every", "4", "--group", "none",
                        "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    from models.data.labels import read_labels

    table = read_labels(out, require_va=True)
    src = table.columns["label_source"]
    assert {"support", "fewshot"} == set(src) and src.count("support") < src.count("fewshot")


def test_script_refuses_bad_arguments(runs_dir, tmp_path):
    run = runs_dir / "tiny"
    r = subprocess.run([sys.executable, "-m", "scripts.fewshot", "--run", str(run), "--fractions", "2"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--fractions must be numbers in (0, 1)" in r.stderr
    r = subprocess.run([sys.executable, "-m", "scripts.fewshot", "--run", str(run), "--group", "nope"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--group 'nope' is no column" in r.stderr
    r = subprocess.run([sys.executable, "-m", "scripts.fewshot", "--run", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "error:" in r.stderr
