"""A 400,000-face run end to end on this machine: synthetic faces drawn into one packed store, then encoded by a
trained run and exported for the explorer (latents, thumbnails, t-SNE and PCA of every face).

    python -m scripts.bench.bigrun             # 400,000 faces (bench-out/bigrun-400000; the faces are kept)
    python -m scripts.bench.bigrun --quick     # CI: 3,000 faces and a 1-epoch run
    python -m scripts.bench.bigrun --faces N --run runs/X

Figures:
  synth_pack_faces_s   faces per second the generator draws into the packed store (models/data/packed.py); beside
                       it the same generator writing one PNG a face, 2,000 faces in this run
  export_400k_min      minutes from the packed faces to a served run: read, encode, thumbnails, projections (each
                       stage's time beside); the faces are drawn once and kept, the export is timed every run
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.frontend import unseen_faces, unseen_run
from scripts.bench.serve import ROOT, bench_run, start_server, stop_server


def png_rate(n: int = 2000) -> float:
    """Faces per second of the same generator writing PNGs (the baseline), in a temporary folder."""
    from models.data.synthetic import generate

    with tempfile.TemporaryDirectory() as tmp:
        return n / generate(Path(tmp), n=n, seed=7, progress=False)["seconds"]


def served_points(runs: Path, name: str) -> int:
    """What a real server says the run's map holds, once started on the exported run."""
    import json
    import urllib.request

    proc, url = start_server(runs, log_path=runs.parent / "server.log", timeout=300)
    try:
        with urllib.request.urlopen(f"{url}/api/runs/{name}/columns", timeout=60) as r:
            return int(json.loads(r.read())["n"])
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.bigrun", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 3,000 faces (default 400,000)")
    p.add_argument("--faces", type=int, help="faces to draw and export (default 400,000; quick 3,000)")
    p.add_argument("--run", type=Path, help="the trained run that encodes them (default runs/levasa, trained if "
                                            "missing; quick: a 1-epoch run)")
    args = p.parse_args(argv)
    n = args.faces if args.faces is not None else (3_000 if args.quick else 400_000)
    if n < 100:
        print(f"error: --faces must be >= 100, got {n}", file=sys.stderr)
        return 2
    base = bench_run(args.quick, args.run)
    if base is None:
        return 2
    out = ROOT / "bench-out" / f"bigrun-{n}"
    data, run = out / "faces", out / "runs" / "big"
    drawn = unseen_faces(data, n, packed=True)
    if not drawn:
        k = min(n, 20_000)
        print(f"faces: {data} exists (delete it to draw them again); the generator's rate is timed on {k:,}")
        shutil.rmtree(out / "rate", ignore_errors=True)
        drawn = unseen_faces(out / "rate", k, packed=True) * n / k
        shutil.rmtree(out / "rate")
    pack = n / drawn
    png = png_rate()
    t0 = time.perf_counter()
    summary = unseen_run(base, data, run, progress=True)
    took = time.perf_counter() - t0
    shown = served_points(run.parent, run.name)
    if shown != n:
        print(f"error: the server shows {shown:,} points of the {n:,} exported", file=sys.stderr)
        return 1
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in summary["seconds"].items())
    label = f"{n // 1000}k" if n >= 1000 else str(n)
    print(f"\n{n:,} faces in {data / 'faces.npy'} ({(data / 'faces.npy').stat().st_size / 2**30:.2f} GiB); "
          f"served by a real server: {shown:,} points on the map")
    print(f"FIGURE synth_pack_faces_s {pack:.0f}  (one PNG a face: {png:.0f} faces/s, ratio {pack / png:.2f}; "
          f"{n:,} faces in {n / pack / 60:.1f} min)")
    print(f"FIGURE export_{label}_min {took / 60:.2f}  ({stages}; {summary['projections']:,} points projected)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
