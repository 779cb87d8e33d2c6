"""t-SNE of 30,000 latents: the time of models.projections.tsne_2d (openTSNE, FFT-interpolated) against scikit-learn's
Barnes-Hut t-SNE with the same settings on the same points.

    python -m scripts.bench.tsne                 # 30,000 points; the sklearn baseline on 10,000 of them
    python -m scripts.bench.tsne --quick         # CI: 3,000 points, both libraries on all of them
    python -m scripts.bench.tsne --sklearn-n 30000   # the full sklearn baseline (several minutes on 2 cores)
    python -m scripts.bench.tsne --export 400000     # a run's six maps (PCA and t-SNE of z_v, z_a, z) of 400,000
                                                     # latents as an export makes them (fit 50,000, place the rest)

The data: real latents (--latents RUN/latents.npz, rows repeated with small noise up to N when the run has fewer), or by
default a seeded 96-dim Gaussian mixture (20 components whose centres lie closer than the within-cluster spread, so
the clusters touch in the input space). Quality is the 10-nearest-neighbour accuracy of the mixture labels in the 2-D
map (half the points predict the other half), beside the same in the 96-dim input: a map that tears or merges clusters
scores lower.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def mixture(n: int, dims: int = 96, k: int = 20, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 0.6, (k, dims))
    labels = rng.integers(0, k, n)
    scale = rng.uniform(0.6, 1.2, k)[labels, None]  # clusters of different spread
    return (centres[labels] + scale * rng.normal(0.0, 1.0, (n, dims))).astype(np.float32), labels


def knn_accuracy(x, labels, k: int = 10) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    half = len(x) // 2
    return float(KNeighborsClassifier(k).fit(x[:half], labels[:half]).score(x[half:], labels[half:]))


def sklearn_tsne(x, seed: int = 0, threads: int = 1):
    """scikit-learn Barnes-Hut with the settings of models.projections.tsne_2d (PCA to 50 dims, perplexity 30, PCA
    init, early exaggeration 12 for 250 iterations, 750 in all; sklearn's own 'auto' learning rate)."""
    import numpy as np
    from sklearn.manifold import TSNE

    from models.eval.projections import PCA_DIMS, _pca

    z = _pca(x, PCA_DIMS, seed) if x.shape[1] > PCA_DIMS else x
    t = TSNE(2, perplexity=30.0, early_exaggeration=12.0, learning_rate="auto", max_iter=750, init="pca",
             method="barnes_hut", angle=0.5, random_state=seed, n_jobs=threads)
    return np.asarray(t.fit_transform(z), np.float32)


def timed(fn, *a, **kw):
    """(result, wall seconds, CPU seconds of this process, all threads): CPU time shows what a busy machine hides."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.tsne", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3,000 points (CI)")
    p.add_argument("--n", type=int, default=None, help="points to embed (default 30000, or 3000 with --quick)")
    p.add_argument("--sklearn-n", type=int, default=None,
                   help="points for the sklearn baseline (default 10000, or all of --n with --quick)")
    p.add_argument("--latents", type=Path, default=None, help="a run's latents.npz instead of the Gaussian mixture")
    p.add_argument("--seed", type=int, default=0, help="seed")
    p.add_argument("--export", type=int, default=None, metavar="N",
                   help="time an export's six maps of N mixture latents instead (FIGURE tsne_<N/1000>k_min)")
    p.add_argument("--fit", type=int, default=None, help="with --export: points each t-SNE map is fitted on "
                   "(default models.eval.projections.TSNE_FIT_MAX, 50000)")
    args = p.parse_args(argv)
    if args.export is not None:
        return export_maps(args.export, args.seed, args.fit)

    import numpy as np

    from models.eval.projections import _threads, tsne_2d

    n = args.n or (3000 if args.quick else 30000)
    n_sk = min(n, args.sklearn_n or (n if args.quick else 10000))
    if args.latents:
        try:
            with np.load(args.latents, allow_pickle=False) as f:
                mu, labels = f["mu"], f["emotion"]
        except (OSError, KeyError, ValueError) as e:
            print(f"error: cannot read latents from {args.latents}: {e}", file=sys.stderr)
            return 2
        rng = np.random.default_rng(args.seed)
        idx = rng.choice(len(mu), n, replace=n > len(mu))
        x = mu[idx] + (0.01 * mu.std(0) * rng.normal(size=(n, mu.shape[1]))).astype(np.float32)
        x, labels, source = x.astype(np.float32), labels[idx], f"latents of {args.latents}"
    else:
        x, labels = mixture(n, seed=args.seed)
        source = "a 96-dim Gaussian mixture (20 components)"
    threads = _threads()
    print(f"t-SNE of {n:,} points from {source}, {threads} thread(s)")

    load = os.getloadavg()[0]
    emb, t_ours, cpu_ours = timed(tsne_2d, x, seed=args.seed)
    q_in, q_ours = knn_accuracy(x, labels), knn_accuracy(emb, labels)
    xs, ls = x[:n_sk], labels[:n_sk]
    if n_sk == n:
        t_ours_sk, q_ours_sk = t_ours, q_ours
    else:
        emb_s, t_ours_sk, _ = timed(tsne_2d, xs, seed=args.seed)
        q_ours_sk = knn_accuracy(emb_s, ls)
    print(f"sklearn Barnes-Hut on {n_sk:,} points ...", flush=True)
    emb_sk, t_sk, _ = timed(sklearn_tsne, xs, seed=args.seed, threads=threads)
    q_sk = knn_accuracy(emb_sk, ls)

    rows = [
        (f"openTSNE, {n:,} points", f"{t_ours:7.1f} s",
         f"10-NN label accuracy {q_ours:.3f} (input space {q_in:.3f}); CPU {cpu_ours:.1f} s"),
    ]
    if n_sk != n:
        rows.append((f"openTSNE, {n_sk:,} points", f"{t_ours_sk:7.1f} s", f"10-NN label accuracy {q_ours_sk:.3f}"))
    rows.append((f"sklearn Barnes-Hut, {n_sk:,} points", f"{t_sk:7.1f} s", f"10-NN label accuracy {q_sk:.3f}"))
    w = max(len(r[0]) for r in rows)
    print()
    for name, t, q in rows:
        print(f"  {name:<{w}}  {t}   {q}")
    print()
    name = "tsne_30k_s" if n == 30000 else f"tsne_{n // 1000}k_s" if n % 1000 == 0 else f"tsne_{n}_s"
    scope = "the same points" if n_sk == n else f"{n_sk:,} of the same points (sklearn on {n:,} not run: minutes)"
    print(f"FIGURE {name} {t_ours:.1f}  (sklearn Barnes-Hut on {scope}: {t_sk:.1f} s vs openTSNE {t_ours_sk:.1f} s "
          f"on them, {t_sk / t_ours_sk:.1f}x; {threads} thread(s), CPU {cpu_ours:.1f} s, load average {load:.1f} "
          f"before; 10-NN label accuracy {q_ours:.2f} vs sklearn {q_sk:.2f})")
    return 0


def export_maps(n: int, seed: int, fit_max: int | None = None) -> int:
    """An export's projections of n latents (models.eval.projections.compute_projections, every point kept): the wall
    time, and how well the points placed into each fitted t-SNE map keep their neighbours' labels beside the fitted
    points' own."""
    import numpy as np

    from models.eval.projections import TSNE_FIT_MAX, compute_projections, subsample_ids

    fit_max = fit_max or TSNE_FIT_MAX
    if n < 10 or fit_max < 10:
        print(f"error: --export and --fit need at least 10 points, got {n} and {fit_max}", file=sys.stderr)
        return 2
    x, labels = mixture(n, seed=seed)
    print(f"an export's six maps of {n:,} latents (96 dims: z_v 32, z_a 32, z_z 32), t-SNE fitted on "
          f"{min(n, fit_max):,}", flush=True)
    proj, wall, cpu = timed(compute_projections, x, slice(0, 32), slice(32, 64), max_points=n, seed=seed,
                            progress=True, fit_max=fit_max)
    fit = subsample_ids(n, min(n, fit_max), seed)
    placed = np.setdiff1d(np.arange(n), fit)
    rng = np.random.default_rng(seed)
    probe = lambda idx: np.sort(rng.choice(idx, min(len(idx), 20000), replace=False))
    f_idx, p_idx = probe(fit), probe(placed) if len(placed) else fit[:0]
    q_fit = knn_accuracy(proj["tsne_z"][f_idx], labels[f_idx])
    q_placed = knn_accuracy(proj["tsne_z"][p_idx], labels[p_idx]) if len(p_idx) > 20 else float("nan")
    name = f"tsne_{n // 1000}k_min" if n % 1000 == 0 else f"tsne_{n}_min"
    print(f"FIGURE {name} {wall / 60:.2f}  (target <= 30 at 400,000; six maps, CPU {cpu / 60:.1f} min; t-SNE of z: "
          f"10-NN label accuracy of {len(p_idx):,} placed points {q_placed:.3f} beside {len(f_idx):,} fitted ones "
          f"{q_fit:.3f}; load average {os.getloadavg()[0]:.1f} after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
