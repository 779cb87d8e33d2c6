"""Faces no model trained on, through the user's path: a labelled folder uploaded to a running service's /encode.

    python -m scripts.bench.unseen           # CK+48 (../shared/data/ckplus48) read by runs/fer-levasa, with the demo's
                                             # runs/levasa beside it
    python -m scripts.bench.unseen --data DIR --runs fer-levasa levasa
    python -m scripts.bench.unseen --quick   # CI: 280 synthetic faces of a seed no run trained on, one-epoch runs

A real server is started on loopback; every image goes up as a user's upload does (multipart, crop auto, 64 to a
request), and the answers are scored against the images' emotion labels (no VA needed):
    ck_valence_sign  share of happy faces read above 0 in valence and of sad, anger and disgust faces read below 0
    ck_emotion_acc   the nearest emotion the service names against the label, with the majority class beside it
Per category it prints the mean valence and arousal, and whether surprise, fear and anger sit above sad in arousal
(and above 0: CK+48 has no neutral faces to compare with).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

import numpy as np

CK = Path(__file__).resolve().parents[3] / "shared" / "data" / "ckplus48"
POSITIVE, NEGATIVE = ("happy",), ("sad", "anger", "disgust")
AROUSED, CALM = ("surprise", "fear", "anger"), ("sad",)
BATCH = 64


def encode_all(url: str, run: str, paths: list[Path]) -> list[dict]:
    """Every image through POST /api/runs/RUN/encode (multipart, crop auto), BATCH to a request -> FaceEncodings."""
    out = []
    for i in range(0, len(paths), BATCH):
        body, ctype = _multipart([(p.name, p.read_bytes()) for p in paths[i : i + BATCH]])
        req = urllib.request.Request(f"{url}/api/runs/{run}/encode", data=body, headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=120) as r:
            out += json.loads(r.read())["faces"]
    return out


def _multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def score(faces: list[dict], labels: list[str]) -> dict:
    """Per-category means, valence-sign agreement, arousal order and nearest-emotion accuracy."""
    va = np.array([[f["valence"], f["arousal"]] for f in faces])
    labels = np.array(labels)
    means = {e: va[labels == e].mean(0) for e in sorted(set(labels))}
    signed = np.isin(labels, POSITIVE + NEGATIVE)
    sign_ok = np.where(np.isin(labels, POSITIVE), va[:, 0] > 0, va[:, 0] < 0)[signed]
    calm = max((means[e][1] for e in CALM if e in means), default=0.0)
    order = {e: bool(means[e][1] > max(calm, 0.0)) for e in AROUSED if e in means}
    named = np.array([f["emotion"] for f in faces])
    majority = max(np.mean(labels == e) for e in set(labels))
    return {"means": means, "valence_sign": float(sign_ok.mean()), "n_signed": int(signed.sum()), "order": order,
            "emotion_acc": float(np.mean(named == labels)), "majority": float(majority), "n": len(labels),
            "conversions": sorted({f["conversion"] for f in faces}), "crops": sorted({f["crop"] for f in faces})}


def print_table(run: str, s: dict) -> None:
    print(f"\n{run}: {s['n']} faces, crop {'/'.join(s['crops'])}, conversion {'/'.join(s['conversions'])}")
    print(f"  {'emotion':<10} {'valence':>8} {'arousal':>8}")
    for e, (v, a) in s["means"].items():
        print(f"  {e:<10} {v:+8.3f} {a:+8.3f}")
    order = ", ".join(f"{e} {'yes' if ok else 'no'}" for e, ok in s["order"].items())
    print(f"  valence sign agrees for {s['valence_sign']:.3f} of {s['n_signed']} happy / sad / anger / disgust faces")
    print(f"  above sad and 0 in arousal: {order}")
    print(f"  nearest emotion right for {s['emotion_acc']:.3f} (majority class {s['majority']:.3f})")


def labelled_images(root: Path) -> tuple[list[Path], list[str]]:
    """ROOT/labels.csv (file, emotion) -> image paths (under ROOT, or ROOT/images as ../shared/data lays them out) and
    canonical emotion names; a missing file or column is an error (ValueError)."""
    import csv

    from models.data.emotions import canonical_emotion
    from models.data.realfaces import images_folder

    csv_path = root / "labels.csv"
    if not csv_path.is_file():
        raise ValueError(f"{csv_path} not found: --data needs a folder with labels.csv (file, emotion)")
    base = images_folder(root)  # checks the header too
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    paths = [base / r["file"] for r in rows]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise ValueError(f"{len(absent)} images listed in {csv_path} are missing, e.g. {absent[0]}")
    return paths, [canonical_emotion(r["emotion"]) for r in rows]


def quick_data(root: Path) -> Path:
    """280 synthetic faces of a seed no run trains on, as a labelled folder."""
    from models.data.synthetic import generate

    if not (root / "labels.csv").is_file():
        generate(root, n=280, seed=97, n_identities=40, progress=False)
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.unseen", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=None, help=f"a labelled face folder (labels.csv; default {CK})")
    p.add_argument("--runs", nargs="+", default=None, metavar="RUN",
                   help="runs under runs/ to score; the first gives the figures (default fer-levasa levasa)")
    p.add_argument("--quick", action="store_true", help="CI: synthetic faces of an unseen seed, a one-epoch run")
    args = p.parse_args(argv)
    from models.runs import CONFIG
    from scripts.bench.runs import demo_levasa
    from scripts.bench.serve import start_server, stop_server

    if args.quick:
        data, run_dirs = quick_data(Path("bench-out/unseen-quick")), [demo_levasa(True)]
    else:
        data, run_dirs = args.data or CK, [Path("runs") / r for r in (args.runs or ("fer-levasa", "levasa"))]
        absent = [str(p) for p in (data / "labels.csv", *(d / CONFIG for d in run_dirs)) if not p.is_file()]
        if args.data is None and args.runs is None and absent:  # make bench on a machine without them: a note
            print(f"CK+48 skipped: needs {', '.join(absent)} (python -m scripts.bench.eval --no-synth trains "
                  "runs/fer-levasa; levasa demo trains runs/levasa)")
            return 0
    try:
        paths, emotions = labelled_images(data)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    missing = [str(d) for d in run_dirs if not (d / CONFIG).is_file()]
    if missing:
        print(f"error: no run at {', '.join(missing)} (train it first: docs/training.md)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        for d in run_dirs:
            (Path(tmp) / d.name).symlink_to(d.resolve())
        proc, url = start_server(Path(tmp), log_path=Path(tmp) / "server.log")
        try:
            scores = {d.name: score(encode_all(url, d.name, paths), emotions) for d in run_dirs}
        finally:
            stop_server(proc)
    for run, s in scores.items():
        print_table(run, s)
    first, s = run_dirs[0].name, scores[run_dirs[0].name]
    beside = "; ".join(f"{r} {o['valence_sign']:.3f}" for r, o in scores.items() if r != first)
    q = " (quick)" if args.quick else ""
    print(f"FIGURE ck_valence_sign {s['valence_sign']:.3f}  ({first} on {data.name}, {s['n_signed']} faces"
          f"{'; ' + beside if beside else ''}){q}")
    beside = "; ".join(f"{r} {o['emotion_acc']:.3f}" for r, o in scores.items() if r != first)
    print(f"FIGURE ck_emotion_acc {s['emotion_acc']:.3f}  (majority class {s['majority']:.3f}"
          f"{'; ' + beside if beside else ''}){q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
