"""Load: 32 concurrent clients for 60 s of mixed encode / edit / projection calls against a real server.

    python -m scripts.bench.load            # the demo's runs/levasa, 32 clients, 60 s
    python -m scripts.bench.load --quick    # CI: 8 clients, 5 s
    python -m scripts.bench.load --run runs/X --clients 32 --seconds 60

Each client loops over a mix: 6 edits from a latent, 2 edits of a dataset face, 1 encode of a PNG upload, 1 fetch of
the projections (gzip). Figures: load_errors (any non-200 or dropped request; target 0), load_p99_ms (over all calls),
load_rss_growth (the server's resident memory at the end against after the warm-up; target under 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from models.runs import LATENTS
from scripts.bench.serve import Conn, bench_run, served_run


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


async def _client(k: int, host: str, port: int, run: str, latent: list[float], png_body: tuple[bytes, str],
                  n_samples: int, stop_at: float, lat: dict[str, list[float]], errors: list[str]) -> None:
    rng = random.Random(k)
    mix = ["edit"] * 6 + ["edit-sample"] * 2 + ["encode", "projections"]
    c = await Conn(host, port).open()
    try:
        while time.perf_counter() < stop_at:
            kind = rng.choice(mix)
            t0 = time.perf_counter()
            try:
                if kind == "edit":
                    body = json.dumps({"latent": latent, "valence": rng.uniform(-1, 1), "arousal": rng.uniform(-1, 1)})
                    status, _, resp = await c.request("POST", f"/api/runs/{run}/edit", body.encode())
                elif kind == "edit-sample":
                    body = json.dumps({"sample": rng.randrange(n_samples), "valence": rng.uniform(-1, 1),
                                       "arousal": rng.uniform(-1, 1)})
                    status, _, resp = await c.request("POST", f"/api/runs/{run}/edit", body.encode())
                elif kind == "encode":
                    status, _, resp = await c.request("POST", f"/api/runs/{run}/encode", *png_body)
                else:
                    status, _, resp = await c.request("GET", f"/api/runs/{run}/projections",
                                                      headers={"Accept-Encoding": "gzip"})
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                errors.append(f"{kind}: {type(e).__name__}")
                await c.close()
                c = await Conn(host, port).open()
                continue
            lat.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(f"{kind}: {status} {resp[:120]!r}")
    finally:
        await c.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 8 clients for 5 s")
    p.add_argument("--run", type=Path, help="run folder to serve (default runs/levasa, trained if missing)")
    p.add_argument("--clients", type=int, help="concurrent clients (default 32; quick 8)")
    p.add_argument("--seconds", type=float, help="duration (default 60; quick 5)")
    args = p.parse_args(argv)
    from scripts.bench.api import face_pngs, multipart

    run_dir = bench_run(args.quick, args.run, need=LATENTS)
    if run_dir is None:
        return 2
    clients = args.clients or (8 if args.quick else 32)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    if clients < 1 or seconds <= 0:
        print("error: --clients must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    name = run_dir.name
    with np.load(run_dir / LATENTS, allow_pickle=False) as z:
        n_samples = len(z["ids"])
    png_body = multipart([("face.png", face_pngs(1)[0])])

    with served_run(run_dir) as srv:
        host, port, proc = srv.host, srv.port, srv.proc

        async def go():
            c = await Conn(host, port).open()
            status, _, resp = await c.request("POST", f"/api/runs/{name}/encode", *png_body)
            await c.close()
            assert status == 200, resp[:300]
            latent = [x for k in ("zv", "za", "zz") for x in json.loads(resp)["faces"][0][k]]
            warm_lat: dict[str, list[float]] = {}
            await asyncio.gather(*(_client(k, host, port, name, latent, png_body, n_samples,
                                           time.perf_counter() + min(3.0, seconds / 4), warm_lat, [])
                                   for k in range(clients)))
            rss0 = _rss_mib(proc.pid)
            lat: dict[str, list[float]] = {}
            errors: list[str] = []
            t0 = time.perf_counter()
            await asyncio.gather(*(_client(k, host, port, name, latent, png_body, n_samples, t0 + seconds, lat,
                                           errors) for k in range(clients)))
            wall = time.perf_counter() - t0
            c = await Conn(host, port).open()
            alive, _, _ = await c.request("GET", "/api/health")
            await c.close()
            return lat, errors, wall, rss0, _rss_mib(proc.pid), alive

        lat, errors, wall, rss0, rss1, alive = asyncio.run(go())

    allv = [x for v in lat.values() for x in v]
    n = len(allv)
    print(f"{clients} clients for {wall:.1f} s: {n:,} calls ({n / wall:.0f}/s), server alive after: {alive == 200}")
    print(f"  {'call':<12} {'n':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, v in sorted(lat.items()):
        print(f"  {kind:<12} {len(v):>7} {np.percentile(v, 50):8.1f} {np.percentile(v, 99):8.1f}")
    for e in errors[:10]:
        print(f"  error: {e}")
    growth = rss1 / rss0 - 1
    p99 = float(np.percentile(allv, 99)) if allv else float("nan")
    print(f"FIGURE load_errors {len(errors)}  (of {n:,} calls; target 0)")
    print(f"FIGURE load_p99_ms {p99:.1f}  (all calls; p50 {np.percentile(allv, 50):.1f} ms; edits p99 "
          f"{np.percentile(lat.get('edit', [0]), 99):.1f} ms)")
    print(f"FIGURE load_rss_growth {growth:.3f}  (server RSS {rss0:.0f} MiB after warm-up -> {rss1:.0f} MiB at the "
          f"end; target < 0.10)")
    return 0 if not errors and alive == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
