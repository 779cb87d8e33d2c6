"""Built-in synthetic face dataset: procedurally drawn 64x64 colour faces with exact valence-arousal labels.

One module over 400 lines on purpose: the renderer's layers share one canvas geometry (the constants below), and
splitting them would spread that geometry over several files.

Every expression feature is a smooth, monotone-ish function of (valence v, arousal a), defined over all of [-1, 1]^2:

    mouth curvature   v        corners 4.5 px above the middle at v = 1 (smile), 4.5 px below at v = -1 (frown)
    mouth width       v, a     wider when smiling, narrower (rounder) when aroused
    mouth opening     a        3.6 ((a + 1) / 2)^2 px each side of the centre line: a closed line at a = -1, ~7 px
                               open at a = 1; teeth show as v rises
    eye opening       a        ~1 px slit (sleepy, droopy) at a = -1 to ~5 px (wide) at a = 1
    brow height       a        raised up to ~2.2 px at a = 1, lowered at a = -1
    brow angle        v, a     a * max(-v, 0) (smoothed): inner ends down for v < 0 < a (anger, disgust), up for
                               v < 0, a < 0 (sadness); level for positive valence

Identity factors are independent of VA: face width/height and jaw taper, skin, hair colour and style (cap height,
fringe depth, parting, long hair), eye spacing, height and size, iris colour, brow thickness and arch, mouth height,
nose, background and shirt colour. An identity is one fixed draw of those; every image also gets its own small pose
(shift, in-plane rotation, scale) and lighting (brightness, directional gradient, colour cast) unless ``jitter=False``.

Labels follow the annotation-transfer recipe, so they are exact ground truth: a category drawn by class weights and a VA
point uniform over its AffectNet ellipse (models.transfer.sample_in_ellipses), plus a share drawn uniformly over the
unit disk whose category is its nearest ellipse (models.transfer.nearest_ellipse), so the whole plane is covered.

Speed: faces are drawn in vectorised numpy batches with soft signed-distance shapes (alpha = clip(0.5 - sdf, 0, 1), a
one-pixel linear ramp that doubles as anti-aliasing). The identity layers (background, hair, face, nose) are rendered
once per identity on an 80x80 canvas; per image only the eye/brow and mouth windows are drawn, then Pillow applies the
pose as one affine warp down to 64x64. 20,000 faces render and write in well under a minute on two cores.

Determinism: one seed fans out into independent streams (np.random.SeedSequence.spawn) for identities, labels, identity
choice and jitter; render_faces draws one uniform block per call, so rendering in batches from one generator gives the
same pixels as one big call.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from PIL import Image

from models.data.emotions import EMOTIONS, canonical_emotion
from models.data.packed import STORE
from models.data.packed import ref as packed_ref
from models.data.transfer import affectnet_ellipses, nearest_ellipse, sample_in_ellipses

SYNTH_VERSION: int = 1  # bump when the renderer or the label recipe changes what a seed produces
SIZE = 64  # output images are SIZE x SIZE x 3
MARGIN = 8  # canvas margin so a rotated / shifted / scaled face never samples outside the canvas
CANVAS = SIZE + 2 * MARGIN  # identity layers are drawn on CANVAS x CANVAS, then warped down to SIZE x SIZE
CX, CY = CANVAS / 2 - 0.5, CANVAS / 2 + 0.5  # canonical face centre in canvas pixel coordinates (pixel centres 0..79)

# Ranges of the identity factors that place the expression features; the per-image windows are sized to cover them.
EYE_HALF_SPACING = (8.0, 10.0)  # eye centre to face midline, px
EYE_DY = (-4.5, -2.5)  # eye height relative to the face centre, px
EYE_HALF_WIDTH = (3.6, 4.4)  # px
MOUTH_DY = (10.0, 12.0)  # mouth height relative to the face centre, px
MOUTH_HALF_WIDTH = (9.0, 10.5)  # at v = a = 0, px

# Per-image windows (canvas rows / columns) in which the expression is drawn; everything outside is the identity base.
_EYE_ROWS = (int(CY + EYE_DY[0] - 14), int(CY + EYE_DY[1] + 7))
_EYE_HALF_SPAN = EYE_HALF_SPACING[1] + EYE_HALF_WIDTH[1] * 1.25  # outer end of a brow
_EYE_COLS = (int(CX - _EYE_HALF_SPAN - 2), int(CX + _EYE_HALF_SPAN + 3))
_MOUTH_ROWS = (int(CY + MOUTH_DY[0] - 8), int(CY + MOUTH_DY[1] + 9))
_MOUTH_COLS = (int(CX - MOUTH_HALF_WIDTH[1] * 1.3 - 3), int(CX + MOUTH_HALF_WIDTH[1] * 1.3 + 4))

_N_JITTER = 8  # uniforms per image: dx, dy, rotation, scale, brightness, gradient angle, gradient strength, colour cast
MAX_SHIFT = 2.0  # px
MAX_ROT = np.deg2rad(5.0)
MAX_SCALE = 0.05  # scale in 1 +- MAX_SCALE

_SKIN_LIGHT = np.array([0.96, 0.82, 0.71])
_SKIN_DARK = np.array([0.42, 0.28, 0.20])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.30, 0.18, 0.10], [0.55, 0.36, 0.18], [0.85, 0.70, 0.40],
                  [0.62, 0.25, 0.10], [0.65, 0.65, 0.65]])  # black, dark brown, brown, blonde, red, grey
_IRIS = np.array([[0.30, 0.17, 0.08], [0.20, 0.40, 0.70], [0.25, 0.50, 0.30], [0.45, 0.45, 0.50]])


@dataclass(eq=False)  # array fields: identity, not element-wise, equality
class Identities:
    """Identity factors, one row per identity (all arrays (K,) or (K, 3) for colours). Independent of VA."""

    face_w: np.ndarray  # face ellipse half-width, px
    face_h: np.ndarray  # face ellipse half-height, px
    jaw: np.ndarray  # 0..1: how much the lower face narrows towards the chin
    skin: np.ndarray  # (K, 3) in [0, 1]
    hair: np.ndarray  # (K, 3)
    hair_top: np.ndarray  # hair cap height above the skull, px
    fringe: np.ndarray  # hairline depth below the top of the face, px
    parting: np.ndarray  # -1..1: hairline slant (side parting)
    long_hair: np.ndarray  # 0..1: hair length behind the face
    eye_dx: np.ndarray  # eye centre to midline, px
    eye_dy: np.ndarray  # eye height relative to the face centre, px
    eye_w: np.ndarray  # eye half-width, px
    iris: np.ndarray  # (K, 3)
    brow_r: np.ndarray  # brow half-thickness, px
    brow_arch: np.ndarray  # brow arch height, px
    mouth_dy: np.ndarray  # mouth height relative to the face centre, px
    mouth_w: np.ndarray  # mouth half-width at neutral, px
    lips: np.ndarray  # (K, 3)
    nose: np.ndarray  # nose size factor
    background: np.ndarray  # (K, 3)
    shirt: np.ndarray  # (K, 3)
    _base: np.ndarray | None = field(default=None, repr=False, compare=False)  # cached (K, CANVAS, CANVAS, 3) float32

    def __len__(self) -> int:
        return len(self.face_w)

    def base(self) -> np.ndarray:
        """Identity layers of every row on the canvas, float32 (K, CANVAS, CANVAS, 3); rendered once, then cached."""
        if self._base is None:
            self._base = _render_bases(self)
        return self._base


def sample_identities(n: int, rng: np.random.Generator) -> Identities:
    """Draw ``n`` identities. One uniform block per call, so the result depends only on the generator state and n."""
    if n < 1:
        raise ValueError(f"need at least one identity, got {n}")
    u = rng.random((n, 32))  # (n, 32); column j feeds factor j below

    def lerp(j: int, lo: float, hi: float) -> np.ndarray:
        return lo + (hi - lo) * u[:, j]

    def pick(j: int, palette: np.ndarray) -> np.ndarray:
        return palette[np.minimum((u[:, j] * len(palette)).astype(int), len(palette) - 1)]

    skin = _SKIN_LIGHT + (_SKIN_DARK - _SKIN_LIGHT) * u[:, 3:4] ** 1.3
    skin = skin * (1 + 0.06 * (u[:, 4:7] - 0.5))  # small hue variation
    hair = pick(7, _HAIR) * (0.8 + 0.4 * u[:, 8:9])
    hue = u[:, 20:23]
    background = 0.35 + 0.55 * hue * (0.4 + 0.6 * u[:, 23:24])  # muted, varied backgrounds
    shirt = 0.15 + 0.7 * u[:, 24:27]
    return Identities(
        face_w=lerp(0, 15.5, 19.0), face_h=lerp(1, 19.5, 22.5), jaw=lerp(2, 0.0, 0.35),
        skin=np.clip(skin, 0, 1), hair=np.clip(hair, 0, 1),
        hair_top=lerp(9, 1.0, 5.0) * (u[:, 10] > 0.06),  # a few are bald
        fringe=lerp(11, 3.0, 8.0), parting=lerp(12, -1.0, 1.0), long_hair=np.clip(lerp(13, -0.6, 1.0), 0, 1),
        eye_dx=lerp(14, *EYE_HALF_SPACING), eye_dy=lerp(15, *EYE_DY), eye_w=lerp(16, *EYE_HALF_WIDTH),
        iris=pick(17, _IRIS) * (0.85 + 0.3 * u[:, 18:19]),
        brow_r=lerp(19, 0.75, 1.15), brow_arch=lerp(28, 0.2, 1.0),
        mouth_dy=lerp(29, *MOUTH_DY), mouth_w=lerp(30, *MOUTH_HALF_WIDTH),
        lips=np.clip(skin * 0.6 + np.array([0.22, 0.0, 0.02]) * (0.6 + 0.8 * u[:, 27:28]), 0, 1),  # darker than skin
        nose=lerp(31, 0.8, 1.2), background=np.clip(background, 0, 1), shirt=shirt,
    )


def _alpha(sdf: np.ndarray) -> np.ndarray:
    """Soft coverage of a signed distance in px (negative inside): a one-pixel ramp, i.e. box-filter anti-aliasing."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def _over(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Composite ``colour`` (N, 3) with coverage ``alpha`` (N, H, W) over img (N, H, W, 3), in place."""
    colour = np.asarray(colour, np.float32)  # float64 colours would upcast every pixel
    img += alpha.astype(np.float32, copy=False)[..., None] * (colour[:, None, None, :] - img)


def _ellipse_sdf(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Approximate signed distance (px) to an axis-aligned ellipse with half-axes a, b centred at the origin."""
    k = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    return (k - 1.0) * np.minimum(a, b)


def _render_bases(ids: Identities) -> np.ndarray:
    """Identity layers: background, long hair, shirt and neck, ears, face, hair cap, nose. (K, CANVAS, CANVAS, 3)."""
    k = len(ids)
    col = lambda a: np.asarray(a, np.float32)[:, None, None]  # noqa: E731  (K,) -> (K, 1, 1)
    ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32)
    x = xs[None] - CX  # (1, C, C)
    y = ys[None] - CY
    img = np.empty((k, CANVAS, CANVAS, 3), np.float32)
    shade = 1.0 - 0.25 * (ys / CANVAS)[None, :, :, None]  # background darkens downwards
    img[:] = ids.background[:, None, None, :].astype(np.float32) * shade
    fw, fh, jaw = col(ids.face_w), col(ids.face_h), col(ids.jaw)
    # Long hair: a rounded slab behind the head, down to the shoulders.
    hl = col(ids.long_hair)
    long_sdf = np.maximum(_ellipse_sdf(x, y + 2, fw + 3.5, fh + 6), (y - (fh * 0.2 + hl * 20)))
    _over(img, _alpha(long_sdf) * (hl > 0.02), ids.hair)
    # Shirt (shoulders) and neck.
    shoulders = _ellipse_sdf(x, y - (fh + 17), fw * 2.1 + 2, col(np.full(k, 14.0)))
    _over(img, _alpha(shoulders), ids.shirt)
    neck = np.maximum(np.abs(x) - fw * 0.5, y - (fh + 9))
    neck = np.maximum(neck, -y)
    _over(img, _alpha(neck), ids.skin * 0.85)
    # Ears, then the face: an ellipse whose lower half narrows towards the chin by the jaw factor.
    ears = _ellipse_sdf(np.abs(x) - fw + 0.5, y + 1.0, col(np.full(k, 2.6)), col(np.full(k, 4.5)))
    _over(img, _alpha(ears), ids.skin * 0.93)
    taper = 1.0 - jaw * np.clip(y / fh, 0, 1) ** 2
    face = _ellipse_sdf(x / taper, y, fw, fh)
    _over(img, _alpha(face), ids.skin)
    # Soft cheek shading so the face reads as a volume: darker towards the rim.
    rim = np.clip(1.0 + face / (fw * 0.6), 0, 1) * _alpha(face)
    img *= (1.0 - 0.12 * rim)[..., None]
    # Hair cap: inside a slightly larger skull ellipse and above a hairline (fringe depth, slanted by the parting).
    top = -fh
    hairline = top + col(ids.fringe) + 2.0 * col(ids.parting) * (x / fw) + 0.12 * np.abs(x) ** 1.5 / np.sqrt(fw)
    skull = _ellipse_sdf(x, y + col(ids.hair_top) * 0.5, fw + 1.2, fh + col(ids.hair_top) * 0.5 + 0.5)
    cap = np.maximum(skull, y - hairline)
    cap = np.maximum(cap, np.abs(x) - fw - 1.0)
    _over(img, _alpha(cap) * (col(ids.hair_top) > 0), ids.hair)
    # Nose: a soft shadow on one side and two nostril dots.
    ns = col(ids.nose)
    nose_y = (col(ids.eye_dy) + col(ids.mouth_dy)) * 0.55
    ridge = np.maximum(np.abs(x - 1.3 * ns) - 0.6, np.abs(y - nose_y + 3 * ns) - 3.5 * ns)
    _over(img, _alpha(ridge) * 0.25, ids.skin * 0.6)
    nostrils = _ellipse_sdf(np.abs(x) - 1.6 * ns, y - nose_y - 0.5, 0.9 * ns, 0.6 * ns)
    _over(img, _alpha(nostrils) * 0.6, ids.skin * 0.45)
    return img


def render_faces(valence: np.ndarray, arousal: np.ndarray, identities: Identities, idx: np.ndarray,
                 rng: np.random.Generator | None = None, jitter: bool = True) -> np.ndarray:
    """Draw one face per row: identity ``identities[idx[i]]`` showing (valence[i], arousal[i]). uint8 (N, 64, 64, 3).

    With ``jitter`` each face gets its own pose and lighting from ``rng`` (one (N, 8) uniform block, so consecutive
    batches from one generator equal one call on their concatenation); ``jitter=False`` gives the canonical pose and
    lighting and needs no generator.
    """
    v = np.asarray(valence, np.float32).reshape(-1)
    a = np.asarray(arousal, np.float32).reshape(-1)
    idx = np.asarray(idx, np.int64).reshape(-1)
    n = len(v)
    assert len(a) == n and len(idx) == n, f"valence {len(v)}, arousal {len(a)} and idx {len(idx)} must match"
    if n and (idx.min() < 0 or idx.max() >= len(identities)):
        raise IndexError(f"identity index out of range 0..{len(identities) - 1}")
    if jitter and rng is None:
        raise ValueError("render_faces(jitter=True) needs an rng")
    u = rng.random((n, _N_JITTER)) if jitter else np.full((n, _N_JITTER), 0.5)  # (N, 8); 0.5 = no jitter
    if n == 0:
        return np.zeros((0, SIZE, SIZE, 3), np.uint8)
    canvas = identities.base()[idx]  # (N, C, C, 3) float32 copy
    p = {f.name: np.asarray(getattr(identities, f.name))[idx] for f in fields(identities) if f.name != "_base"}
    _draw_eyes_and_brows(canvas, v, a, p)
    _draw_mouth(canvas, v, a, p)
    _light(canvas, u)
    img = (canvas * 255.0 + 0.5).clip(0, 255).astype(np.uint8)  # (N, C, C, 3)
    return _warp(img, u)


def _window(canvas: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]):
    """A view of the canvas rows/cols and the pixel coordinates relative to the face centre: (view, x, y)."""
    ys, xs = np.mgrid[rows[0]:rows[1], cols[0]:cols[1]].astype(np.float32)
    return canvas[:, rows[0]:rows[1], cols[0]:cols[1]], (xs - CX)[None], (ys - CY)[None]


def _draw_eyes_and_brows(canvas: np.ndarray, v: np.ndarray, a: np.ndarray, p: dict) -> None:
    """Eyes (opening from arousal) and brows (height from arousal, inner-end angle from -valence x arousal)."""
    view, x, y = _window(canvas, _EYE_ROWS, _EYE_COLS)
    c = lambda q: np.asarray(q, np.float32)[:, None, None]  # noqa: E731  (N,) -> (N, 1, 1)
    t = c((a + 1.0) / 2.0)  # arousal as 0..1
    ex = np.abs(x) - c(p["eye_dx"])  # mirrored: both eyes share one shape; ex > 0 is the outer side
    ey = y - c(p["eye_dy"])
    ew = c(p["eye_w"])
    # Almond eye between two parabolic lids; the upper lid rises with arousal (sleepy slit -> wide open).
    s = np.clip(1.0 - (ex / ew) ** 2, 0.0, 1.0)
    up = 0.35 + 3.0 * t  # upper-lid height at the centre, px
    lo = 0.45 + 1.2 * t  # lower-lid depth, px
    droop = 0.6 * (1.0 - t) * np.clip(ex / ew, 0, 1)  # at low arousal the outer corner of the upper lid sags
    lid_up = -up * s + droop
    lid_lo = lo * s
    eye = np.maximum(np.maximum(lid_up - ey, ey - lid_lo), np.abs(ex) - ew)
    a_eye = _alpha(eye)
    white = np.full((len(v), 3), 0.96, np.float32)
    _over(view, a_eye, white)
    iris_d = np.sqrt(ex ** 2 + (ey - 0.2) ** 2)
    _over(view, a_eye * _alpha(iris_d - 2.1), np.asarray(p["iris"], np.float32))
    _over(view, a_eye * _alpha(iris_d - 1.0), np.zeros((len(v), 3), np.float32))
    glint = np.sqrt((ex + 0.7) ** 2 + (ey + 0.7) ** 2)
    _over(view, a_eye * _alpha(glint - 0.45) * 0.8, white)
    # Upper lash line: a dark stroke along the upper lid, so even a closed eye reads as a line.
    lash = np.maximum(np.abs(ey - lid_up) - 0.55, np.abs(ex) - ew - 0.3)
    lash_col = np.full((len(v), 3), 0.12, np.float32)
    _over(view, _alpha(lash) * 0.9, lash_col)
    # Brows: tapered strokes above the eyes. sb = +1 at the inner end, -1 at the outer end.
    bl = 1.25 * ew  # brow half-length
    sb = np.clip(-ex / bl, -1.5, 1.5)
    height = c(5.6 + 2.2 * a)  # brow centre above the eye centre, px; raised with arousal
    neg_v = 0.5 * (-v + np.sqrt(v * v + 0.01))  # smooth max(-v, 0): positive valence keeps level brows
    tilt = c(3.6 * a * neg_v)  # > 0: inner ends down (anger, disgust); < 0: inner ends up (sadness)
    curve = -height + tilt * sb - c(p["brow_arch"]) * (1.0 - sb ** 2)
    r = c(p["brow_r"]) * (1.0 + 0.25 * sb)
    brow = np.maximum(np.abs(ey - curve) - r, np.abs(ex) - bl)
    _over(view, _alpha(brow), (np.asarray(p["hair"], np.float32) * 0.6 + 0.04).clip(0, 1))


def _draw_mouth(canvas: np.ndarray, v: np.ndarray, a: np.ndarray, p: dict) -> None:
    """Mouth: corners bend up with valence, the lips part with arousal, teeth show as valence rises."""
    view, x, y = _window(canvas, _MOUTH_ROWS, _MOUTH_COLS)
    c = lambda q: np.asarray(q, np.float32)[:, None, None]  # noqa: E731  (N,) -> (N, 1, 1)
    vv, aa = c(v), c(a)
    mw = c(p["mouth_w"]) * (1.0 + 0.12 * vv - 0.12 * aa)  # wider smile, rounder when aroused
    mx = x
    my = y - c(p["mouth_dy"])
    u = mx / mw
    u2 = np.minimum(u ** 2, 1.0)
    bend = 4.5 * vv  # px the corners rise above (v > 0) or fall below (v < 0) the middle
    yc = -bend * (u2 - 1.0 / 3.0)  # centre line; its mean height stays put as the bend changes
    half_open = 3.6 * ((aa + 1.0) / 2.0) ** 2  # px at the middle: 0 at a = -1, 0.9 at a = 0, 3.6 at a = 1
    h = half_open * np.sqrt(1.0 - u2)
    dy = my - yc
    end = np.abs(mx) - mw
    upper, lower = 0.9, 1.3  # lip thicknesses, px
    lips = np.maximum(np.where(dy < 0, -dy - h - upper, dy - h - lower), end - 0.6)
    _over(view, _alpha(lips), np.asarray(p["lips"], np.float32))
    inside = np.maximum(np.abs(dy) - h, end)
    a_in = _alpha(inside)
    _over(view, a_in, np.tile(np.array([[0.25, 0.05, 0.06]], np.float32), (len(v), 1)))
    teeth_amount = np.clip((vv + 0.3) / 0.8, 0.0, 1.0)  # teeth show in a smile, not in a scream of fear
    teeth = (dy - (-h + np.minimum(1.8, h * 0.9)))  # band under the upper lip
    _over(view, a_in * _alpha(teeth) * teeth_amount, np.full((len(v), 3), 0.95, np.float32))
    # A thin dark line between the lips so a closed mouth's curvature stays crisp.
    seam = np.maximum(np.abs(dy) - h - 0.35, end + 0.5)
    _over(view, _alpha(seam) * 0.7, np.asarray(p["lips"], np.float32) * 0.45)


def _light(canvas: np.ndarray, u: np.ndarray) -> None:
    """Per-image brightness, directional gradient and colour cast, in place; u = 0.5 everywhere is neutral."""
    n = len(u)
    bright = 1.0 + 0.3 * (u[:, 4] - 0.5)  # 0.85 .. 1.15
    theta = 2 * np.pi * u[:, 5]
    strength = 0.3 * np.abs(u[:, 6] - 0.5)  # 0 .. 0.15; zero at the neutral 0.5
    cast = 1.0 + 0.08 * (u[:, 7:8] - 0.5) * np.array([[1.0, 0.0, -1.0]])  # warm / cool
    lin = (np.arange(CANVAS, dtype=np.float32) - CANVAS / 2) / (CANVAS / 2)  # -1..1
    gx = (np.cos(theta) * strength).astype(np.float32)[:, None, None] * lin[None, None, :]
    gy = (np.sin(theta) * strength).astype(np.float32)[:, None, None] * lin[None, :, None]
    gain = (bright.astype(np.float32)[:, None, None] + gx + gy)[..., None] * cast.astype(np.float32)[:, None, None, :]
    canvas *= gain.reshape(n, CANVAS, CANVAS, 3)


def _warp(img: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pose: shift, rotate and scale about the image centre while cropping CANVAS -> SIZE. (N, SIZE, SIZE, 3) uint8."""
    out = np.empty((len(img), SIZE, SIZE, 3), np.uint8)
    dx, dy = MAX_SHIFT * (2 * u[:, 0] - 1), MAX_SHIFT * (2 * u[:, 1] - 1)
    rot = MAX_ROT * (2 * u[:, 2] - 1)
    scale = 1.0 + MAX_SCALE * (2 * u[:, 3] - 1)
    oc, ic = SIZE / 2, CANVAS / 2  # centres in PIL's continuous coordinates
    for i in range(len(img)):
        if dx[i] == 0 and dy[i] == 0 and rot[i] == 0 and scale[i] == 1:
            out[i] = img[i, MARGIN:MARGIN + SIZE, MARGIN:MARGIN + SIZE]  # canonical: an exact crop
            continue
        # PIL maps each output point (X, Y) to the input point (a X + b Y + c, d X + e Y + f).
        cs, sn = np.cos(rot[i]) / scale[i], np.sin(rot[i]) / scale[i]
        ox, oy = oc + dx[i], oc + dy[i]
        coeffs = (cs, sn, ic - cs * ox - sn * oy, -sn, cs, ic + sn * ox - cs * oy)
        out[i] = np.asarray(Image.fromarray(img[i]).transform((SIZE, SIZE), Image.Transform.AFFINE, coeffs,
                                                              resample=Image.Resampling.BILINEAR))
    return out


def _weights(class_weights: dict[str, float] | None) -> np.ndarray:
    """Class weights over EMOTIONS as a probability vector; missing names weigh 1, unknown names are an error."""
    w = np.ones(len(EMOTIONS))
    for name, weight in (class_weights or {}).items():
        key = canonical_emotion(name)
        if key not in EMOTIONS:
            raise ValueError(f"unknown emotion {name!r} in class weights; known: {', '.join(EMOTIONS)}")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(f"class weight for {name!r} must be a finite number >= 0, got {weight}")
        w[EMOTIONS.index(key)] = float(weight)
    if w.sum() <= 0:
        raise ValueError("class weights are all zero")
    return w / w.sum()


def sample_labels(n: int, rng: np.random.Generator, uniform_share: float = 0.25,
                  class_weights: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact labels: (emotion names (N,), va (N, 2) float64 in the unit disk).

    round(uniform_share * n) rows, at random positions, are uniform over the unit disk with the nearest ellipse's
    category; the rest draw a category by ``class_weights`` (default equal over EMOTIONS; missing names weigh 1) and a
    point uniform over that category's AffectNet ellipse.
    """
    if not 0.0 <= uniform_share <= 1.0:
        raise ValueError(f"uniform_share must be in [0, 1], got {uniform_share}")
    ellipses = affectnet_ellipses()
    p = _weights(class_weights)
    k = int(round(uniform_share * n))
    is_uniform = np.zeros(n, bool)
    is_uniform[rng.permutation(n)[:k]] = True
    emotions = np.empty(n, dtype=f"<U{max(map(len, EMOTIONS))}")
    va = np.empty((n, 2))
    m = n - k
    emotions[~is_uniform] = np.array(EMOTIONS)[rng.choice(len(EMOTIONS), size=m, p=p)]
    va[~is_uniform], _ = sample_in_ellipses(list(emotions[~is_uniform]), ellipses, rng)
    r = np.sqrt(rng.random(k))  # sqrt: uniform in area
    t = rng.uniform(0.0, 2 * np.pi, k)
    va[is_uniform] = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    emotions[is_uniform] = nearest_ellipse(va[is_uniform], ellipses)
    return emotions, va


def _streams(seed: int) -> tuple[np.random.Generator, ...]:
    """Independent generators for identities, labels, identity choice and jitter, all from one seed."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))


def _iter_batches(n: int, seed: int, n_identities: int, uniform_share: float, class_weights: dict | None,
                  batch_size: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray, Iterator[tuple[int, np.ndarray]]]:
    """Labels for all n rows and an iterator of (start, images) batches. The single code path of generate*()."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng_id, rng_lab, rng_pick, rng_jit = _streams(seed)
    ids = sample_identities(n_identities, rng_id)
    emotions, va = sample_labels(n, rng_lab, uniform_share, class_weights)
    identity = rng_pick.integers(0, n_identities, n)

    def batches() -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, n, batch_size):
            s = slice(start, min(n, start + batch_size))
            yield start, render_faces(va[s, 0], va[s, 1], ids, identity[s], rng_jit)

    return emotions, va, identity, batches()


def generate_arrays(n: int, seed: int = 0, n_identities: int = 500, uniform_share: float = 0.25,
                    class_weights: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """In memory: (images uint8 (N, 64, 64, 3), emotions (N,), va (N, 2), identity int (N,)), as generate() writes."""
    emotions, va, identity, batches = _iter_batches(n, seed, n_identities, uniform_share, class_weights)
    images = np.concatenate([b for _, b in batches])
    return images, emotions, va, identity


def generate(out_dir: str | Path, n: int = 20000, seed: int = 0, n_identities: int = 500, uniform_share: float = 0.25,
             class_weights: dict | None = None, progress: bool = True, packed: bool = False) -> dict:
    """Write the faces (OUT/images/NNNNNN.png, or with ``packed`` one store OUT/faces.npy, models.data.packed),
    OUT/dataset.json and, last, OUT/labels.csv (file,emotion,valence,arousal,identity).

    labels.csv goes through a temporary file and os.replace, and any old one is removed first, so an interrupted run
    leaves no labels.csv. Returns a summary: n, identities, counts per emotion, seconds.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output path {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    labels = out / "labels.csv"
    labels.unlink(missing_ok=True)
    emotions, va, identity, batches = _iter_batches(n, seed, n_identities, uniform_share, class_weights)
    bar = None
    if progress:
        from tqdm import tqdm  # only the CLI path wants a bar; keep the import out of library use

        bar = tqdm(total=n, unit="face")
    files = _write_packed(out, n, batches, bar) if packed else _write_pngs(out, n, batches, bar)
    if bar is not None:
        bar.close()
    probs = {e: round(float(w), 6) for e, w in zip(EMOTIONS, _weights(class_weights))}
    params = {"version": SYNTH_VERSION, "seed": seed, "n": n, "identities": n_identities,
              "uniform_share": uniform_share, "class_weights": class_weights, "class_probabilities": probs,
              "size": SIZE, "images": STORE if packed else "images/", "labels": "labels.csv",
              "columns": ["file", "emotion", "valence", "arousal", "identity"]}
    (out / "dataset.json").write_text(json.dumps(params, indent=2) + "\n")
    tmp = out / "labels.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "emotion", "valence", "arousal", "identity"])
        for i in range(n):
            w.writerow([files[i], emotions[i], f"{va[i, 0]:.6f}", f"{va[i, 1]:.6f}", int(identity[i])])
    os.replace(tmp, labels)
    counts = Counter(emotions.tolist())
    return {"n": n, "identities": n_identities, "counts": {e: counts.get(e, 0) for e in EMOTIONS},
            "seconds": time.perf_counter() - t0}


def _write_pngs(out: Path, n: int, batches, bar) -> list[str]:
    (out / "images").mkdir(exist_ok=True)
    files = [f"images/{i:06d}.png" for i in range(n)]
    for start, images in batches:
        for j, im in enumerate(images):
            Image.fromarray(im).save(out / files[start + j], compress_level=1)
        if bar is not None:
            bar.update(len(images))
    return files


def _write_packed(out: Path, n: int, batches, bar) -> list[str]:
    """Every face into one store, written through a mapped temporary file and renamed when complete."""
    tmp = out / f"{STORE}.tmp{os.getpid()}.npy"
    try:
        store = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, 3, SIZE, SIZE))
        for start, images in batches:
            store[start:start + len(images)] = images.transpose(0, 3, 1, 2)
            if bar is not None:
                bar.update(len(images))
        store.flush()
        del store
        os.replace(tmp, out / STORE)
    finally:
        tmp.unlink(missing_ok=True)
    return [packed_ref(i) for i in range(n)]


def is_synthetic(root: str | Path | None) -> bool:
    """Whether the dataset folder holds this generator's faces (its dataset.json, as generate() writes it)."""
    try:
        meta = json.loads((Path(root or "") / "dataset.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and {"identities", "uniform_share", "version"} <= set(meta)


def identity_factors(root: str | Path) -> tuple[list[str], np.ndarray] | None:
    """The identity factors the generator drew for a synthetic dataset folder (redrawn from its dataset.json's seed):
    (names, (K, F) values, one row per identity, colours split into _r, _g, _b), or None for any other folder."""
    if not is_synthetic(root):
        return None
    meta = json.loads((Path(root) / "dataset.json").read_text())
    if meta["version"] != SYNTH_VERSION:
        return None
    ids = sample_identities(int(meta["identities"]), _streams(int(meta["seed"]))[0])
    names, cols = [], []
    for f in fields(Identities):
        if f.name.startswith("_"):
            continue
        values = getattr(ids, f.name)
        if values.ndim == 1:
            names.append(f.name)
            cols.append(values)
        else:
            names += [f"{f.name}_{c}" for c in "rgb"]
            cols += list(values.T)
    return names, np.stack(cols, 1).astype(np.float64)


def ensure_synthetic(out_dir: str | Path, n: int = 20000, seed: int = 0, log=print) -> Path:
    """The synthetic dataset in ``out_dir``, drawn unless a labels.csv is already there. Returns the folder."""
    out_dir = Path(out_dir)
    if not (out_dir / "labels.csv").is_file():
        log(f"== making {n:,} synthetic faces in {out_dir}")
        generate(out_dir, n=n, seed=seed)
    return out_dir
