"""Run every benchmark script (scripts/bench_*.py) and collect their FIGURE lines.

    make bench                 # = python -m scripts.bench_all           (full runs: the README's figures)
    make bench-quick           # = python -m scripts.bench_all --quick   (short runs, as CI can afford)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench_all", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    p.add_argument("--only", nargs="*", default=None, help="benchmark names to run (e.g. bench_train)")
    args = p.parse_args(argv)
    names = sorted(f.stem for f in HERE.glob("bench_*.py") if f.stem != "bench_all")
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            p.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in args.only]
    figures, failed = [], []
    for name in names:
        print(f"\n######## {name}{' --quick' if args.quick else ''}", flush=True)
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, "-m", f"scripts.{name}", *(["--quick"] if args.quick else [])],
                                stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
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
