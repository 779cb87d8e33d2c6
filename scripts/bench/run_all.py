"""Run every benchmark of this package (BENCHMARKS) and collect their FIGURE lines.

    make bench                 # = levasa bench           (full runs: the results docs' figures)
    make bench-quick           # = levasa bench --quick   (short runs, as CI can afford)
    levasa bench --only api frontend
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# Each a module of this package with a main() that prints FIGURE lines (the helpers beside them are not benchmarks).
# demo_fresh --quick (a clone, a reused venv, 300 faces) takes 20 s on 2 idle cores (100 s busy): within CI's budget.
BENCHMARKS = ("affectnet", "align", "api", "badinput", "bigrun", "chunks", "demo_fresh", "edit", "eval", "fewshot",
              "frontend", "fuzz", "load", "map", "photo", "scale", "train", "transfer", "tsne", "unseen")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (default: full runs)")
    p.add_argument("--only", nargs="*", default=None, metavar="NAME",
                   help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = p.parse_args(argv)
    names = list(BENCHMARKS)
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            p.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in args.only]
    figures, failed = [], []
    for name in names:
        print(f"\n######## {name}{' --quick' if args.quick else ''}", flush=True)
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, "-m", f"scripts.bench.{name}", *(["--quick"] if args.quick else [])],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("FIGURE "):
                figures.append(line.rstrip())
        if proc.wait() != 0:
            failed.append(name)
        print(f"######## {name}: {time.time() - t0:.0f} s, exit {proc.returncode}", flush=True)
    print("\n== figures")
    for f in figures:
        print(f)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
