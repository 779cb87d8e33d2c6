"""models.eval.projections: t-SNE and PCA of latents, cached in the run folder and reused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from models.eval import projections as pj

ZV, ZA = slice(0, 6), slice(6, 12)


def _clusters(n: int = 300, dims: int = 18, k: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    centres = rng.normal(0, 4, (k, dims))
    return (centres[labels] + rng.normal(0, 1, (n, dims))).astype(np.float32), labels


def _knn_acc(x, labels) -> float:
    half = len(x) // 2
    return KNeighborsClassifier(5).fit(x[:half], labels[:half]).score(x[half:], labels[half:])


def test_tsne_and_pca_keep_clusters_apart_and_are_deterministic():
    x, labels = _clusters()
    t = pj.tsne_2d(x, seed=0)
    assert t.shape == (300, 2) and t.dtype == np.float32 and np.isfinite(t).all()
    assert _knn_acc(t, labels) > 0.95
    np.testing.assert_array_equal(t, pj.tsne_2d(x, seed=0))
    p = pj.pca_2d(x)
    assert p.shape == (300, 2) and p.dtype == np.float32
    assert _knn_acc(p, labels) > 0.95


def test_compute_projections_subsamples_with_the_seed():
    x, _ = _clusters(n=400)
    out = pj.compute_projections(x, ZV, ZA, max_points=250, seed=3)
    ids = out["ids"]
    assert ids.shape == (250,) and len(np.unique(ids)) == 250 and np.all(np.diff(ids) > 0) and ids.max() < 400
    np.testing.assert_array_equal(ids, pj.subsample_ids(400, 250, seed=3))
    for k in ("tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z"):
        assert out[k].shape == (250, 2) and out[k].dtype == np.float32, k
    # pca_v is the PCA of z_v alone: the same as projecting those columns directly
    np.testing.assert_allclose(np.abs(out["pca_v"]), np.abs(pj.pca_2d(x[ids][:, ZV])), atol=1e-4)
    small = pj.compute_projections(x, ZV, ZA, max_points=1000, tsne=False)
    assert len(small["ids"]) == 400 and small["pca_z"].shape == (400, 2) and small["tsne_z"].shape == (0, 2)


def test_projections_are_cached_and_reused_without_recomputing(tmp_path, monkeypatch):
    x, _ = _clusters(n=200)
    first, reused = pj.cached_projections(tmp_path, x, ZV, ZA, max_points=1000)
    assert not reused
    path = tmp_path / pj.PROJECTIONS
    assert path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [pj.PROJECTIONS]  # no temporary file left behind
    with np.load(path, allow_pickle=False) as f:  # plain arrays: loads without pickle
        assert set(f.files) >= set(pj.KEYS) | {"key"}
        np.testing.assert_array_equal(f["tsne_z"], first["tsne_z"])

    def boom(*a, **k):
        raise AssertionError("t-SNE recomputed although the cache matches")

    monkeypatch.setattr(pj, "tsne_2d", boom)
    again, reused = pj.cached_projections(tmp_path, x, ZV, ZA, max_points=1000)
    assert reused
    np.testing.assert_array_equal(again["tsne_v"], first["tsne_v"])
    # a call without t-SNE is served by the cache that has it
    _, reused = pj.cached_projections(tmp_path, x, ZV, ZA, max_points=1000, tsne=False)
    assert reused
    # other latents: the key differs, so it recomputes (and here hits the patched t-SNE)
    with pytest.raises(AssertionError, match="recomputed"):
        pj.cached_projections(tmp_path, x + 1.0, ZV, ZA, max_points=1000)


def test_a_corrupt_or_foreign_cache_is_recomputed(tmp_path):
    x, _ = _clusters(n=120)
    (tmp_path / pj.PROJECTIONS).write_bytes(b"not an npz")
    assert pj.load_projections(tmp_path / pj.PROJECTIONS) is None
    out, reused = pj.cached_projections(tmp_path, x, ZV, ZA, tsne=False)
    assert not reused and out["tsne_v"].shape == (0, 2) and out["pca_z"].shape == (120, 2)
    assert pj.load_projections(tmp_path / pj.PROJECTIONS, key="0" * 16) is None


def test_bench_tsne_prints_its_figure_beside_the_sklearn_baseline():
    import re
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "scripts.bench.tsne", "--n", "300", "--sklearn-n", "300"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r"^FIGURE tsne_300_s (\S+)  \(sklearn Barnes-Hut on the same points: (\S+) s", r.stdout, re.M)
    assert m, r.stdout
    assert float(m.group(1)) > 0 and float(m.group(2)) > 0


def test_bench_tsne_export_places_points_into_fitted_maps_and_says_how_well():
    import re
    import subprocess
    import sys

    from tests.conftest import ROOT

    r = subprocess.run([sys.executable, "-m", "scripts.bench.tsne", "--export", "2000", "--fit", "500"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r"^FIGURE tsne_2k_min (\S+) .* of 1,500 placed points (\S+) beside 500 fitted ones (\S+);",
                  r.stdout, re.M)
    assert m, r.stdout
    assert float(m[1]) >= 0 and float(m[2]) > 0.8 and float(m[3]) > 0.8  # the mixture's clusters survive placing


def test_a_map_larger_than_the_fit_places_the_rest_into_the_fitted_map():
    x, labels = _clusters(n=1200)
    t = pj.tsne_2d(x, seed=0, fit_max=300)  # fitted on 300, the other 900 placed by transform
    assert t.shape == (1200, 2) and np.isfinite(t).all()
    fit = pj.subsample_ids(1200, 300, seed=0)
    placed = np.setdiff1d(np.arange(1200), fit)
    nn = KNeighborsClassifier(5).fit(t[fit], labels[fit])
    assert nn.score(t[placed], labels[placed]) > 0.95  # a placed point lands among the fitted points of its cluster
    np.testing.assert_array_equal(t, pj.tsne_2d(x, seed=0, fit_max=300))


def test_an_interrupted_computation_resumes_from_its_finished_maps(tmp_path, monkeypatch):
    x, _ = _clusters(n=400)
    calls = []
    real = pj.tsne_2d

    def dies_on_the_second(z, **kw):
        calls.append(len(z))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the export is killed during its second t-SNE map
        return real(z, **kw)

    monkeypatch.setattr(pj, "tsne_2d", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        pj.cached_projections(tmp_path, x, ZV, ZA)
    partial = tmp_path / pj.PROJECTIONS_PARTIAL
    with np.load(partial) as f:
        done = {k for k in f.files if k.startswith(("pca", "tsne"))}
    assert done == {"pca_v", "pca_a", "pca_z", "tsne_v"}  # what finished before the kill
    monkeypatch.setattr(pj, "tsne_2d", lambda z, **kw: (calls.append(len(z)), real(z, **kw))[1])
    out, reused = pj.cached_projections(tmp_path, x, ZV, ZA)
    assert not reused and len(calls) == 4  # only tsne_a and tsne_z were computed again
    assert not partial.exists() and out["tsne_v"].shape == (400, 2)
    pj.save_projections(partial, out, "another-key")  # maps made for other latents, left behind
    assert pj._partial_maps(partial, "another-key") and pj._partial_maps(partial, "this-key") == {}
