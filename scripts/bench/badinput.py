"""Proof against bad input: a corpus of broken and hostile requests and files sent to a real server, and odd but valid
images that must be answered correctly.

    python -m scripts.bench.badinput            # the demo's runs/levasa; the corpus 3 times over
    python -m scripts.bench.badinput --quick    # CI: a 1-epoch run, the corpus once
    python -m scripts.bench.badinput --run runs/X

Every hostile case must get a 4xx whose JSON `detail` says what was wrong; every odd image a 200 with one face; no
case a 5xx; the server must still answer afterwards, and its resident memory must stay bounded (growth reported).
Figures: badinput_cases (hostile cases sent, each round), badinput_5xx (must be 0), with the odd images beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from models.runs import CONFIG
from scripts.bench.serve import Conn, bench_run, served_run


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _face(size: int = 96) -> Image.Image:
    from models.data.synthetic import generate_arrays

    return Image.fromarray(generate_arrays(1, seed=5)[0][0]).resize((size, size))


def _bomb_png(w: int, h: int) -> bytes:
    """A valid PNG signature and IHDR declaring w x h pixels, with a tiny (wrong) body: a decompression bomb header."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _multipart(files: list[tuple[str, bytes, str]], fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    b = "levasaBoundary7f3a"
    parts = []
    for k, v in (fields or {}).items():
        parts.append(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for name, data, ctype in files:
        parts.append(f'--{b}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                     f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


def hostile_cases(run: str, latent_dim: int, max_batch: int) -> list[tuple[str, str, str, bytes, str, dict]]:
    """(name, method, path, body, content type, extra headers): each must get a 4xx with a detail."""
    face = _png_bytes(_face())
    jpg = io.BytesIO()
    _face().save(jpg, "JPEG")
    jpg = jpg.getvalue()
    enc, edit, dec, grid = (f"/api/runs/{run}/{p}" for p in ("encode", "edit", "decode", "edit-grid"))
    J = "application/json"
    js = lambda o: json.dumps(o).encode()
    mp = lambda name, data, ctype="application/octet-stream", **f: (*_multipart([(name, data, ctype)], f),)
    cases = [
        ("truncated JPEG", "POST", enc, *mp("t.jpg", jpg[: len(jpg) // 2], "image/jpeg")),
        ("truncated PNG", "POST", enc, *mp("t.png", face[: len(face) // 2], "image/png")),
        ("zero-byte file", "POST", enc, *mp("empty.png", b"", "image/png")),
        ("50,000 x 50,000 PNG declared in a small file", "POST", enc, *mp("bomb.png", _bomb_png(50000, 50000))),
        ("SVG", "POST", enc, *mp("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>',
                                 "image/svg+xml")),
        ("PDF", "POST", enc, *mp("x.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "application/pdf")),
        ("text posted as an image", "POST", enc, *mp("notes.png", b"hello, this is text", "image/png")),
        ("HTML posted as an image", "POST", enc, *mp("page.jpg", b"<html><body>hi</body></html>", "image/jpeg")),
        ("image of 4 x 4 pixels", "POST", enc, *mp("tiny.png", _png_bytes(Image.new("RGB", (4, 4))), "image/png")),
        ("oversized batch", "POST", enc, *_multipart([(f"f{i}.png", face, "image/png") for i in range(max_batch + 1)])),
        ("no file in the form", "POST", enc, *_multipart([], {"crop": "auto"})),
        ("unknown crop mode", "POST", enc, *mp("f.png", face, "image/png", crop="sideways")),
        ("text/plain body to encode", "POST", enc, b"hello", "text/plain"),
        ("malformed JSON", "POST", edit, b'{"sample": 1, "valence": ', J),
        ("JSON array instead of an object", "POST", edit, b"[1, 2, 3]", J),
        ("wrong JSON types", "POST", enc, js({"images": "not-a-list"}), J),
        ("valence as a string", "POST", edit, js({"sample": 0, "valence": "high", "arousal": 0}), J),
        ("NaN valence", "POST", edit, b'{"sample": 0, "valence": NaN, "arousal": 0}', J),
        ("huge valence", "POST", edit, js({"sample": 0, "valence": 1e308, "arousal": 0}), J),
        ("valence outside [-1, 1]", "POST", edit, js({"sample": 0, "valence": 1.5, "arousal": 0}), J),
        ("latent of the wrong length", "POST", edit, js({"latent": [0.0] * (latent_dim - 1), "valence": 0,
                                                          "arousal": 0}), J),
        ("latent with huge numbers", "POST", dec, js({"latent": [1e300] * latent_dim}), J),
        ("latent with Infinity", "POST", dec, b'{"latent": [Infinity' + b", 0" * (latent_dim - 1) + b"]}", J),
        ("both latent and latents", "POST", dec, js({"latent": [0.0] * latent_dim, "latents": [[0.0] * latent_dim]}),
         J),
        ("empty latents", "POST", dec, js({"latents": []}), J),
        ("two faces in one edit", "POST", edit, js({"sample": 0, "latent": [0.0] * latent_dim, "valence": 0,
                                                     "arousal": 0}), J),
        ("negative sample id", "POST", edit, js({"sample": -1, "valence": 0, "arousal": 0}), J),
        ("sample id past the end", "POST", edit, js({"sample": 10**9, "valence": 0, "arousal": 0}), J),
        ("invalid base64 image", "POST", edit, js({"image": "%%%not-base64%%%", "valence": 0, "arousal": 0}), J),
        ("edit grid of 1000 x 1000", "POST", grid, js({"sample": 0, "n": 1000}), J),
        ("edit grid of 1 x 1", "POST", grid, js({"sample": 0, "n": 1}), J),
        ("unknown run", "GET", "/api/runs/nope/projections", b"", J),
        ("path-like run name", "GET", "/api/runs/..%2F..%2Fetc%2Fpasswd/projections", b"", J),
        ("path-like run name, dots", "GET", "/api/runs/../../etc/passwd", b"", J),
        ("path-like sample", "GET", f"/api/runs/{run}/samples/..%2F1/thumbnail", b"", J),
        ("thumbnail of a missing sample", "GET", f"/api/runs/{run}/samples/999999999/thumbnail", b"", J),
        ("wrong method", "GET", edit, b"", J),
        ("Content-Length far over the limit", "POST", enc, b"", "application/octet-stream",
         {"Content-Length-Override": "999999999999"}),
    ]
    return [(c[0], c[1], c[2], c[3], c[4], c[5] if len(c) > 5 else {}) for c in cases]


def odd_images() -> list[tuple[str, bytes, tuple[int, int] | None]]:
    """(name, file bytes, expected image_size or None): odd but valid images that must be answered."""
    f = _face(96)
    out = []
    buf = io.BytesIO()
    f.convert("CMYK").save(buf, "JPEG")
    out.append(("CMYK JPEG", buf.getvalue(), (96, 96)))
    arr16 = (np.asarray(f.convert("L"), np.uint16) * 257).astype(np.uint16)
    out.append(("16-bit grayscale PNG", _png_bytes(Image.fromarray(arr16)), (96, 96)))
    out.append(("grayscale PNG", _png_bytes(f.convert("L")), (96, 96)))
    rgba = f.convert("RGBA")
    rgba.putalpha(128)
    out.append(("RGBA PNG", _png_bytes(rgba), (96, 96)))
    out.append(("palette PNG", _png_bytes(f.convert("P", palette=Image.Palette.ADAPTIVE)), (96, 96)))
    wide = f.resize((120, 80))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    wide.save(buf, "JPEG", exif=exif)
    out.append(("EXIF-rotated JPEG", buf.getvalue(), (80, 120)))  # displayed upright: 80 wide, 120 high
    frames = [f, f.transpose(Image.Transpose.FLIP_LEFT_RIGHT), f.rotate(10)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out.append(("animated GIF (first frame)", buf.getvalue(), (96, 96)))
    for fmt in ("WEBP", "BMP", "TIFF"):
        buf = io.BytesIO()
        f.save(buf, fmt)
        out.append((f"{fmt} file", buf.getvalue(), (96, 96)))
    return out


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


async def _send(c: Conn, method: str, path: str, body: bytes, ctype: str, extra: dict) -> tuple[int, bytes]:
    if "Content-Length-Override" in extra:  # a raw request that lies about its length, then closes
        await c.open() if c.writer is None else None
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {extra['Content-Length-Override']}\r\n\r\n").encode()
        c.writer.write(head)  # the header alone: a body the server never reads could make its close a reset
        line = await asyncio.wait_for(c.reader.readline(), 10)
        if not line:
            raise ConnectionError("server closed the connection without an answer")
        status = int(line.split()[1])
        rest = await asyncio.wait_for(c.reader.read(65536), 10)
        await c.close()
        return status, rest.split(b"\r\n\r\n", 1)[-1]
    status, _, resp = await c.request(method, path, body, ctype)
    return status, resp


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.badinput", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: a 1-epoch run, the corpus once")
    p.add_argument("--run", type=Path, help="run folder to serve (default runs/levasa, trained if missing)")
    p.add_argument("--rounds", type=int, help="times the corpus is sent (default 3; quick 1)")
    args = p.parse_args(argv)
    run_dir = bench_run(args.quick, args.run)
    if run_dir is None:
        return 2
    rounds = args.rounds or (1 if args.quick else 3)
    cfg = json.loads((run_dir / CONFIG).read_text())["model"]
    latent_dim = cfg["zv_dim"] + cfg["za_dim"] + cfg["zz_dim"]
    max_batch = 16
    with served_run(run_dir, env={"LEVASA_MAX_BATCH": str(max_batch)}, tmpdir_env=True) as srv:
        cases = hostile_cases(run_dir.name, latent_dim, max_batch)
        results, odd_results, rss, alive = asyncio.run(_attack(srv, cases, odd_images(), rounds))
        uploads_left = [f for f in os.listdir(srv.tmp) if f not in ("runs", "server.log")]
    bad_4xx, bad_odd = _print_cases(results, odd_results)
    n5 = sum(1 for _, s, _ in results + odd_results if s >= 500)
    growth = rss[-1] / rss[0] - 1 if len(rss) > 1 else 0.0
    print(f"server alive afterwards: {alive == 200}; RSS per round (MiB): {', '.join(f'{x:.0f}' for x in rss)}; "
          f"files left in its TMPDIR: {len(uploads_left)}")
    print(f"FIGURE badinput_cases {len(results)}  (hostile requests per round, {rounds} rounds; not a clear 4xx: "
          f"{bad_4xx}; odd valid images answered {len(odd_results) - bad_odd}/{len(odd_results)})")
    print(f"FIGURE badinput_5xx {n5}  (target 0; RSS growth from round 1 to {rounds}: {growth:+.1%})")
    return 0 if (n5 == 0 and bad_4xx == 0 and bad_odd == 0 and alive == 200 and not uploads_left) else 1


async def _hostile(srv, case) -> tuple[str, int, str]:
    """One hostile request on a fresh connection -> (label, status, the detail it answered)."""
    label, method, path, body, ctype, extra = case
    c = await Conn(srv.host, srv.port).open()
    try:
        status, resp = await _send(c, method, path, body, ctype, extra)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as e:
        status, resp = 0, str(e).encode()
    finally:
        await c.close()
    try:
        detail = json.loads(resp).get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    return label, status, detail if isinstance(detail, str) else json.dumps(detail)


async def _odd(srv, label: str, data: bytes, size) -> tuple[str, int, str]:
    """One odd but valid image to encode -> (label, status (-1: a wrong answer), a note)."""
    c = await Conn(srv.host, srv.port).open()
    body, ctype = _multipart([(label.replace(" ", "_"), data, "application/octet-stream")])
    status, _, resp = await c.request("POST", f"/api/runs/{srv.name}/encode", body, ctype)
    await c.close()
    if status != 200:
        return label, status, resp.decode(errors="replace")[:160]
    faces = json.loads(resp)["faces"]
    got = tuple(faces[0]["image_size"])
    note = f"{len(faces)} face, image_size {got[0]}x{got[1]}"
    if len(faces) != 1 or (size and got != size):
        return label, -1, f"wrong answer: {note}, expected {size}"
    return label, status, note


async def _attack(srv, cases, odd, rounds: int):
    """Every case and odd image, ``rounds`` times; the first round's answers, RSS after each round, /api/health."""
    results, odd_results, rss = [], [], []
    for r in range(rounds):
        got = [await _hostile(srv, case) for case in cases]
        got_odd = [await _odd(srv, *item) for item in odd]
        if r == 0:
            results, odd_results = got, got_odd
        rss.append(_rss_mib(srv.proc.pid))
    c = await Conn(srv.host, srv.port).open()
    alive, _, _ = await c.request("GET", "/api/health")
    await c.close()
    return results, odd_results, rss, alive


def _print_cases(results, odd_results) -> tuple[int, int]:
    """The table of answers; returns (hostile cases without a clear 4xx, odd images not answered with one face)."""
    w = max(len(label) for label, *_ in results + odd_results)
    print(f"hostile requests ({len(results)}), each must be a 4xx with a detail:")
    bad_4xx = 0
    for label, status, detail in results:
        ok = 400 <= status < 500 and bool(detail)
        bad_4xx += not ok
        print(f"  {'ok ' if ok else 'BAD'} {status:3d}  {label:<{w}}  {detail[:110]}")
    print(f"odd but valid images ({len(odd_results)}), each must be answered with one face:")
    bad_odd = 0
    for label, status, note in odd_results:
        ok = status == 200
        bad_odd += not ok
        print(f"  {'ok ' if ok else 'BAD'} {status:3d}  {label:<{w}}  {note}")
    return bad_4xx, bad_odd


if __name__ == "__main__":
    sys.exit(main())
