"""Write what the server reads from a run folder, without the full evaluation: the dataset's latents, thumbnails and
projections (t-SNE and PCA, reused when cached).

    python -m scripts.export runs/levasa [runs/vanilla ...] [--max-points 30000]

`python -m scripts.evaluate` writes the same files along with the metrics; this is the quick path (make demo uses it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa export", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders")
    p.add_argument("--max-points", type=int, default=30000, help="points in the projections (default 30000)")
    args = p.parse_args(argv)

    from models.eval.export import prepare_serving
    from models.runs import RunError, load_run

    for path in args.runs:
        try:
            run = load_run(path)
        except RunError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        out = prepare_serving(run, args.max_points, progress=True)
        note = "cached" if out["reused"] else "computed"
        print(f"  {run.name}: {out['latents']:,} latents and thumbnails, {out['projections']:,} projected points "
              f"({note}) in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
