"""An edit pasted into the user's own photo: the photo's pixels, changed only as far as the edit goes.

The decoder's 64 px face is far softer than a photo, so pasting the decode back over the face (GANmut's way) loses the
photo's detail and the person. Two ways keep it:
- add the change: the photo plus (edited decode - the unedited reconstruction), upsampled. At the face's own VA the
  photo comes back exactly, but all of the photo's own expression stays too, and the judge reads the old one through
  the new;
- transfer the detail: the edited decode's coarse structure (where expression lives) plus the photo's fine detail
  (above a blur of about one pixel of the model's size). The judge reads the target as from the raw decode and the
  detail stays, but the face's coarse shape is the decoder's even at the face's own VA.
So the paste blends them by how far the edit goes: ``reach`` 0 (the target is the face's own VA) adds the change, 1
(MASK's "reach" of VA away or more) transfers the detail, smoothly between. Either way the photo gets a smooth change
(edited minus reconstructed decode, plus reach x (blurred reconstruction - blurred photo)) added under a soft face
mask inside the face box: nothing outside the mask changes, nothing outside the box, and the photo's own fine detail
is never touched. Being smooth, the change is computed at most WORK px a side and upsampled, so a large photo costs
little more than a small one. For a grayscale run the change is computed from the photo's luma and added to every
channel alike, so a colour photo keeps its colours. What each way keeps and loses: docs/results.md ("A user's photo",
python -m scripts.bench.photo).

numpy and OpenCV (float32 throughout, one rounding at the end; OpenCV releases the GIL): the service runs it off the
model thread.
"""

from __future__ import annotations

import cv2
import numpy as np

WORK = 256  # the largest side the smooth change is computed at (4 x the model's 64 px)
# The soft face mask, in units of the face box (a dataset's face crop, or the detector's square grown by 15% each side):
# an ellipse over the face from brow to chin, ramping from 1 to 0 over the outer `feather` of its radius. It lies wholly
# inside the box, so pixels outside the box are never touched. `detail` is the blur (in pixels of the model's input
# size) below which the photo's own detail is kept; `reach` the VA distance at which the detail transfer takes over.
MASK = {"cx": 0.5, "cy": 0.52, "rx": 0.46, "ry": 0.46, "feather": 0.2, "detail": 1.0, "reach": 0.5}

Box = tuple[int, int, int, int]  # x, y, width, height in the photo's pixels


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def face_mask(height: int, width: int, rows: slice = slice(None)) -> np.ndarray:
    """(height, width) float32 in [0, 1] (or those ``rows`` of it): 1 over the face, a smoothstep to 0 at the
    ellipse's edge, 0 beyond."""
    y = (np.arange(height, dtype=np.float32)[rows] + 0.5) / height
    x = (np.arange(width, dtype=np.float32) + 0.5) / width
    r = np.hypot((x[None, :] - MASK["cx"]) / MASK["rx"], (y[:, None] - MASK["cy"]) / MASK["ry"])  # 1 on the edge
    return _smoothstep((1.0 - r) / MASK["feather"])


def edit_reach(targets: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """How far each edit goes, (K,) in [0, 1]: a smoothstep of the VA distance from the face's own VA to its target."""
    d = np.linalg.norm(np.asarray(targets, np.float32).reshape(-1, 2) - np.asarray(origin, np.float32), axis=1)
    return _smoothstep(d / MASK["reach"])


def _resized(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) -> float32 (height, width, 3): bilinear up, area-averaged down."""
    img = np.asarray(img, np.float32)
    if img.shape[:2] == (height, width):
        return img
    shrink = height < img.shape[0]
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _luma(img: np.ndarray) -> np.ndarray:
    """float32 RGB -> its ITU-R 601 luma in all three channels."""
    y = img @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(y[..., None], 3, axis=-1)


def paste_box(photo: np.ndarray, box: Box, edited: np.ndarray, recon: np.ndarray, reaches: np.ndarray,
              tile: int | None = None, gray: bool = False) -> np.ndarray:
    """The photo's face box with each edited decode (K, S, S, 3) pasted in under the face mask, each as far as its
    reach (K,) (the module docstring): (K, h, w, 3) uint8, at the box's own size, or squashed to tile x tile (the edit
    grid's previews). ``gray``: the run was trained on grayscale faces (its decodes are gray)."""
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3, f"got {photo.dtype} {photo.shape}"
    assert edited.ndim == 4 and recon.shape == edited.shape[1:], f"edited {edited.shape}, recon {recon.shape}"
    x, y, w, h = box
    region = photo[y : y + h, x : x + w]
    if tile is not None:
        region = np.clip(np.rint(_resized(region, tile, tile)), 0, 255).astype(np.uint8)
    rh, rw = region.shape[:2]
    k = min(1.0, WORK / max(rh, rw))
    wh, ww = max(1, round(rh * k)), max(1, round(rw * k))  # where the smooth change is computed
    base = _resized(region, wh, ww)
    up_recon = _resized(recon, wh, ww)
    sigma = MASK["detail"] * max(wh, ww) / recon.shape[0]
    coarse = _blur(up_recon, sigma) - _blur(_luma(base) if gray else base, sigma)  # the photo's coarse structure out
    out = np.empty((len(edited), rh, rw, 3), np.uint8)
    for i, (e, r) in enumerate(zip(edited, np.asarray(reaches, np.float32).reshape(-1), strict=True)):
        change = _resized(e, wh, ww) - up_recon + r * coarse
        out[i] = _add_under_mask(region, change)
    return out


def _add_under_mask(region: np.ndarray, change: np.ndarray, block: int = 256) -> np.ndarray:
    """region (h, w, 3) uint8 + face_mask x change (computed smaller, upsampled bilinear), in blocks of rows so a large
    box never holds more than a block of float32 at full size."""
    rh, rw = region.shape[:2]
    wide = cv2.resize(change, (rw, change.shape[0]), interpolation=cv2.INTER_LINEAR)  # columns at full size first
    out = np.empty_like(region)
    for r0 in range(0, rh, block):
        rows = slice(r0, min(rh, r0 + block))
        src = np.clip((np.arange(rows.start, rows.stop) + 0.5) * change.shape[0] / rh - 0.5, 0, change.shape[0] - 1)
        i0 = np.floor(src).astype(int)
        i1, t = np.minimum(i0 + 1, change.shape[0] - 1), (src - i0).astype(np.float32)[:, None, None]
        part = wide[i0] * (1 - t) + wide[i1] * t  # the rows, linear between the change's own (as cv2's bilinear)
        mask = face_mask(rh, rw, rows)[:, :, None]
        out[rows] = np.clip(np.rint(region[rows] + mask * part), 0, 255)
    return out


def paste_photo(photo: np.ndarray, box: Box, edited: np.ndarray, recon: np.ndarray, reach: float,
                gray: bool = False) -> np.ndarray:
    """The whole photo with one edit (S, S, 3) pasted in its face box: (H, W, 3) uint8, unchanged outside the box."""
    x, y, w, h = box
    out = photo.copy()
    out[y : y + h, x : x + w] = paste_box(photo, box, edited[None], recon, np.array([reach]), gray=gray)[0]
    return out


def decode_in_box(photo: np.ndarray, box: Box, decoded: np.ndarray) -> np.ndarray:
    """The raw decode (S, S, 3) resized over the face box, the baseline a paste is measured against: (H, W, 3)."""
    x, y, w, h = box
    out = photo.copy()
    out[y : y + h, x : x + w] = np.clip(np.rint(_resized(decoded, h, w)), 0, 255).astype(np.uint8)
    return out


__all__ = ["MASK", "face_mask", "edit_reach", "paste_box", "paste_photo", "decode_in_box"]
