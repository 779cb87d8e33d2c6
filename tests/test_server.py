"""The service as users run it: python -m backend on a free loopback port, real HTTP, concurrent clients."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from PIL import Image

from scripts.bench.serve import ROOT, Conn, start_server, stop_server


@pytest.fixture(scope="module")
def server(runs_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server-tmp")  # the server's TMPDIR: an upload spooled to disk would land here
    proc, url = start_server(runs_dir, env={"TMPDIR": str(tmp), "LEVASA_MAX_BATCH": "16"},
                             log_path=tmp.parent / "server.log")
    yield url, int(url.rsplit(":", 1)[1]), tmp
    stop_server(proc)


def test_real_server_is_ready_and_documents_itself(server):
    url, _, _ = server
    with urllib.request.urlopen(url + "/api/ready") as r:
        body = json.loads(r.read())
    assert {x["name"]: x["status"] for x in body["runs"]} == {"tiny": "ready", "truncated": "error",
                                                               "badconfig": "error"}
    with urllib.request.urlopen(url + "/docs") as r:
        assert b"swagger" in r.read().lower()


def _multipart(blobs: list[bytes]) -> tuple[bytes, str]:
    b = "testboundary42"
    parts = [f"--{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"f{i}.png\"\r\n"
             f"Content-Type: image/png\r\n\r\n".encode() + blob + b"\r\n" for i, blob in enumerate(blobs)]
    return b"".join(parts) + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


def test_concurrent_edits_each_get_their_own_answer(server):
    """16 clients at once (the server batches them): each answer matches the one the same request gets alone."""
    _, port, _ = server
    targets = [(round(np.cos(t) * 0.8, 3), round(np.sin(t) * 0.8, 3)) for t in np.linspace(0, 6, 16)]
    bodies = [json.dumps({"sample": i, "valence": v, "arousal": a, "format": "json"}).encode()
              for i, (v, a) in enumerate(targets)]

    async def one(body):
        c = await Conn("127.0.0.1", port).open()
        try:
            return await c.request("POST", "/api/runs/tiny/edit", body)
        finally:
            await c.close()

    async def run():
        alone = [await one(b) for b in bodies]
        together = await asyncio.gather(*(one(b) for b in bodies))
        return alone, together

    alone, together = asyncio.run(run())
    for (s1, _, b1), (s2, _, b2) in zip(alone, together):
        assert s1 == s2 == 200
        j1, j2 = json.loads(b1), json.loads(b2)
        assert j1["latent"] == pytest.approx(j2["latent"], abs=1e-4)  # the same edit, not a neighbour's
        for axis in ("valence", "arousal"):  # batches run in bf16, single requests in fp32
            assert j1["read_back"][axis] == pytest.approx(j2["read_back"][axis], abs=0.05)


def test_concurrent_encodes_and_uploads_never_touch_disk(server):
    _, port, tmp = server
    rng = np.random.default_rng(0)
    big = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (720, 720, 3), dtype=np.uint8)).save(big, "PNG")
    assert big.tell() > 1_100_000  # larger than Starlette's default 1 MB spool
    small = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(small, "PNG")

    async def run():
        async def one(blobs):
            c = await Conn("127.0.0.1", port).open()
            try:
                return await c.request("POST", "/api/runs/tiny/encode", *_multipart(blobs))
            finally:
                await c.close()
        return await asyncio.gather(*(one([big.getvalue()] if k == 0 else [small.getvalue()] * 8)
                                      for k in range(8)))

    results = asyncio.run(run())
    assert [s for s, _, _ in results] == [200] * 8
    assert [len(json.loads(b)["faces"]) for _, _, b in results] == [1] + [8] * 7
    assert list(tmp.iterdir()) == []


def test_bad_setting_stops_start_up_naming_it(tmp_path):
    env = {**os.environ, "LEVASA_PORT": "eighty", "LEVASA_RUNS_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "backend"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    assert "port" in p.stderr and "LEVASA_PORT" in p.stderr and "eighty" in p.stderr
    env = {**os.environ, "LEVASA_DEVICE": "tpu", "LEVASA_RUNS_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "backend"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and "device" in p.stderr and "auto, cpu, cuda" in p.stderr


def test_several_workers_serve_the_same_runs(runs_dir, tmp_path):
    proc, url = start_server(runs_dir, args=["--workers", "2"], env={"LEVASA_TORCH_THREADS": "1"},
                             log_path=tmp_path / "server.log")
    try:
        ready = json.loads(urllib.request.urlopen(url + "/api/ready", timeout=30).read())
        assert ready["ready"] is True
        sid = json.loads(urllib.request.urlopen(url + "/api/runs/tiny/projections").read())["ids"][0]
        body = json.dumps({"sample": sid, "valence": 0.4, "arousal": -0.2}).encode()
        for _ in range(6):  # spread over both workers by the kernel
            req = urllib.request.Request(url + "/api/runs/tiny/edit", data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                assert r.status == 200 and r.read()[:4] == b"\x89PNG"
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2  # uvicorn's supervisor and its two workers
    finally:
        stop_server(proc)
    p = subprocess.run([sys.executable, "-m", "backend", "--workers", "0"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "--workers must be >= 1" in p.stderr
