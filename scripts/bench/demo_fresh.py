"""A fresh clone to the explorer answering: ``demo_fresh_s``, with its stages beside it.

    python -m scripts.bench.demo_fresh              # git clone HEAD, make setup, levasa demo --serve, poll /api/ready
    python -m scripts.bench.demo_fresh --quick      # CI: this .venv reused, 300 faces, 1 epoch per run (20-100 s)
    python -m scripts.bench.demo_fresh --keep       # keep the clone for inspection (its path is printed)
    python -m scripts.bench.demo_fresh --venv .venv # the full demo, without the install

The clone is of HEAD: uncommitted work is not in it. The full form runs what ``make demo`` runs in the clone
(``make setup``, then ``.venv/bin/levasa demo --serve`` on a free port) and reads its stages from the demo's own
lines as they arrive: "== making" (faces), "== training runs/X", "== exporting runs/X", "ready in N s" (then the
server starts); the figure is the first ``ready: true`` from /api/ready, counted from the clone. Target: <= 600 s.

The quick form reuses a virtual environment (default: the one running this) and cannot shrink the demo from outside
(scripts/demo.py has no size options), so it runs the demo's pieces itself with small settings: ``levasa synth --n
300``, ``levasa train --config configs/RUN.json --epochs 1`` for each demo run, ``levasa export``, ``levasa serve``.
Its figure is marked quick and is not the reported one. A reused environment runs the clone's code (PYTHONPATH is the
clone).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from scripts.bench.serve import free_port, stop_server

ROOT = Path(__file__).resolve().parents[2]  # the repository cloned
TARGET_S = 600
QUICK_FACES = 300  # enough for a split by identity and a t-SNE; the demo draws 20,000
# The demo's own lines that open a stage (models/data/synthetic.py, models/train/ensure.py, models/eval/export.py,
# scripts/demo.py); a run's stage is named after its folder.
STAGE_LINES = ((re.compile(r"== making "), lambda m: "faces"),
               (re.compile(r"== (?:training|resuming) (\S+)"), lambda m: f"train {Path(m.group(1)).name}"),
               (re.compile(r"== exporting (\S+)"), lambda m: f"export {Path(m.group(1)).name}"),
               (re.compile(r"ready in \d+ s"), lambda m: "serve start"))
BAR_PARTIAL = re.compile(r"(?<!100)%\|")  # a progress bar short of 100%: not echoed


class Timeline:
    """Stage marks in seconds since the start; a stage lasts until the next mark (the last one until ``end``)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.marks: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def mark(self, stage: str) -> None:
        with self.lock:
            self.marks.append((self.now(), stage))

    def stages(self, end: float) -> list[tuple[str, float]]:
        ends = [t for t, _ in self.marks[1:]] + [end]
        return [(stage, t1 - t0) for (t0, stage), t1 in zip(self.marks, ends)]


def echo(tl: Timeline, line: str, parse: bool) -> None:
    """Print one output line with its arrival time; with ``parse``, a demo stage line also marks the stage."""
    line = line.rstrip("\n").rsplit("\r", 1)[-1]  # a progress bar's last state, not each redraw
    if parse:
        for pattern, stage in STAGE_LINES:
            m = pattern.search(line)
            if m:
                tl.mark(stage(m))
                break
    if line.strip() and not BAR_PARTIAL.search(line):
        print(f"  [{tl.now():6.1f} s] {line}", flush=True)


def step(tl: Timeline, stage: str, cmd: list[str], cwd: Path, env: dict) -> None:
    """Run one command to its end as stage ``stage``, echoing its output; CalledProcessError when it fails."""
    tl.mark(stage)
    print(f"  [{tl.now():6.1f} s] $ {' '.join(cmd)}", flush=True)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        echo(tl, line, parse=False)
    if proc.wait() != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)


def background(tl: Timeline, cmd: list[str], cwd: Path, env: dict, parse: bool) -> subprocess.Popen:
    """Start a long-running command in its own process group (stop_server stops it), its output echoed by a thread."""
    print(f"  [{tl.now():6.1f} s] $ {' '.join(cmd)} &", flush=True)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    threading.Thread(target=lambda: [echo(tl, line, parse) for line in proc.stdout], daemon=True).start()
    return proc


def wait_ready(proc: subprocess.Popen, url: str, timeout: float) -> dict:
    """Poll GET /api/ready until it says a run serves; the body. RuntimeError when the process dies or time runs out."""
    t_end = time.perf_counter() + timeout
    while time.perf_counter() < t_end:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo exited with code {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body = json.loads(r.read())
                if body.get("ready"):
                    return body
        except (OSError, ValueError):  # not listening yet, 503 (no run loaded yet), or a half-written answer
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready within {timeout:.0f} s")


def clean_env(port: int, venv: Path | None, clone: Path) -> dict:
    """This environment without its virtual environment and LEVASA_* settings (a fresh shell), serving on ``port``.
    With a reused ``venv``, the clone's code comes first on the path (the venv's editable install points elsewhere)."""
    here_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEVASA_") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != here_bin)
    env.update(LEVASA_HOST="127.0.0.1", LEVASA_PORT=str(port), PYTHONUNBUFFERED="1")
    if venv is not None:
        env["PYTHONPATH"] = str(clone)
    return env


def quick_pieces(tl: Timeline, clone: Path, env: dict) -> list[str]:
    """The demo's steps with small settings, each its own stage; returns the serve command to start."""
    from models.recipes import ROOT as RECIPES_ROOT
    from models.recipes import load_recipe
    from scripts.demo import DEMO_RECIPES, RUNS

    levasa = str(clone / ".venv" / "bin" / "levasa")
    recipes = [load_recipe(name) for name in DEMO_RECIPES]
    for data in sorted({Path(r.data).relative_to(RECIPES_ROOT) for r in recipes}):
        step(tl, "faces", [levasa, "synth", "--out", str(data), "--n", str(QUICK_FACES), "--no-progress"], clone, env)
    for r in recipes:
        step(tl, f"train {r.name}", [levasa, "train", "--config", f"configs/{r.name}.json", "--name", r.name,
                                     "--runs", str(RUNS), "--epochs", "1", "--quiet"], clone, env)
    for r in recipes:
        step(tl, f"export {r.name}", [levasa, "export", str(RUNS / r.name), "--max-points", str(QUICK_FACES)], clone,
             env)
    tl.mark("serve start")
    return [levasa, "serve", "--log-level", "warning"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.demo_fresh", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=f"CI: reuse a venv (--venv, default this one), "
                   f"{QUICK_FACES} faces, 1 epoch per run, the demo's pieces run directly")
    p.add_argument("--venv", type=Path, default=None, help="reuse this virtual environment instead of make setup "
                   "(default: a fresh install; quick: the one running this, " + sys.prefix + ")")
    p.add_argument("--keep", action="store_true", help="keep the clone (default: removed at the end)")
    p.add_argument("--timeout", type=float, default=None, help="seconds for the demo to answer (default 1800; "
                   "quick 300)")
    args = p.parse_args(argv)
    venv = (args.venv or Path(sys.prefix)) if args.quick else args.venv
    if venv is not None and not (venv / "bin" / "python").exists():
        print(f"error: {venv} is not a virtual environment (no bin/python)", file=sys.stderr)
        return 2
    timeout = args.timeout or (300.0 if args.quick else 1800.0)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()

    work = Path(tempfile.mkdtemp(prefix="levasa-fresh-"))
    clone = work / "levasa"
    port = free_port()
    env = clean_env(port, venv, clone)
    url = f"http://127.0.0.1:{port}/api/ready"
    tl = Timeline()
    proc = None
    try:
        step(tl, "clone", ["git", "clone", "--quiet", str(ROOT), str(clone)], work, env)
        if venv is not None:
            tl.mark("install")  # none: the link is the whole of it
            os.symlink(venv.resolve(), clone / ".venv")
        else:
            step(tl, "install", ["make", "setup"], clone, env)
        if args.quick:
            proc = background(tl, quick_pieces(tl, clone, env), clone, env, parse=False)
        else:
            tl.mark("start")  # the demo's imports, until its first stage line
            proc = background(tl, [str(clone / ".venv" / "bin" / "levasa"), "demo", "--serve"], clone, env,
                              parse=True)
        body = wait_ready(proc, url, timeout)
        total = tl.now()
    except (subprocess.CalledProcessError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if proc is not None:
            stop_server(proc)
        if args.keep:
            print(f"clone kept: {clone}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)

    stages = tl.stages(total)
    w = max(len(s) for s, _ in stages)
    print(f"\n  ready: {', '.join(r['name'] for r in body['runs'] if r['status'] == 'ready')} on {body['device']} at "
          f"http://127.0.0.1:{port}/ (stopped now)")
    for s, d in stages:
        print(f"  {s:<{w}}  {d:7.1f} s")
    print(f"  {'total':<{w}}  {total:7.1f} s\n")
    q = " (quick: a reused venv, 300 faces, 1 epoch)" if args.quick else ""
    print(f"FIGURE demo_fresh_s {total:.1f}  (git clone of HEAD {head} to /api/ready answering: "
          f"{', '.join(f'{s} {d:.1f} s' for s, d in stages)}; lower is better; target <= {TARGET_S}){q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
