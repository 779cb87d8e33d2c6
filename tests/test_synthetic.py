"""Tests of the built-in synthetic face dataset (models/data/synthetic.py) and its command-line entry point."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.data.emotions import EMOTIONS
from models.data.synthetic import SIZE, generate, generate_arrays, render_faces, sample_identities, sample_labels
from models.data.transfer import affectnet_ellipses, nearest_ellipse

ROOT = Path(__file__).resolve().parents[1]
# Windows (64x64 output coordinates) around the expression features, generous enough for the pose jitter.
MOUTH = (slice(36, 58), slice(14, 50))
EYES = (slice(16, 36), slice(10, 54))


@pytest.fixture(scope="module")
def ids():
    return sample_identities(8, np.random.default_rng(0))


def _one_identity(ids, va: list[tuple[float, float]], identity: int = 0) -> np.ndarray:
    v, a = np.array(va, float).T
    return render_faces(v, a, ids, np.full(len(v), identity), jitter=False).astype(np.int16)  # (N, 64, 64, 3)


def _mean_abs_diff(x: np.ndarray, y: np.ndarray, region) -> float:
    return float(np.abs(x[region] - y[region]).mean())


def test_render_is_deterministic_given_seed():
    first = generate_arrays(64, seed=7, n_identities=10)
    second = generate_arrays(64, seed=7, n_identities=10)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    images, emotions, va, identity = first
    assert images.shape == (64, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert emotions.shape == (64,) and va.shape == (64, 2) and identity.shape == (64,)


def test_different_seed_gives_different_faces_and_labels():
    a = generate_arrays(32, seed=1, n_identities=10)
    b = generate_arrays(32, seed=2, n_identities=10)
    assert not np.array_equal(a[0], b[0])
    assert not np.allclose(a[2], b[2])


def test_render_in_batches_equals_one_call(ids):
    rng = np.random.default_rng(3)
    v, a = rng.uniform(-0.7, 0.7, (2, 40))
    idx = rng.integers(0, len(ids), 40)
    whole = render_faces(v, a, ids, idx, np.random.default_rng(5))
    g = np.random.default_rng(5)
    head = render_faces(v[:13], a[:13], ids, idx[:13], g)
    tail = render_faces(v[13:], a[13:], ids, idx[13:], g)
    np.testing.assert_array_equal(whole, np.concatenate([head, tail]))


def test_labels_lie_in_unit_disk_with_valid_categories():
    emotions, va = sample_labels(5000, np.random.default_rng(0))
    assert va.shape == (5000, 2) and emotions.shape == (5000,)
    assert np.all(np.hypot(va[:, 0], va[:, 1]) <= 1.0 + 1e-12)
    assert set(emotions) == set(EMOTIONS)
    # Equal default weights: every category gets a fair share of the 75 % ellipse rows.
    counts = {e: int((emotions == e).sum()) for e in EMOTIONS}
    assert min(counts.values()) > 0.75 * 5000 / 7 * 0.8, counts


def test_uniform_share_gets_category_from_nearest_ellipse():
    emotions, va = sample_labels(3000, np.random.default_rng(1), uniform_share=1.0)
    np.testing.assert_array_equal(emotions, nearest_ellipse(va, affectnet_ellipses()))
    r = np.hypot(va[:, 0], va[:, 1])
    assert (r > 0.9).mean() > 0.15  # uniform over the disk area reaches the rim, unlike the ellipses
    assert abs(np.median(r ** 2) - 0.5) < 0.05  # r^2 ~ U(0, 1) for a uniform disk


def test_ellipse_share_and_class_weights_are_respected():
    emotions, va = sample_labels(2000, np.random.default_rng(2), uniform_share=0.0,
                                 class_weights={"happy": 1.0, **{e: 0.0 for e in EMOTIONS if e != "happy"}})
    assert set(emotions) == {"happy"}
    e = affectnet_ellipses()["happy"]
    d = ((va[:, 0] - e.mu_v) / e.s_v) ** 2 + ((va[:, 1] - e.mu_a) / e.s_a) ** 2
    assert d.max() <= 1.0 + 1e-9  # inside the happy ellipse


def test_sample_labels_rejects_unknown_emotion_and_negative_weight():
    with pytest.raises(ValueError, match="unknown emotion 'joy'"):
        sample_labels(10, np.random.default_rng(0), class_weights={"joy": 1.0})
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        sample_labels(10, np.random.default_rng(0), class_weights={"sad": -1.0})


def test_mouth_changes_with_valence(ids):
    frown, smile = _one_identity(ids, [(-0.9, 0.0), (0.9, 0.0)])
    assert _mean_abs_diff(frown, smile, MOUTH) > 8.0
    assert _mean_abs_diff(frown, smile, (slice(0, 12), slice(None))) == 0.0  # the hair does not care


def test_eyes_and_mouth_change_with_arousal(ids):
    calm, aroused = _one_identity(ids, [(0.0, -0.9), (0.0, 0.9)])
    assert _mean_abs_diff(calm, aroused, EYES) > 5.0
    assert _mean_abs_diff(calm, aroused, MOUTH) > 8.0


def test_expression_features_are_monotone_in_va(ids):
    # Mouth corners rise with valence: the dark lip line's mean row near the corners goes up (smaller row index).
    faces = _one_identity(ids, [(v, 0.0) for v in np.linspace(-0.9, 0.9, 7)])
    lum = faces[:, 36:58, :, :].mean(-1)  # (7, 22, 64)
    corners = np.concatenate([lum[:, :, 23:26], lum[:, :, 38:41]], 2)  # (7, 22, 6): columns near the mouth corners
    darkness = np.clip(lum.max() - corners, 0, None)
    row = (darkness * np.arange(22)[None, :, None]).sum((1, 2)) / darkness.sum((1, 2))
    assert np.all(np.diff(row) < 0), row
    # Eyes open with arousal: fewer skin-like (and more eye-white) pixels in the eye band.
    faces = _one_identity(ids, [(0.0, a) for a in np.linspace(-0.9, 0.9, 7)])
    white = (faces[:, EYES[0], EYES[1]].min(-1) > 200).sum((1, 2))  # (7,)
    assert np.all(np.diff(white) >= 0) and white[-1] > white[0] + 10, white


def test_identity_changes_face_but_not_labels(ids):
    v = np.full(4, 0.3)
    a = np.full(4, -0.2)
    faces = render_faces(v, a, ids, np.arange(4), jitter=False)
    assert all(not np.array_equal(faces[0], faces[i]) for i in range(1, 4))
    # Identity is drawn from its own stream: more identities change who is drawn, never the labels.
    _, e1, va1, id1 = generate_arrays(50, seed=4, n_identities=5)
    _, e2, va2, id2 = generate_arrays(50, seed=4, n_identities=40)
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(va1, va2)
    assert not np.array_equal(id1, id2)


def test_jitter_moves_pose_but_canonical_is_exact(ids):
    v, a, idx = np.zeros(6), np.zeros(6), np.zeros(6, int)
    canon = render_faces(v, a, ids, idx, jitter=False)
    assert all(np.array_equal(canon[0], c) for c in canon)
    jittered = render_faces(v, a, ids, idx, np.random.default_rng(0))
    assert len({j.tobytes() for j in jittered}) == 6
    with pytest.raises(ValueError, match="needs an rng"):
        render_faces(v, a, ids, idx, None, jitter=True)


def test_generate_writes_images_labels_and_parameters(tmp_path):
    out = tmp_path / "synth"
    summary = generate(out, n=30, seed=3, n_identities=6, progress=False)
    assert summary["n"] == 30 and summary["identities"] == 6 and sum(summary["counts"].values()) == 30
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "emotion", "valence", "arousal", "identity"]
    assert len(rows) == 30 and rows[0]["file"] == "images/000000.png" and rows[-1]["file"] == "images/000029.png"
    assert len(rows[0]["valence"].split(".")[1]) == 6
    images, emotions, va, identity = generate_arrays(30, seed=3, n_identities=6)
    for i in (0, 17, 29):
        np.testing.assert_array_equal(np.asarray(Image.open(out / rows[i]["file"])), images[i])
        assert rows[i]["emotion"] == emotions[i] and int(rows[i]["identity"]) == identity[i]
        assert abs(float(rows[i]["valence"]) - va[i, 0]) < 1e-6 and abs(float(rows[i]["arousal"]) - va[i, 1]) < 1e-6
    params = json.loads((out / "dataset.json").read_text())
    assert params["seed"] == 3 and params["n"] == 30 and params["identities"] == 6 and "version" in params
    assert not (out / "labels.csv.tmp").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scripts.make_synthetic", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--n", "0"], "--n must be >= 1"),
    (["--class-weights", "joy=1"], "unknown emotion 'joy'"),
    (["--class-weights", "sad=-2"], "must be a finite number >= 0"),
    (["--uniform-share", "1.5"], "--uniform-share must be in [0, 1]"),
])
def test_cli_rejects_bad_arguments_with_exit_code_2(tmp_path, args, message):
    r = _cli("--out", str(tmp_path / "x"), *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert not (tmp_path / "x").exists()


def test_cli_rejects_out_path_that_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("not a folder")
    r = _cli("--out", str(f), "--n", "2")
    assert r.returncode == 2 and "is not a directory" in r.stderr


def test_cli_writes_small_dataset_and_summary(tmp_path):
    r = _cli("--out", str(tmp_path / "s"), "--n", "12", "--identities", "3", "--class-weights", "happy=2,angry=0",
             "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "faces/s" in r.stdout and "anger" in r.stdout
    with open(tmp_path / "s" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and len(list((tmp_path / "s" / "images").glob("*.png"))) == 12
