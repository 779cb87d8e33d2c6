"""Serving at the field's scale: a runs folder of 4 runs x 400,000 points (AffectNet's size), started by a real server.

    python -m scripts.bench.scale                 # 4 runs x 400,000 points (builds bench-out/scale-400000 once)
    python -m scripts.bench.scale --quick         # CI: 4 runs x 20,000 points
    python -m scripts.bench.scale --points N --runs K --run runs/X

Each run is a copy of a trained run's model (the demo's LeVAsa, or --run) with latents, projections and thumbnails of
N points, made up here (random latents and coordinates; the thumbnails are the trained run's own faces, repeated), so
only the storage is measured, not the model. All runs share one thumbnail store, as runs of one dataset do.
Figures:
  startup_4x400k_s       process start to /api/ready with every run loaded (target <= 3), beside the same server
                         with an empty runs folder (Python, torch and the app alone)
  worker_rss_4x400k_mib  the worker's resident memory once ready (its private part beside it: mapped file pages are
                         shared and evictable)
  proj_bytes_per_point   the point data the page's first paint fetches (one view's x and y, the emotion codes) per
                         point (target <= 9), beside the gzipped JSON columns per point; the columns' manifest rides
                         in the run's detail, which the page fetches anyway (its size is printed beside)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from models.eval.export import ensure_exported
from models.io import save_npz
from models.runs import CONFIG, LATENTS, PROJECTIONS, WEIGHTS
from models.thumbstore import open_store, store_dir, write_pointer
from scripts.bench.serve import ROOT, bench_run, start_server, stop_server

PROJ = ("tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z")


def build_runs(src: Path, out: Path, n: int, k: int, at_least: bool = False) -> Path:
    """OUT/runs: k runs of n points each, copies of ``src``'s model; reused when already built for this size (with
    ``at_least``, also when it holds more runs than k)."""
    runs = out / "runs"
    if (runs / ".complete").is_file():
        built = json.loads((runs / ".complete").read_text())
        if built["n"] == n and (built["k"] == k or (at_least and built["k"] > k)):
            return runs
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    key = hashlib.sha1(f"scale-{n}-{src}".encode()).hexdigest()[:16]
    _tiled_store(open_store(src), store_dir(runs, key), n)
    dim = json.loads((src / CONFIG).read_text())["model"]
    dim = dim["zv_dim"] + dim["za_dim"] + dim["zz_dim"]
    for r in range(k):
        run = runs / f"scale{r}"
        run.mkdir()
        for f in (CONFIG, WEIGHTS):
            shutil.copy2(src / f, run / f)
        _fake_exports(run, n, dim, seed=r)
        write_pointer(run, key, n)
    (runs / ".complete").write_text(json.dumps({"n": n, "k": k}))
    return runs


def _tiled_store(th, folder: Path, n: int) -> None:
    """n faces: the trained run's thumbnails end to end, repeated."""
    lens = np.diff(np.asarray(th.offsets))
    reps = -(-n // len(lens))
    lens_n = np.tile(lens, reps)[:n]
    offsets = np.concatenate([[0], np.cumsum(lens_n)]).astype(np.int64)
    data = np.tile(np.asarray(th.data), reps)[: offsets[-1]]
    folder.mkdir(parents=True)
    np.save(folder / "data.npy", data)
    np.save(folder / "offsets.npy", offsets)


def _fake_exports(run: Path, n: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    f32 = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    save_npz(run / LATENTS, ids=np.arange(n, dtype=np.int64), mu=f32(n, dim),
             va_label=rng.uniform(-1, 1, (n, 2)).astype(np.float32),
             va_head=rng.uniform(-1, 1, (n, 2)).astype(np.float32),
             emotion=rng.integers(0, 8, n).astype(np.int64), split=np.where(rng.random(n) < 0.9, "train", "val"),
             files=np.char.add("images/", np.char.zfill(np.arange(n).astype(str), 6)), recon_mse=f32(n))
    save_npz(run / PROJECTIONS, key=np.array(f"scale-{seed}"), ids=np.arange(n, dtype=np.int64),
             **{k: f32(n, 2) * 30 for k in PROJ})


def _started(runs: Path, log: Path) -> tuple[float, object, str, int]:
    """Seconds from the process start to its first answer (the app answers only once every run is loaded); the
    process and URL (still running) and /api/ready's status (200 with a run serving, 503 with none)."""
    t0 = time.perf_counter()
    proc, url = start_server(runs, log_path=log, timeout=300)
    took = time.perf_counter() - t0
    try:
        with urllib.request.urlopen(url + "/api/ready", timeout=30) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return took, proc, url, status


def _rss(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) in MiB: all resident pages, and the private ones (mapped file pages not counted)."""
    got = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                got[k] = int(v.split()[0]) / 1024
    return got["VmRSS"], got["RssAnon"]


def _get(url: str, gz: bool = False) -> bytes:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gz else {})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def first_paint_bytes(url: str, run: str) -> tuple[int, int, int]:
    """What the page's first paint fetches, as the page does: the run's detail (its manifest rides there, and the page
    needs the detail anyway), then label_v, label_a and emotion (and ids when the map is a subsample).
    Returns (column bytes, points, detail bytes)."""
    detail = _get(f"{url}/api/runs/{run}")
    man = json.loads(detail)["columns"]
    names = ["label_v", "label_a", "emotion"] + ([] if man["ids_are_rows"] else ["ids"])
    cols = {k: _get(url + man["columns"][k]["url"]) for k in names}
    assert len(cols["label_v"]) == 4 * man["n"], "a float32 column holds 4 bytes a point"
    return sum(len(b) for b in cols.values()), man["n"], len(detail)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 20,000 points a run (default 400,000)")
    p.add_argument("--points", type=int, help="points per run (default 400,000; quick 20,000)")
    p.add_argument("--runs", type=int, default=4, help="runs in the folder (default 4)")
    p.add_argument("--run", type=Path, help="the trained run to copy (default runs/levasa, trained if missing)")
    args = p.parse_args(argv)
    n = args.points if args.points is not None else (20_000 if args.quick else 400_000)
    if n < 1 or args.runs < 1:
        print(f"error: --points and --runs must be >= 1, got {n} and {args.runs}", file=sys.stderr)
        return 2
    src = bench_run(args.quick, args.run)
    if src is None:
        return 2
    ensure_exported(src)  # its thumbnails are the fixture's faces
    out = ROOT / "bench-out" / f"scale-{n}"
    t0 = time.perf_counter()
    runs = build_runs(src, out, n, args.runs)
    print(f"runs folder {runs}: {args.runs} runs x {n:,} points ({time.perf_counter() - t0:.1f} s to build or find)")
    empty = out / "empty"
    empty.mkdir(exist_ok=True)
    base_s, proc, _, _ = _started(empty, out / "empty.log")
    stop_server(proc)
    start_s, proc, url, ready = _started(runs, out / "server.log")
    try:
        if ready != 200:
            print(f"error: the server is not ready with {runs} (log: {out / 'server.log'})", file=sys.stderr)
            return 1
        rss, anon = _rss(proc.pid)
        paint, points, detail = first_paint_bytes(url, "scale0")
        t1 = time.perf_counter()
        gz = _get(f"{url}/api/runs/scale0/projections", gz=True)
        json_s = time.perf_counter() - t1
        thumb = _get(f"{url}/api/runs/scale0/samples/{n - 1}/thumbnail")
        assert thumb[:2] == b"\xff\xd8", "the last face's thumbnail is a JPEG"
        rss_after, anon_after = _rss(proc.pid)
    finally:
        stop_server(proc)
    tag = f"{args.runs} runs x {n:,} points"
    print(f"FIGURE startup_4x400k_s {start_s:.2f}  (target <= 3; {tag}; the same server with no runs {base_s:.2f} s)")
    print(f"FIGURE worker_rss_4x400k_mib {rss:.0f}  ({tag}; private {anon:.0f} MiB; after the first paint's columns, "
          f"the JSON and a thumbnail: {rss_after:.0f} MiB, private {anon_after:.0f})")
    print(f"FIGURE proj_bytes_per_point {paint / points:.2f}  (target <= 9; plus the run's detail, {detail:,} bytes, "
          f"which carries the manifest; the gzipped JSON columns "
          f"{len(gz) / points:.1f} bytes a point ({len(gzip.decompress(gz)) / points:.0f} inflated), built on its "
          f"first request in {json_s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
