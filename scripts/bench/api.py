"""API speed against a real server on loopback: edit latency and throughput, encode throughput, and the bare model's
decode time beside them as the floor.

    python -m scripts.bench.api                 # runs/levasa (the demo run; trained if missing), 10 s per load level
    python -m scripts.bench.api --quick         # CI: a 1-epoch run on 2,000 synthetic faces, 2 s per load level
    python -m scripts.bench.api --run runs/X

The server (python -m backend) and this load client share the machine's cores, as they would on one 2-core box.
The client is a bare keep-alive HTTP/1.1 client on asyncio streams, cheap enough not to starve the server.
Edit requests send a latent and a target and get the PNG back with the read-back VA in headers (format=png).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from scripts.bench.serve import Conn, bench_run, served_run


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


async def _edit_load(host: str, port: int, run: str, latent: list[float], clients: int, seconds: float,
                     count: int | None = None) -> tuple[list[float], float, int]:
    """``clients`` connections editing back to back for ``seconds`` (or ``count`` requests per client); returns
    (latencies in ms, wall seconds, errors)."""
    lat: list[float] = []
    errors = 0
    rng = random.Random(0)
    bodies = [json.dumps({"latent": latent, "valence": round(rng.uniform(-1, 1), 3),
                          "arousal": round(rng.uniform(-1, 1), 3)}).encode() for _ in range(64)]
    path = f"/api/runs/{run}/edit"
    stop_at = time.perf_counter() + seconds

    async def client(k: int):
        nonlocal errors
        c = await Conn(host, port).open()
        i = k
        try:
            while (count is None and time.perf_counter() < stop_at) or (count is not None and i - k < count * clients):
                t0 = time.perf_counter()
                status, hdrs, body = await c.request("POST", path, bodies[i % len(bodies)])
                lat.append((time.perf_counter() - t0) * 1000)
                if status != 200 or "x-read-valence" not in hdrs or not body.startswith(b"\x89PNG"):
                    errors += 1
                i += clients
        finally:
            await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return lat, time.perf_counter() - t0, errors


async def _encode_load(host: str, port: int, run: str, body: bytes, ctype: str, n_faces: int, clients: int,
                       seconds: float) -> tuple[float, int]:
    done = 0
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def client():
        nonlocal done, errors
        c = await Conn(host, port).open()
        try:
            while time.perf_counter() < stop_at:
                status, _, resp = await c.request("POST", f"/api/runs/{run}/encode", body, ctype)
                if status == 200:
                    done += n_faces
                else:
                    errors += 1
        finally:
            await c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - t0), errors


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "levasabench7d1e"
    parts = []
    for name, data in files:
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
                     f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def floors(run_dir: Path, reps: int) -> dict[str, float]:
    """The bare model in this process: one-face decode and encode (ms), and batch-64 encode (faces/s)."""
    import torch

    from models.runs import load_run

    run = load_run(run_dir)
    m = run.model
    z = torch.randn(1, run.model_cfg.latent_dim)
    x = torch.rand(64, 3, 64, 64)

    def timeit(fn, n):
        for _ in range(5):
            fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    with torch.inference_mode():
        dec = timeit(lambda: m.decode(z), reps)
        enc = timeit(lambda: m.encode(x[:1]), reps)
        enc64 = timeit(lambda: m.encode(x), max(5, reps // 10))
    return {"decode_ms": dec * 1000, "encode_ms": enc * 1000, "encode64_per_s": 64 / enc64}


def face_pngs(n: int) -> list[bytes]:
    """n distinct 64 x 64 synthetic faces as PNG files (what a client would upload)."""
    from PIL import Image

    from models.data.synthetic import generate_arrays

    imgs = generate_arrays(n, seed=123)[0]  # (n, 64, 64, 3) uint8
    out = []
    for im in imgs:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.api", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run for CI (2 s per level, a 1-epoch run)")
    p.add_argument("--run", type=Path, default=None, help="run folder to serve (default runs/levasa)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per load level (default 10; quick 2)")
    args = p.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    run_dir = bench_run(args.quick, args.run)
    if run_dir is None:
        return 2
    with served_run(run_dir) as srv:
        res, enc = asyncio.run(_measure(srv, seconds, 100 if args.quick else 1000))
    # The floor, measured after the server has stopped: torch in this process would otherwise hold its own OpenMP
    # threads on the cores the server needs.
    fl = floors(run_dir, 50 if args.quick else 200)
    print(f"bare model, this process: decode 1 face {fl['decode_ms']:.2f} ms, encode 1 face {fl['encode_ms']:.2f} ms, "
          f"encode batch 64 {fl['encode64_per_s']:.0f} faces/s", flush=True)
    print(f"\n  {'clients':>7}  {'edits/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  errors")
    for k, (lat, rate, err) in res.items():
        print(f"  {k:>7}  {rate:>8.0f}  {pct(lat, 50):>7.2f}  {pct(lat, 99):>7.2f}  {err}")
    (enc1, e1), (enc2, e2) = enc
    print(f"  encode, batches of 64 PNGs: {enc1:.0f} faces/s (1 client), {enc2:.0f} faces/s (2 clients), "
          f"errors {e1 + e2}\n")
    print_figures(res, max(enc1, enc2), fl, " (quick)" if args.quick else "")
    errors = sum(r[2] for r in res.values()) + e1 + e2
    if errors:
        print(f"error: {errors} requests failed", file=sys.stderr)
        return 1
    print(f"p99 at 1 client {pct(res[1][0], 99):.2f} ms")
    return 0


async def _measure(srv, seconds: float, count_1: int):
    """Edits at 1 (``count_1`` in a row), 8 and 16 clients, and encodes of 64-PNG batches at 1 and 2 clients.
    Returns ({clients: (latencies, edits/s, errors)}, ((faces/s, errors) at 1 client, at 2))."""
    host, port, name = srv.host, srv.port, srv.name
    pngs = face_pngs(64)
    body, ctype = multipart([(f"f{i}.png", b) for i, b in enumerate(pngs)])
    c = await Conn(host, port).open()
    status, _, resp = await c.request("POST", f"/api/runs/{name}/encode", *multipart([("a.png", pngs[0])]))
    await c.close()
    assert status == 200, resp[:300]
    latent = [x for k in ("zv", "za", "zz") for x in json.loads(resp)["faces"][0][k]]
    await _edit_load(host, port, name, latent, 1, 0, count=30)  # warm-up
    lat1, wall1, err1 = await _edit_load(host, port, name, latent, 1, 0, count=count_1)
    res = {1: (lat1, len(lat1) / wall1, err1)}
    for k in (8, 16):
        lat, wall, err = await _edit_load(host, port, name, latent, k, seconds)
        res[k] = (lat, len(lat) / wall, err)
    enc = (await _encode_load(host, port, name, body, ctype, 64, 1, seconds),
           await _encode_load(host, port, name, body, ctype, 64, 2, seconds))
    return res, enc


def print_figures(res: dict, best_encode: float, fl: dict, q: str) -> None:
    """Every FIGURE line: each speed beside its floor from this run, then the same as ratios."""
    floor_edit = fl["decode_ms"] + fl["encode_ms"]
    p50 = pct(res[1][0], 50)
    unbatched = 1000 / floor_edit
    print(f"FIGURE edit_p50_ms {p50:.2f}  (1 client, read-back included; bare decode + encode floor "
          f"{floor_edit:.2f} ms, ratio {p50 / floor_edit:.2f}; target <= 5){q}")
    print(f"FIGURE edit_p99_ms {pct(res[1][0], 99):.2f}  (1 client; p50 {p50:.2f}){q}")
    print(f"FIGURE edits_per_s_16 {res[16][1]:.0f}  (16 clients, p99 {pct(res[16][0], 99):.1f} ms; 8 clients "
          f"{res[8][1]:.0f}/s; 1 client {res[1][1]:.0f}/s; unbatched model floor {unbatched:.0f}/s, ratio "
          f"{res[16][1] / unbatched:.2f}; target >= 500){q}")
    print(f"FIGURE decode_floor_ms {fl['decode_ms']:.2f}  (bare model, one face; encode one face {fl['encode_ms']:.2f} "
          f"ms){q}")
    print(f"FIGURE encode_per_s {best_encode:.0f}  (batches of 64 PNG uploads, decoding included; bare model encode at "
          f"batch 64 {fl['encode64_per_s']:.0f} faces/s, ratio {best_encode / fl['encode64_per_s']:.2f}; target >= "
          f"1000){q}")
    # The same three speeds as ratios to their floors from this run: a slower or busier machine moves a figure and its
    # floor together, so these hold where the absolute targets above drift with the box.
    print(f"FIGURE edit_p50_ratio {p50 / floor_edit:.2f}  (edit_p50_ms {p50:.2f} over the bare decode + encode floor "
          f"{floor_edit:.2f} ms measured in this run; lower is better, 1 = no cost beyond the model){q}")
    print(f"FIGURE edits_per_s_16_ratio {res[16][1] / unbatched:.2f}  (edits_per_s_16 {res[16][1]:.0f} over the "
          f"one-at-a-time model floor {unbatched:.0f}/s measured in this run; higher is better, above 1 = batching "
          f"beats the bare model called per face){q}")
    print(f"FIGURE encode_per_s_ratio {best_encode / fl['encode64_per_s']:.2f}  (encode_per_s {best_encode:.0f} over "
          f"the bare model encode at batch 64 {fl['encode64_per_s']:.0f} faces/s measured in this run; higher is "
          f"better, 1 = PNG decoding and HTTP cost nothing){q}")


if __name__ == "__main__":
    sys.exit(main())
