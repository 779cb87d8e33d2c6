"""A user's photo: colour uploads met in the run's domain, and edits pasted into the photo itself.

    python -m scripts.bench.photo           # the demo's LeVAsa (runs/levasa) on synthetic faces, and FER2013's
                                            # (runs/fer-levasa) on its PrivateTest faces and for the colour check
    python -m scripts.bench.photo --quick   # CI: one-epoch runs on 2,000 synthetic faces and on their grayscale copies

Photos: each held-out face is upscaled 4x (bicubic) to 256 px and set in a 384 x 320 photo whose surround mirrors it,
the face box at (64, 32) as /edit's box would give it. Every face is edited to 8 targets (every 45 degrees at strength
0.8) with the service's own Inference and models.paste, then measured:
    paste_outside_box_max   the largest pixel change outside the face box (the raw decode's cannot be other than 0
                            either: both touch the box only)
    paste_sharpness_ratio   variance of the Laplacian in the box, edited photo over original; beside it the raw
                            decode's (the 64 px edit resized over the box, GANmut's paste)
    paste_judge_ccc_v / _a  the independent judge's CCC of target against what it reads from the pasted face box at the
                            model's size; beside it the same for the raw decode
Real faces (FER2013) carry the prefix fer_. color_gray_match: on a grayscale-trained run, the largest VA difference
between colour faces (the synthetic ones) and their grayscale copies through the service's upload path (decode, the
run's domain, crop, encode); beside it the same with the conversion skipped.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

UP = 4  # 64 px faces -> 256 px photos' faces
PAD = ((32, 32), (64, 64), (0, 0))  # the surround: 320 x 384 photos, face box at x 64, y 32
TARGETS = 0.8 * np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], 1).astype(np.float32)
FER_RUN = Path("runs/fer-levasa")


def photo_of(face: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A (S, S, 3) uint8 face -> a photo with it upscaled inside, and its face box."""
    s = face.shape[0] * UP
    big = np.asarray(Image.fromarray(face).resize((s, s), Image.Resampling.BICUBIC))
    return np.pad(big, PAD, mode="reflect"), (PAD[1][0], PAD[0][0], s, s)


def upload_read(run, infer, data: bytes) -> np.ndarray:
    """An image file through the service's upload path (decode, the run's domain, crop auto, encode) -> VA (2,)."""
    from backend.settings import Settings
    from backend.uploads import faces_of

    (face,) = faces_of([("photo", data)], Settings(), run)
    return infer.encode(face.pixels[None])[1][0]


def color_gray_match(run, faces: np.ndarray) -> tuple[float, float]:
    """(largest VA difference colour vs grayscale copy with the conversion, the same without) over ``faces``."""
    import dataclasses

    from backend.inference import Inference

    infer = Inference(run, "fp32")
    as_colour = dataclasses.replace(run, color="rgb")  # the same run with the conversion skipped: the baseline
    diff, raw = 0.0, 0.0
    for f in faces:
        colour, gray = _png(Image.fromarray(f)), _png(Image.fromarray(f).convert("L"))
        g = upload_read(run, infer, gray)
        diff = max(diff, float(np.abs(upload_read(run, infer, colour) - g).max()))
        raw = max(raw, float(np.abs(upload_read(as_colour, infer, colour) - g).max()))
    return diff, raw


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def paste_figures(run, faces: np.ndarray, judge_net) -> dict[str, float]:
    """Edit each face's photo to TARGETS, pasted and raw; the figures of the module docstring."""
    import torch

    from backend.imaging import crop_face
    from backend.inference import Inference
    from models.eval.affect import ccc
    from models.eval.image_quality import laplacian_variance
    from models.eval.judge import judge
    from models.paste import decode_in_box, edit_reach, paste_photo

    infer = Inference(run, "fp32")
    outside, sharp, sharp_raw, read, read_raw = 0, [], [], [], []
    for f in faces:
        photo, box = photo_of(f)
        face = crop_face(Image.fromarray(run.to_domain(photo)[0]), run.model_cfg.image_size, box=box)
        mu, origin = infer.encode(face.pixels[None])
        recon = infer.decode(mu)[0]
        edited, _, _ = infer.edit(np.repeat(mu, len(TARGETS), 0), TARGETS)
        reaches = edit_reach(TARGETS, origin[0])
        base = laplacian_variance(_inside(photo, box))[0]
        for e, r in zip(edited, reaches):
            pasted, raw = paste_photo(photo, box, e, recon, r, gray=run.color == "gray"), decode_in_box(photo, box, e)
            changed = np.abs(pasted.astype(int) - photo).max(2)
            x, y, w, h = box
            changed[y : y + h, x : x + w] = 0
            outside = max(outside, int(changed.max()))
            sharp.append(laplacian_variance(_inside(pasted, box))[0] / base)
            sharp_raw.append(laplacian_variance(_inside(raw, box))[0] / base)
            for out, p in ((read, pasted), (read_raw, raw)):
                seen = crop_face(Image.fromarray(run.to_domain(p)[0]), run.model_cfg.image_size, box=box).pixels
                out.append(torch.from_numpy(np.ascontiguousarray(seen.transpose(2, 0, 1)))[None])
    target = np.tile(TARGETS, (len(faces), 1))
    jv, jr = judge(judge_net, torch.cat(read)), judge(judge_net, torch.cat(read_raw))
    return {"outside": outside, "sharp": float(np.median(sharp)), "sharp_raw": float(np.median(sharp_raw)),
            "ccc_v": ccc(target[:, 0], jv[:, 0]), "ccc_a": ccc(target[:, 1], jv[:, 1]),
            "raw_v": ccc(target[:, 0], jr[:, 0]), "raw_a": ccc(target[:, 1], jr[:, 1]), "n": len(target)}


def _inside(photo: np.ndarray, box) -> np.ndarray:
    """The face box of a photo as one (1, 3, h, w) image."""
    x, y, w, h = box
    return photo[y : y + h, x : x + w].transpose(2, 0, 1)[None]


def held_out_faces(run, n: int, runs_dir: Path, quick: bool) -> tuple[np.ndarray, object]:
    """n held-out faces of the run's own dataset, (n, S, S, 3) uint8, and the evaluation's judge for it."""
    from models.data.labels import read_labels
    from models.eval.rundata import run_data
    from models.eval.tasks import load_judge

    data = run_data(run)
    held = np.flatnonzero(np.asarray(data.split) == data.heldout)
    rows = held[np.random.default_rng(0).choice(len(held), min(n, len(held)), replace=False)]
    files = read_labels(run.config["dataset"]["root"], require_va=True).files
    judge_net, _ = load_judge(runs_dir, files, data, quick=quick, progress=not quick)
    return data.images[rows].numpy().transpose(0, 2, 3, 1).copy(), judge_net


def gray_copy(src: Path, dst: Path) -> Path:
    """A grayscale copy of a dataset folder (labels.csv and images converted to L), made once."""
    import shutil

    if (dst / "labels.csv").is_file():
        return dst
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for p in sorted(src.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts):
            out = tmp / p.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
                Image.open(p).convert("L").save(out)
            else:
                shutil.copyfile(p, out)
    tmp.rename(dst)
    return dst


def print_paste(prefix: str, name: str, r: dict, quick: str) -> None:
    print(f"FIGURE {prefix}paste_outside_box_max {r['outside']}  ({name}, {r['n']} edits){quick}")
    print(f"FIGURE {prefix}paste_sharpness_ratio {r['sharp']:.3f}  (raw decode {r['sharp_raw']:.3f}){quick}")
    print(f"FIGURE {prefix}paste_judge_ccc_v {r['ccc_v']:.3f}  (raw decode {r['raw_v']:.3f}){quick}")
    print(f"FIGURE {prefix}paste_judge_ccc_a {r['ccc_a']:.3f}  (raw decode {r['raw_a']:.3f}){quick}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.photo", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: one-epoch runs on 2,000 synthetic faces, 8 faces")
    p.add_argument("--faces", type=int, default=None, help="faces per run (default 64; quick 8)")
    args = p.parse_args(argv)
    from models.recipes import load_recipe
    from models.runs import WEIGHTS, load_run
    from models.train.ensure import ensure_run
    from scripts.bench.runs import QUICK_DATA, demo_levasa

    n = args.faces or (8 if args.quick else 64)
    q = " (quick)" if args.quick else ""
    synth = load_run(demo_levasa(args.quick))
    faces, judge_net = held_out_faces(synth, n, synth.path.parent, args.quick)
    print_paste("", f"{synth.name} on synthetic faces", paste_figures(synth, faces, judge_net), q)
    if args.quick:
        gray_dir = Path("bench-out/photo-quick/levasa-gray")
        ensure_run(gray_dir, load_recipe("levasa"), data=gray_copy(QUICK_DATA, Path("bench-out/synth-quick-gray")),
                   epochs=1)
        gray = load_run(gray_dir)
    elif (FER_RUN / WEIGHTS).is_file():
        gray = load_run(FER_RUN)
        real, fer_judge = held_out_faces(gray, n, FER_RUN.parent, False)
        print_paste("fer_", f"{gray.name} on FER2013 {gray.config['dataset'].get('name')}",
                    paste_figures(gray, real, fer_judge), q)
    else:
        print(f"{FER_RUN} not found: the real-face and colour figures need it (README, FER2013)")
        return 0
    diff, raw = color_gray_match(gray, faces[: max(8, n // 4)])
    print(f"FIGURE color_gray_match {diff:.6f}  (conversion skipped {raw:.4f}; {gray.name}, trained on "
          f"{gray.color} faces){q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
