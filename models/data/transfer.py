"""Annotation transfer: valence-arousal labels for datasets that only have emotion categories.

Per category, an ellipse from an anchor dataset that has VA (centre = mean V, mean A; semi-axes = std V, std A), and a
point drawn uniformly over its area (LeVAsa paper):  r ~ U(0, 1), t ~ U(0, 2 pi),
    v = mu_v + s_v sqrt(r) cos t,   a = mu_a + s_a sqrt(r) sin t.
sqrt(r) makes the density uniform in area: ((v - mu_v) / s_v)^2 + ((a - mu_a) / s_a)^2 = r is then U(0, 1).
The discrete variant is round(10 v), round(10 a) in -10..10.

A category without statistics is an error naming it (or is dropped on request), never a guess.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.data.emotions import AFFECTNET_STATS, canonical_emotion

ELLIPSES_FILE = "ellipses.json"  # beside a transferred dataset's labels.csv: the statistics used, and the seed


class UnknownEmotionError(ValueError):
    """Some rows carry an emotion that has no ellipse statistics."""


@dataclass(frozen=True)
class Ellipse:
    mu_v: float
    s_v: float
    mu_a: float
    s_a: float
    n: int = 0  # samples the statistics came from (0: published)

    def as_row(self) -> dict:
        return {"mu_v": self.mu_v, "s_v": self.s_v, "mu_a": self.mu_a, "s_a": self.s_a, "n": self.n}


def affectnet_ellipses() -> dict[str, Ellipse]:
    """The published AffectNet training-set ellipses (7 categories, no contempt)."""
    return {name: Ellipse(*row) for name, row in AFFECTNET_STATS.items()}


def ellipses_from_labels(
    emotions: Iterable[str], valence: Sequence[float], arousal: Sequence[float], min_count: int = 2
) -> dict[str, Ellipse]:
    """Per-category mean and std (ddof=1, as the published table) from any VA-labelled dataset.

    Categories with fewer than ``min_count`` samples get no ellipse (a std of one sample is undefined).
    """
    names = np.array([canonical_emotion(e) for e in emotions])
    v, a = np.asarray(valence, float), np.asarray(arousal, float)
    if not (len(names) == len(v) == len(a)):
        raise ValueError(f"emotions, valence and arousal differ in length: {len(names)}, {len(v)}, {len(a)}")
    out = {}
    for name in sorted(set(names)):
        m = names == name
        if m.sum() >= max(2, min_count):
            out[name] = Ellipse(
                float(v[m].mean()), float(v[m].std(ddof=1)), float(a[m].mean()), float(a[m].std(ddof=1)), int(m.sum())
            )
    return out


def sample_in_ellipses(
    emotions: Sequence[str], ellipses: dict[str, Ellipse], rng: np.random.Generator, drop_unknown: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one VA point per row uniformly over its category's ellipse.

    Returns (va, keep): va (N, 2) float in [-1, 1] (NaN for dropped rows) and keep (N,) bool. Raises
    UnknownEmotionError naming every category without statistics unless ``drop_unknown``.
    """
    names = [canonical_emotion(e) for e in emotions]
    missing = Counter(n for n in names if n not in ellipses)
    if missing and not drop_unknown:
        first = next(i for i, n in enumerate(names) if n in missing)
        listed = ", ".join(f"{k!r} ({c} rows)" for k, c in sorted(missing.items()))
        raise UnknownEmotionError(
            f"no VA statistics for emotion {listed}; first at row {first}. Known: {', '.join(sorted(ellipses))}. "
            "Give statistics for it (--stats-from a VA-labelled dataset) or drop it (--drop-unknown)."
        )
    keep = np.array([n in ellipses for n in names], bool)
    n = len(names)
    r = rng.uniform(0.0, 1.0, n)
    t = rng.uniform(0.0, 2 * np.pi, n)
    va = np.full((n, 2), np.nan)
    if keep.any():
        e = np.array([_ellipse_row(ellipses[k]) for k, ok in zip(names, keep) if ok])  # (K, 4)
        rk, tk = np.sqrt(r[keep]), t[keep]
        va[keep, 0] = e[:, 0] + e[:, 1] * rk * np.cos(tk)
        va[keep, 1] = e[:, 2] + e[:, 3] * rk * np.sin(tk)
        va[keep] = np.clip(va[keep], -1.0, 1.0)  # computed statistics may reach past the circumplex
    return va, keep


def to_discrete(va: np.ndarray) -> np.ndarray:
    """Continuous VA in [-1, 1] -> integers round(10 x) in -10..10."""
    return np.clip(np.rint(np.asarray(va, float) * 10), -10, 10).astype(int)


def nearest_ellipse(va: np.ndarray, ellipses: dict[str, Ellipse]) -> np.ndarray:
    """Category of each VA point: the ellipse with the least normalised (axis-aligned Mahalanobis) distance
    ((v - mu_v) / s_v)^2 + ((a - mu_a) / s_a)^2. Returns an array of names."""
    names = sorted(ellipses)
    e = np.array([_ellipse_row(ellipses[k]) for k in names])  # (K, 4)
    va = np.asarray(va, float).reshape(-1, 2)
    d = ((va[:, None, 0] - e[None, :, 0]) / e[None, :, 1]) ** 2 + (
        (va[:, None, 1] - e[None, :, 2]) / e[None, :, 3]
    ) ** 2
    return np.array(names)[d.argmin(1)]


def _ellipse_row(e: Ellipse) -> tuple[float, float, float, float]:
    return (e.mu_v, e.s_v, e.mu_a, e.s_a)


def transfer_labels(
    labels_csv: Path,
    out_dir: Path,
    ellipses: dict[str, Ellipse],
    *,
    seed: int = 0,
    discrete: bool = False,
    drop_unknown: bool = False,
    images_dir: Path | None = None,
    join_csv: Path | None = None,
    keep_given: bool = False,
) -> dict:
    """Read a labels.csv (file, emotion, ...), add VA sampled from the ellipses, write OUT/labels.csv.
    ``keep_given``: a row that already has valence and arousal in [-1, 1] keeps them (only the rest are sampled).

    ``file`` paths are rewritten relative to OUT so the new folder reads as a dataset wherever the images live
    (``images_dir``: where the files are, default the CSV's folder). ``join_csv`` adds its columns (a split, a subject
    id) by file name. Discrete mode snaps VA to the -10..10 grid and also writes valence_10 / arousal_10.
    Returns a summary (counts per emotion, dropped rows).
    """
    labels_csv, out_dir = Path(labels_csv), Path(out_dir)
    images_dir = Path(images_dir) if images_dir else labels_csv.parent
    rows, header = _read_csv(labels_csv, required=("file", "emotion"))
    if join_csv is not None:
        header += _join_columns(rows, header, Path(join_csv))
    va, keep = sample_in_ellipses([r["emotion"] for r in rows], ellipses, np.random.default_rng(seed), drop_unknown)
    given = _given_va(rows) if keep_given else np.zeros(len(rows), bool)
    for i in np.flatnonzero(given):
        va[i], keep[i] = (float(rows[i]["valence"]), float(rows[i]["arousal"])), True
    if discrete:
        va[keep] = to_discrete(va[keep]) / 10.0
    out_dir.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(images_dir.resolve(), out_dir.resolve())
    out_rows = [_labelled_row(r, v, a, rel, discrete) for r, (v, a), ok in zip(rows, va, keep) if ok]
    cols = [h for h in header if h not in ("valence", "arousal", "valence_10", "arousal_10")]
    cols += ["valence", "arousal"] + (["valence_10", "arousal_10"] if discrete else [])
    _write_rows(out_dir / "labels.csv", cols, out_rows)
    stats = {"seed": seed, "discrete": discrete, "source": str(labels_csv),
             "ellipses": {k: e.as_row() for k, e in ellipses.items()}}
    (out_dir / ELLIPSES_FILE).write_text(json.dumps(stats, indent=2) + "\n")
    names = [canonical_emotion(r["emotion"]) for r in rows]
    return {
        "rows": len(rows),
        "written": len(out_rows),
        "given": int(given.sum()),
        "dropped": dict(Counter(n for n, k in zip(names, keep) if not k)),
        "per_emotion": dict(Counter(n for n, k in zip(names, keep) if k)),
    }


def _given_va(rows: list[dict]) -> np.ndarray:
    """(N,) bool: the rows whose valence and arousal are numbers in [-1, 1]."""
    def ok(r: dict) -> bool:
        try:
            v, a = float(r.get("valence") or "nan"), float(r.get("arousal") or "nan")
        except ValueError:
            return False
        return -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0
    return np.array([ok(r) for r in rows], bool)


def _join_columns(rows: list[dict], header: list[str], join_csv: Path) -> list[str]:
    """Add ``join_csv``'s columns to every row by file name (in place); returns the new column names."""
    extra, extra_header = _read_csv(join_csv, required=("file",))
    by_file = {r["file"]: r for r in extra}
    missing = [r["file"] for r in rows if r["file"] not in by_file]
    if missing:
        raise ValueError(f"{join_csv} has no row for {len(missing)} file(s), e.g. {missing[0]!r}")
    new_cols = [h for h in extra_header if h not in header]
    for r in rows:
        r.update({h: by_file[r["file"]][h] for h in new_cols})
    return new_cols


def _labelled_row(r: dict, v: float, a: float, rel: str, discrete: bool) -> dict:
    out = dict(r, file=os.path.normpath(os.path.join(rel, r["file"])), emotion=canonical_emotion(r["emotion"]),
               valence=f"{v:.6f}", arousal=f"{a:.6f}")
    if discrete:
        out.update(valence_10=str(round(v * 10)), arousal_10=str(round(a * 10)))
    return out


def _write_rows(path: Path, cols: list[str], rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _read_csv(path: Path, required: tuple[str, ...]) -> tuple[list[dict], list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
        rows = list(reader)
    for i, r in enumerate(rows, start=1):
        if None in r or any(r.get(h) is None for h in header):
            raise ValueError(f"{path} row {i}: expected {len(header)} fields ({', '.join(header)})")
    return rows, header
