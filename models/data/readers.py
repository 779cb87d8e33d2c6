"""Readers for the datasets the field uses: each turns a dataset in its own layout into rows for a labels.csv
(models.data.labels), and says what it skipped and why.

    AffectNet (manual annotations, CSV)   training.csv / validation.csv: subDirectory_filePath, face_x, face_y,
                                          face_width, face_height, facial_landmarks, expression, valence, arousal.
                                          expression 0-7 = neutral ... contempt; 8 none, 9 uncertain, 10 no face are
                                          dropped (counted); valence / arousal -2 means "no VA".
    AffectNet (per-image annotations)     images/N.jpg with annotations/N_exp.npy, N_val.npy, N_aro.npy (values may be
                                          stored as numbers or as strings, as the release does).
    AFEW-VA                               one folder per clip: NNN/NNN.json {"frames": {"00000": {"valence", "arousal",
                                          "landmarks"}}} beside NNN/00000.png; VA in -10..10 is scaled to [-1, 1]; the
                                          face box comes from the landmarks; the emotion from the nearest category
                                          ellipse (no category is annotated).
    IMFDB-style                           per-movie folders holding an annotation .txt (one line per image, whitespace
                                          or tab separated, an emotion word in some column) and the images (beside it
                                          or in images/); the actor is the movie folder's parent.
    folder per class                      ROOT/<emotion>/<image> (CK+48, FER2013 folders, ...).

Rows are dicts: file (path relative to the output folder), emotion, valence, arousal ('' when unknown), and extra
columns (subject, clip, split, face_x/face_y/face_width/face_height for a face box the loader crops).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.data.emotions import ALL_EMOTIONS, canonical_emotion

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
AFFECTNET_DROPPED = {8: "expression 8 (none)", 9: "expression 9 (uncertain)", 10: "expression 10 (no face)"}
BOX = ("face_x", "face_y", "face_width", "face_height")


class ReaderError(ValueError):
    """The dataset cannot be read at all (wrong folder, missing annotation file); the message says what was expected."""


@dataclass
class Imported:
    name: str
    rows: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few offending items
    notes: Counter = field(default_factory=Counter)  # rows kept with a caveat -> count

    def skip(self, reason: str, item: str) -> None:
        self.skipped[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 3:
            ex.append(item)

    def report(self) -> str:
        lines = [f"{self.name}: {len(self.rows):,} rows kept, {sum(self.skipped.values()):,} skipped"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  skipped {n:>7,}  {reason}  (e.g. {', '.join(self.examples[reason])})")
        for note, n in self.notes.most_common():
            lines.append(f"  kept    {n:>7,}  {note}")
        return "\n".join(lines)


def _va(v: float, a: float) -> tuple[str, str]:
    return f"{v:.6g}", f"{a:.6g}"


# --- AffectNet -------------------------------------------------------------------------------------------------------
def read_affectnet_csv(csv_path: str | Path, images_root: str | Path) -> Imported:
    """AffectNet's manually annotated CSV list; images under images_root/subDirectory_filePath."""
    csv_path, images_root = Path(csv_path), Path(images_root)
    if not csv_path.is_file():
        raise ReaderError(f"AffectNet list {csv_path} not found (training.csv or validation.csv)")
    out = Imported(f"AffectNet ({csv_path.name})")
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        need = ["subDirectory_filePath", "expression", "valence", "arousal"]
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise ReaderError(f"{csv_path}: missing column(s) {', '.join(missing)}; an AffectNet list has "
                              f"subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, "
                              f"expression, valence, arousal")
        for i, r in enumerate(reader, start=1):
            item = f"row {i} {r.get('subDirectory_filePath')}"
            try:
                code = int(float(r["expression"]))
            except (TypeError, ValueError):
                out.skip("expression is not a number", item)
                continue
            if code in AFFECTNET_DROPPED:
                out.skip(AFFECTNET_DROPPED[code], item)
                continue
            if not 0 <= code < len(ALL_EMOTIONS):
                out.skip(f"expression {code} outside 0-10", item)
                continue
            path = images_root / r["subDirectory_filePath"]
            if not path.is_file():
                out.skip("image file missing", item)
                continue
            row = {"file": path, "emotion": ALL_EMOTIONS[code], "valence": "", "arousal": ""}
            try:
                v, a = float(r["valence"]), float(r["arousal"])
            except (TypeError, ValueError):
                v = a = -2.0
            if v == -2 or a == -2:
                out.notes["without VA (valence/arousal -2)"] += 1
            elif -1 <= v <= 1 and -1 <= a <= 1:
                row["valence"], row["arousal"] = _va(v, a)
            else:
                out.skip("valence/arousal outside [-1, 1]", item)
                continue
            box = [r.get(k, "") for k in BOX]
            if all(b.strip() for b in box):
                try:
                    x, y, w, h = (int(float(b)) for b in box)
                    if w > 0 and h > 0:
                        row.update(dict(zip(BOX, map(str, (x, y, w, h)))))
                except ValueError:
                    pass
            out.rows.append(row)
    return out


def _npy_value(path: Path) -> float:
    """One value from an AffectNet per-image .npy (stored as a number or as a string)."""
    arr = np.load(path, allow_pickle=False)
    return float(np.asarray(arr).reshape(-1)[0])


def read_affectnet_npy(root: str | Path) -> Imported:
    """AffectNet's per-image layout: ROOT/images/N.jpg and ROOT/annotations/N_exp.npy, N_val.npy, N_aro.npy."""
    root = Path(root)
    images, ann = root / "images", root / "annotations"
    if not images.is_dir() or not ann.is_dir():
        raise ReaderError(f"{root}: expected images/ and annotations/ (N.jpg with N_exp.npy, N_val.npy, N_aro.npy)")
    out = Imported(f"AffectNet per-image ({root.name})")
    for img in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_EXTS):
        n = img.stem
        files = {k: ann / f"{n}_{k}.npy" for k in ("exp", "val", "aro")}
        if not all(p.is_file() for p in files.values()):
            out.skip("annotation file missing", img.name)
            continue
        try:
            code, v, a = (_npy_value(files[k]) for k in ("exp", "val", "aro"))
        except (ValueError, OSError) as e:
            out.skip(f"unreadable annotation ({type(e).__name__})", img.name)
            continue
        code = int(code)
        if code in AFFECTNET_DROPPED:
            out.skip(AFFECTNET_DROPPED[code], img.name)
            continue
        if not 0 <= code < len(ALL_EMOTIONS):
            out.skip(f"expression {code} outside 0-10", img.name)
            continue
        row = {"file": img, "emotion": ALL_EMOTIONS[code], "valence": "", "arousal": ""}
        if -1 <= v <= 1 and -1 <= a <= 1:
            row["valence"], row["arousal"] = _va(v, a)
        elif v == -2 or a == -2:
            out.notes["without VA (valence/arousal -2)"] += 1
        else:
            out.skip("valence/arousal outside [-1, 1]", img.name)
            continue
        out.rows.append(row)
    return out


# --- AFEW-VA ---------------------------------------------------------------------------------------------------------
def read_afew_va(root: str | Path, ellipses: dict | None = None, margin: float = 0.2) -> Imported:
    """AFEW-VA: ROOT/<clip>/<clip>.json with per-frame valence, arousal (-10..10) and landmarks; frames
    <clip>/<frame>.png.

    The face box is the landmarks' bounding square grown by ``margin`` on each side. Each frame's emotion is the nearest
    category ellipse to its VA (AffectNet's by default): AFEW-VA annotates no category (column emotion_source says so).
    """
    from models.data.transfer import affectnet_ellipses, nearest_ellipse

    root = Path(root)
    if not root.is_dir():
        raise ReaderError(f"AFEW-VA folder {root} not found")
    ellipses = ellipses or affectnet_ellipses()
    out = Imported(f"AFEW-VA ({root.name})")
    clips = sorted(d for d in root.iterdir() if d.is_dir())
    if not clips:
        raise ReaderError(f"{root}: no clip folders (expected NNN/NNN.json beside NNN/00000.png ...)")
    for clip in clips:
        ann = clip / f"{clip.name}.json"
        if not ann.is_file():
            jsons = list(clip.glob("*.json"))
            if len(jsons) != 1:
                out.skip("clip without its annotation JSON", clip.name)
                continue
            ann = jsons[0]
        try:
            frames = json.loads(ann.read_text())["frames"]
            assert isinstance(frames, dict)
        except (ValueError, KeyError, AssertionError, TypeError):
            out.skip("annotation JSON unreadable or without 'frames'", clip.name)
            continue
        for fid, fr in sorted(frames.items()):
            item = f"{clip.name}/{fid}"
            img = next((clip / f"{fid}{ext}" for ext in (".png", ".jpg", ".jpeg") if (clip / f"{fid}{ext}").is_file()),
                       None)
            if img is None:
                out.skip("frame image missing", item)
                continue
            try:
                v, a = float(fr["valence"]) / 10.0, float(fr["arousal"]) / 10.0
            except (KeyError, TypeError, ValueError):
                out.skip("frame without valence/arousal", item)
                continue
            if not (-1 <= v <= 1 and -1 <= a <= 1):
                out.skip("valence/arousal outside -10..10", item)
                continue
            row = {"file": img, "valence": "", "arousal": "", "clip": clip.name, "frame": fid}
            row["valence"], row["arousal"] = _va(v, a)
            row["emotion"] = str(nearest_ellipse(np.array([[v, a]]), ellipses)[0])
            row["emotion_source"] = "nearest ellipse"
            lm = np.asarray(fr.get("landmarks") or [], dtype=float)
            if lm.ndim == 2 and lm.shape[1] == 2 and len(lm) >= 3 and np.isfinite(lm).all():
                (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
                side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                row.update(dict(zip(BOX, (str(int(round(cx - side / 2))), str(int(round(cy - side / 2))),
                                          str(int(round(side))), str(int(round(side)))))))
            out.rows.append(row)
    return out


# --- IMFDB-style -----------------------------------------------------------------------------------------------------
def read_imfdb(root: str | Path) -> Imported:
    """Per-movie annotation text files: every .txt under ROOT whose lines name an image beside it (or in images/) and
    carry an emotion word; the actor (subject) is the movie folder's parent folder."""
    root = Path(root)
    if not root.is_dir():
        raise ReaderError(f"IMFDB folder {root} not found")
    out = Imported(f"IMFDB ({root.name})")
    txts = sorted(root.rglob("*.txt"))
    if not txts:
        raise ReaderError(f"{root}: no annotation .txt files (one per movie folder, a line per image)")
    for txt in txts:
        movie = txt.parent
        dirs = [d for d in (movie / "images", movie) if d.is_dir()]
        names = {p.name: p for d in dirs for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS}
        lines = [ln for ln in txt.read_text(errors="replace").splitlines() if ln.strip()]
        for k, line in enumerate(lines, start=1):
            item = f"{txt.relative_to(root)}:{k}"
            tokens = [t.strip() for t in re.split(r"\t|\s{2,}|,|\s", line) if t.strip()]
            img = next((names[t] for t in tokens if t in names), None)
            emo = next((canonical_emotion(t) for t in tokens if canonical_emotion(t) in ALL_EMOTIONS
                        and not t.isdigit()), None)
            if img is None:
                out.skip("no image named on the line (or the image is missing)", item)
                continue
            if emo is None:
                out.skip("no emotion word on the line", item)
                continue
            out.rows.append({"file": img, "emotion": emo, "valence": "", "arousal": "",
                             "subject": movie.parent.name if movie.parent != root.parent else movie.name,
                             "movie": movie.name})
    return out


# --- folder per class ------------------------------------------------------------------------------------------------
def read_folders(root: str | Path, subject_regex: str | None = None) -> Imported:
    """ROOT/<emotion>/<image>; folders whose name is no known emotion are skipped (counted). ``subject_regex`` (one
    group) takes a subject id from each file name, e.g. CK+'s r"^(S\\d+)_"."""
    root = Path(root)
    if not root.is_dir():
        raise ReaderError(f"dataset folder {root} not found")
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ReaderError(f"{root}: no class folders (expected ROOT/<emotion>/<image>)")
    pat = re.compile(subject_regex) if subject_regex else None
    out = Imported(f"folders ({root.name})")
    for d in classes:
        emo = canonical_emotion(d.name)
        files = sorted(p for p in d.rglob("*") if p.is_file())
        if emo not in ALL_EMOTIONS:
            for p in files:
                out.skip(f"folder {d.name!r} is no known emotion ({', '.join(ALL_EMOTIONS)})", str(p.relative_to(root)))
            continue
        for p in files:
            if p.suffix.lower() not in IMAGE_EXTS:
                out.skip("not an image file", str(p.relative_to(root)))
                continue
            row = {"file": p, "emotion": emo, "valence": "", "arousal": ""}
            if pat:
                m = pat.search(p.name)
                if not m:
                    out.skip("file name does not match the subject pattern", str(p.relative_to(root)))
                    continue
                row["subject"] = m.group(1)
            out.rows.append(row)
    return out


# --- statistics from any VA-labelled list -----------------------------------------------------------------------------
def va_labels(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(emotions, va (N, 2)) of every row with both from a VA-labelled list: one of our labels.csv files or an AffectNet
    list (detected by its subDirectory_filePath column; no images needed), for computing category ellipses."""
    path = Path(path)
    if not path.is_file():
        raise ReaderError(f"{path} not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        affectnet = "subDirectory_filePath" in cols
        emo_col = "expression" if affectnet else "emotion"
        if not {emo_col, "valence", "arousal"} <= set(cols):
            raise ReaderError(f"{path}: needs columns emotion (or AffectNet's expression), valence, arousal; "
                              f"found {', '.join(cols) or 'none'}")
        emotions, va = [], []
        for r in reader:
            try:
                v, a = float(r["valence"]), float(r["arousal"])
            except (TypeError, ValueError):
                continue
            if not (-1 <= v <= 1 and -1 <= a <= 1):
                continue  # AffectNet's -2 (no VA) and anything out of range
            e = canonical_emotion(r[emo_col])
            if e in ALL_EMOTIONS:
                emotions.append(e)
                va.append((v, a))
    if not emotions:
        raise ReaderError(f"{path}: no row with an emotion and VA in [-1, 1]")
    return emotions, np.asarray(va, np.float64)


# --- output ----------------------------------------------------------------------------------------------------------
def write_dataset(imp: Imported, out_dir: str | Path) -> Path:
    """OUT/labels.csv (file paths relative to OUT, so OUT and the images may move together) and OUT/import.json (what
    was skipped and why). Written through a temporary file, so an interrupted write leaves no labels.csv."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not imp.rows:
        raise ReaderError(f"{imp.name}: nothing to write (every row was skipped)\n{imp.report()}")
    base = ["file", "emotion", "valence", "arousal"]
    extra = sorted({k for r in imp.rows for k in r} - set(base))
    tmp = out_dir / "labels.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=base + extra)
        w.writeheader()
        for r in imp.rows:
            w.writerow({**{k: "" for k in extra}, **r,
                        "file": os.path.relpath(Path(r["file"]).resolve(), out_dir.resolve())})
    os.replace(tmp, out_dir / "labels.csv")
    n_va = sum(1 for r in imp.rows if r.get("valence") != "")
    (out_dir / "import.json").write_text(json.dumps({
        "source": imp.name, "rows": len(imp.rows), "with_va": n_va,
        "emotions": dict(Counter(r["emotion"] for r in imp.rows).most_common()),
        "skipped": dict(imp.skipped.most_common()), "examples": imp.examples, "kept_with_notes": dict(imp.notes)},
        indent=2))
    return out_dir / "labels.csv"
