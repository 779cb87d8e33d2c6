"""Annotation transfer: ellipse sampling, statistics, nearest ellipse, and the script."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from models.data.emotions import AFFECTNET_STATS
from models.data.transfer import (
    UnknownEmotionError,
    affectnet_ellipses,
    ellipses_from_labels,
    nearest_ellipse,
    sample_in_ellipses,
    to_discrete,
)
from tests.conftest import ROOT


@pytest.mark.parametrize("emotion", sorted(AFFECTNET_STATS))
def test_samples_are_uniform_over_each_ellipse_area(emotion):
    ell = affectnet_ellipses()
    va, keep = sample_in_ellipses([emotion] * 20000, ell, np.random.default_rng(0))
    assert keep.all()
    e = ell[emotion]
    q = ((va[:, 0] - e.mu_v) / e.s_v) ** 2 + ((va[:, 1] - e.mu_a) / e.s_a) ** 2
    assert q.max() <= 1 + 1e-9  # inside the ellipse
    assert stats.kstest(q, "uniform").pvalue > 1e-3  # uniform in area <=> q ~ U(0, 1)
    # the angle is uniform too: equal counts in each quadrant around the centre
    quad = (va[:, 0] > e.mu_v).astype(int) * 2 + (va[:, 1] > e.mu_a)
    counts = np.bincount(quad, minlength=4)
    assert counts.min() > 0.23 * len(va)


def test_discrete_values_are_integers_in_range():
    va, _ = sample_in_ellipses(list(AFFECTNET_STATS) * 1000, affectnet_ellipses(), np.random.default_rng(1))
    d = to_discrete(va)
    assert d.dtype.kind == "i" and d.min() >= -10 and d.max() <= 10
    assert np.abs(d - va * 10).max() <= 0.5 + 1e-9
    assert to_discrete(np.array([[1.0, -1.0], [0.04, -0.05]])).tolist() == [[10, -10], [0, 0]]


def test_class_without_statistics_is_an_error_naming_it():
    with pytest.raises(UnknownEmotionError, match=r"'contempt' \(2 rows\); first at row 1"):
        sample_in_ellipses(["happy", "contempt", "contempt"], affectnet_ellipses(), np.random.default_rng(0))
    va, keep = sample_in_ellipses(["happy", "contempt"], affectnet_ellipses(), np.random.default_rng(0),
                                  drop_unknown=True)
    assert keep.tolist() == [True, False] and np.isnan(va[1]).all() and np.isfinite(va[0]).all()


def test_statistics_from_a_labelled_dataset_recover_its_ellipses():
    rng = np.random.default_rng(2)
    emo = ["happy"] * 5000 + ["sad"] * 5000
    v = np.r_[rng.normal(0.5, 0.1, 5000), rng.normal(-0.4, 0.2, 5000)]
    a = np.r_[rng.normal(0.1, 0.05, 5000), rng.normal(-0.3, 0.1, 5000)]
    ell = ellipses_from_labels(emo, v, a)
    assert set(ell) == {"happy", "sad"}
    assert ell["happy"].mu_v == pytest.approx(v[:5000].mean()) and ell["sad"].s_a == pytest.approx(a[5000:].std(ddof=1))
    assert ell["happy"].n == 5000


def test_nearest_ellipse_of_each_centre_is_its_own_class():
    ell = affectnet_ellipses()
    centres = np.array([[e.mu_v, e.mu_a] for e in ell.values()])
    assert nearest_ellipse(centres, ell).tolist() == list(ell)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "scripts.transfer_annotations", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_script_writes_va_and_refuses_unknown_class(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "labels.csv").write_text("file,emotion\na.png,happy\nb.png,Angry\nc.png,contempt\n")
    (src / "meta.csv").write_text("file,subject\na.png,S1\nb.png,S2\nc.png,S2\n")
    r = _run("--labels", str(src / "labels.csv"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "contempt" in r.stderr and "--drop-unknown" in r.stderr
    assert not (tmp_path / "out" / "labels.csv").exists()
    r = _run("--labels", str(src / "labels.csv"), "--out", str(tmp_path / "out"), "--drop-unknown", "--discrete",
             "--join", str(src / "meta.csv"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "out" / "labels.csv")))
    assert [r["emotion"] for r in rows] == ["happy", "anger"]
    assert [r["subject"] for r in rows] == ["S1", "S2"]
    assert (tmp_path / "out" / rows[0]["file"]).resolve() == (src / "a.png").resolve()
    for row in rows:
        assert -10 <= int(row["valence_10"]) <= 10 and float(row["valence"]) * 10 == int(row["valence_10"])
    assert "dropped" in r.stdout


def test_script_reports_missing_emotion_column(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label\na.png,happy\n")
    r = _run("--labels", str(tmp_path / "labels.csv"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "missing column(s) emotion" in r.stderr
