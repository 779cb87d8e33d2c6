"""2-D projections of a run's latents (t-SNE and PCA of z_v, z_a and all of z), cached in the run folder.

t-SNE uses openTSNE (FFT-interpolated gradients, Linderman et al. 2019) rather than scikit-learn's Barnes-Hut: on this
2-core machine openTSNE embedded 30,000 points in 54 s on one thread while two training jobs held both cores, and on
10,000 points it was 2.6x faster than Barnes-Hut with the same settings (``python -m scripts.bench.tsne``).
Settings, all openTSNE's defaults except where noted, and why:
  * PCA to at most 50 dims first (the usual t-SNE preprocessing: keeps the neighbour search cheap, drops noise dims);
  * perplexity 30 (the field's default; the 90-neighbour kNN graph is found with Annoy, approximate but ample);
  * PCA initialisation (Kobak & Berens 2019: keeps global structure and makes the result deterministic for a seed);
  * early exaggeration 12 for 250 iterations, then 350 normal iterations (openTSNE: 500; at 30,000 points 48 s instead
    of 66 s on 2 cores, the same 10-NN label accuracy 0.994), learning rate N / exaggeration (Belkina et al. 2019);
  * FFT interpolation intervals 2 units wide instead of 1 (ints_in_interval=2): as a map of real latents expands (to
    ~180 units across for 20,000 z_v), the default grid's FFT comes to dominate each iteration. On the synthetic LeVAsa
    run's z_v (20,000 points, 1 thread) the coarser grid took 35 s instead of 79 s and kept 44.9% of each point's 10
    nearest input-space neighbours instead of 46.1%;
  * Annoy with 20 trees instead of openTSNE's 50 for the neighbour search: at 30,000 points 6 s instead of 22 s
    (1 thread), recall of the exact 90 neighbours 0.84 instead of 0.94, and the same final map quality (10-NN
    preservation 0.676 vs 0.673 on the vanilla run's 20,000 latents): the missed neighbours carry little affinity.
For fewer than 10,000 points openTSNE's Barnes-Hut gradients are the faster choice (its own "auto" rule).
Beyond TSNE_FIT_MAX points (an AffectNet-sized map of 400,000) the map is fitted on a seeded subsample of that many and
every other point is placed into it with openTSNE's ``transform`` (its neighbours among the fitted points, then a
short optimisation against the fixed map), in chunks with progress: the cost of the fit stops growing with N.
Each finished map is kept in RUN/projections.partial.npz under the same cache key, so an interrupted export resumes
from the maps it had finished.

projections.npz holds ids (row indices into the dataset, subsampled with the seed when N > max_points), tsne_v,
tsne_a, tsne_z, pca_v, pca_a, pca_z (float32 (n, 2)) and a cache key (a hash of the latents and settings), written
atomically and read back without pickle, so evaluation computes it once and the server only reads it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from models.io import save_npz
from models.runs import PROJECTIONS, PROJECTIONS_PARTIAL

PROJ_VERSION = 2  # bump when the settings below change: old caches are then recomputed
PERPLEXITY = 30.0
PCA_DIMS = 50
TSNE_FIT_MAX = 50_000  # points a t-SNE map is fitted on; the rest are placed into it (transform)
TRANSFORM_CHUNK = 25_000  # points placed per transform call (a progress step)
KEYS = ("ids", "tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z")


def _threads() -> int:
    """Worker threads for openTSNE: the cores, unless OMP_NUM_THREADS asks for fewer."""
    n = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(n, int(env))) if env.isdigit() else n


def _pca(x: np.ndarray, dims: int, seed: int = 0) -> np.ndarray:
    from sklearn.decomposition import PCA

    x = np.asarray(x, np.float32)
    k = min(dims, x.shape[1], x.shape[0])
    return PCA(k, random_state=seed).fit_transform(x).astype(np.float32)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """(N, d) -> (N, 2) float32, the first two principal components."""
    x = np.asarray(x, np.float32)
    assert x.ndim == 2 and len(x) >= 2, f"expected (N >= 2, d), got {x.shape}"
    out = _pca(x, 2)
    if out.shape[1] < 2:  # a 1-dim input: pad so every projection has two columns
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def tsne_2d(x: np.ndarray, seed: int = 0, n_jobs: int | None = None, fit_max: int = TSNE_FIT_MAX,
            progress: bool = False) -> np.ndarray:
    """(N, d) -> (N, 2) float32 t-SNE embedding (openTSNE, settings in the module docstring); past ``fit_max``
    points, fitted on a seeded subsample and the rest placed into that map."""
    x = np.asarray(x, np.float32)
    assert x.ndim == 2 and len(x) >= 4, f"expected (N >= 4, d), got {x.shape}"
    z = _pca(x, PCA_DIMS, seed) if x.shape[1] > PCA_DIMS else x
    if len(z) <= fit_max:
        return np.asarray(_fit(z, seed, n_jobs), np.float32)
    fit_idx = subsample_ids(len(z), fit_max, seed)
    emb = _fit(z[fit_idx], seed, n_jobs)
    out = np.empty((len(z), 2), np.float32)
    out[fit_idx] = emb
    rest = np.setdiff1d(np.arange(len(z)), fit_idx)
    chunks = [rest[i : i + TRANSFORM_CHUNK] for i in range(0, len(rest), TRANSFORM_CHUNK)]
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc=f"t-SNE: placing {len(rest):,} points", unit="chunk", leave=False)
    for idx in chunks:
        out[idx] = np.asarray(emb.transform(z[idx].astype(np.float64)), np.float32)
    return out


def _fit(z: np.ndarray, seed: int, n_jobs: int | None):
    """The openTSNE embedding of z (an array-like TSNEEmbedding, which can place new points)."""
    from openTSNE import TSNE

    perplexity = min(PERPLEXITY, (len(z) - 1) / 3.0)  # openTSNE needs 3 * perplexity neighbours
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        initialization="pca",
        early_exaggeration=12,
        early_exaggeration_iter=250,
        n_iter=350,  # 350 after exaggeration (openTSNE: 500): converged maps at 30k, and inside the 60 s budget
        learning_rate="auto",
        neighbors="annoy" if len(z) > 1000 else "exact",
        negative_gradient_method="fft" if len(z) >= 10000 else "bh",  # FFT pays off from ~10k (openTSNE auto)
        ints_in_interval=2,  # a coarser FFT grid: 2x faster on expanded maps, see the module docstring
        knn_kwargs={"n_trees": 20} if len(z) > 1000 else None,  # Annoy: 3.5x faster at 30k, same map quality
        n_jobs=n_jobs or _threads(),
        random_state=seed,
        verbose=False,
    )
    return tsne.fit(z.astype(np.float64))


def cache_key(mu: np.ndarray, zv_slice: slice, za_slice: slice, max_points: int, seed: int, tsne: bool) -> str:
    """Hash of the latents and every setting that changes the result."""
    mu = np.ascontiguousarray(mu, np.float32)
    fit = f":fit{TSNE_FIT_MAX}" if tsne and min(len(mu), max_points) > TSNE_FIT_MAX else ""  # smaller maps: as before
    h = hashlib.sha1(f"proj-v{PROJ_VERSION}:{mu.shape}:{zv_slice}:{za_slice}:{max_points}:{seed}:{tsne}{fit}".encode())
    h.update(mu.tobytes())
    return h.hexdigest()[:16]


def subsample_ids(n: int, max_points: int, seed: int = 0) -> np.ndarray:
    """All row indices, or a seeded sorted subset of max_points of them."""
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False)).astype(np.int64)


def compute_projections(
    mu: np.ndarray,
    zv_slice: slice,
    za_slice: slice,
    *,
    max_points: int = 30000,
    seed: int = 0,
    tsne: bool = True,
    progress: bool = False,
    partial: Path | None = None,
    key: str = "",
    fit_max: int = TSNE_FIT_MAX,
) -> dict[str, np.ndarray]:
    """ids plus t-SNE and PCA of z_v, z_a and all z. With tsne=False the tsne_* arrays are empty (0, 2).
    With ``partial`` every finished map is saved there under ``key``, and maps found there under it are reused."""
    mu = np.asarray(mu, np.float32)
    ids = subsample_ids(len(mu), max_points, seed)
    x = mu[ids]
    parts = {"v": x[:, zv_slice], "a": x[:, za_slice], "z": x}
    out: dict[str, np.ndarray] = {"ids": ids, **_partial_maps(partial, key)}
    steps = [(f"{kind}_{c}", kind, c) for kind in ("pca", "tsne") for c in parts if kind == "pca" or tsne]
    it = [s for s in steps if s[0] not in out]
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"projections ({len(ids):,} latents)", unit="map", initial=len(steps) - len(it),
                  total=len(steps))
    for name, kind, c in it:
        out[name] = pca_2d(parts[c]) if kind == "pca" else tsne_2d(parts[c], seed=seed, fit_max=fit_max,
                                                                                progress=progress)
        if partial is not None:
            save_npz(partial, key=np.array(key), **out)
    for c in parts:
        out.setdefault(f"tsne_{c}", np.zeros((0, 2), np.float32))
    return out


def _partial_maps(partial: Path | None, key: str) -> dict[str, np.ndarray]:
    """The maps an interrupted computation with this key finished (none when the file is absent or for others)."""
    if partial is None or not Path(partial).is_file():
        return {}
    try:
        with np.load(partial, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return {}
            return {k: f[k] for k in f.files if k in KEYS and k != "ids"}
    except (OSError, ValueError, KeyError):
        return {}


def save_projections(path: Path, proj: dict[str, np.ndarray], key: str) -> None:
    """Write the arrays and their cache key atomically (temp file + os.replace), plain arrays only (no pickle)."""
    path = Path(path)
    arrays = {k: np.asarray(proj[k]) for k in KEYS}
    assert all(v.dtype != object for v in arrays.values()), "object arrays would need pickle"
    save_npz(path, key=np.array(key), **arrays)


def load_projections(path: Path, key: str | None = None) -> dict[str, np.ndarray] | None:
    """The cached projections, or None when missing, unreadable or made for other latents (key differs)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if key is not None and str(f["key"]) != key:
                return None
            return {k: f[k] for k in (*KEYS, "key")}
    except (OSError, ValueError, KeyError):
        return None


def cached_projections(
    run_dir: Path,
    mu: np.ndarray,
    zv_slice: slice,
    za_slice: slice,
    *,
    max_points: int = 30000,
    seed: int = 0,
    tsne: bool = True,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], bool]:
    """RUN/projections.npz when its key matches these latents, else computed and saved. Returns (arrays, reused)."""
    path = Path(run_dir) / PROJECTIONS  # the file name's owner: models.runs
    key = cache_key(mu, zv_slice, za_slice, max_points, seed, tsne)
    # A cache with t-SNE also serves a call without it (its PCA arrays are the same).
    for k in (key,) if tsne else (cache_key(mu, zv_slice, za_slice, max_points, seed, True), key):
        hit = load_projections(path, k)
        if hit is not None:
            return hit, True
    partial = Path(run_dir) / PROJECTIONS_PARTIAL
    proj = compute_projections(mu, zv_slice, za_slice, max_points=max_points, seed=seed, tsne=tsne,
                               progress=progress, partial=partial, key=key)
    save_projections(path, proj, key)
    partial.unlink(missing_ok=True)
    return proj | {"key": np.array(key)}, False
