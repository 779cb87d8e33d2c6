"""An edit pasted into the user's own photo: the photo's pixels, changed only as far as the edit goes.

The decoder's 64 px face is far softer than a photo, so pasting the decode back over the face (GANmut's way) loses the
photo's detail and the person (on the demo's faces the box keeps 0.47 of its Laplacian energy). Two ways keep it:
- add the change: the photo plus (edited decode - the unedited reconstruction), upsampled. At the face's own VA the
  photo comes back exactly, but all of the photo's own expression stays too: the independent judge reads the target
  at CCC 0.93 / 0.97 where the raw decode reads 0.99 / 0.99 (FER2013: 0.35 where it reads 0.76);
- transfer the detail: the edited decode's coarse structure (where expression lives) plus the photo's fine detail
  (the photo minus its blur at about one pixel of the model's size) minus the decoder's own (its artefacts). The judge
  reads the target as from the raw decode (0.99 / 0.99), and the detail stays, but the face's coarse shape is the
  decoder's even at the face's own VA.
So the paste blends them by how far the edit goes: ``reach`` 0 (the target is the face's own VA) adds the change, 1
(half a unit of VA away or more, MASK's "reach") transfers the detail, smoothly between. All of it under a soft face
mask inside the face box: nothing outside the mask changes, and nothing outside the box. For a grayscale run the
decode is gray while the photo's detail is its own, so the texture keeps its colour. Measured by
python -m scripts.bench.photo (docs/results.md).

numpy and OpenCV (float32 throughout, so no rounding adds noise before the one at the end; OpenCV releases the GIL):
the service runs it off the model thread.
"""

from __future__ import annotations

import cv2
import numpy as np

# The soft face mask, in units of the face box (a dataset's face crop, or the detector's square grown by 15% each side):
# an ellipse over the face from brow to chin, ramping from 1 to 0 over the outer `feather` of its radius. It lies wholly
# inside the box, so pixels outside the box are never touched. `detail` is the blur (in pixels of the model's input
# size) below which the photo's own detail is kept; `reach` the VA distance at which the detail transfer takes over.
MASK = {"cx": 0.5, "cy": 0.52, "rx": 0.46, "ry": 0.46, "feather": 0.2, "detail": 1.0, "reach": 0.5}

Box = tuple[int, int, int, int]  # x, y, width, height in the photo's pixels


def face_mask(height: int, width: int) -> np.ndarray:
    """(height, width) float32 in [0, 1]: 1 over the face, a smoothstep to 0 at the ellipse's edge, 0 beyond."""
    y = (np.arange(height, dtype=np.float32) + 0.5) / height
    x = (np.arange(width, dtype=np.float32) + 0.5) / width
    r = np.hypot((x[None, :] - MASK["cx"]) / MASK["rx"], (y[:, None] - MASK["cy"]) / MASK["ry"])  # 1 on the edge
    t = np.clip((1.0 - r) / MASK["feather"], 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _resized(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) -> float32 (height, width, 3): bilinear up, area-averaged down."""
    img = np.asarray(img, np.float32)
    if img.shape[:2] == (height, width):
        return img
    shrink = height < img.shape[0]
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _detail(img: np.ndarray, sigma: float) -> np.ndarray:
    """float32 (h, w, 3) -> the image minus its Gaussian blur of ``sigma`` px (its fine detail)."""
    return img - cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def edit_reach(targets: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """How far each edit goes, (K,) in [0, 1]: a smoothstep of the VA distance from the face's own VA to its target."""
    d = np.linalg.norm(np.asarray(targets, np.float32).reshape(-1, 2) - np.asarray(origin, np.float32), axis=1)
    t = np.clip(d / MASK["reach"], 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def paste_box(photo: np.ndarray, box: Box, edited: np.ndarray, recon: np.ndarray, reaches: np.ndarray,
              tile: int | None = None) -> np.ndarray:
    """The photo's face box with each edited decode (K, S, S, 3) pasted in under the face mask, each as far as its
    reach (K,) (the module docstring): (K, h, w, 3) uint8, at the box's own size, or squashed to tile x tile (the edit
    grid's previews)."""
    assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3, f"got {photo.dtype} {photo.shape}"
    assert edited.ndim == 4 and recon.shape == edited.shape[1:], f"edited {edited.shape}, recon {recon.shape}"
    x, y, w, h = box
    rh, rw = (tile, tile) if tile is not None else (h, w)
    base = _resized(photo[y : y + h, x : x + w], rh, rw)
    sigma = MASK["detail"] * max(rh, rw) / recon.shape[0]
    up_recon = _resized(recon, rh, rw)
    keep = _detail(base, sigma) - _detail(up_recon, sigma)  # the photo's detail, less the decoder's
    coarse = up_recon + keep - base  # what the detail transfer adds to the change: the photo's coarse structure out
    mask = face_mask(rh, rw)[:, :, None]
    out = np.empty((len(edited), rh, rw, 3), np.uint8)
    for k, (e, r) in enumerate(zip(edited, np.asarray(reaches, np.float32).reshape(-1), strict=True)):
        change = _resized(e, rh, rw) - up_recon + r * coarse
        out[k] = np.clip(np.rint(base + mask * change), 0, 255)
    return out


def paste_photo(photo: np.ndarray, box: Box, edited: np.ndarray, recon: np.ndarray, reach: float) -> np.ndarray:
    """The whole photo with one edit (S, S, 3) pasted in its face box: (H, W, 3) uint8, unchanged outside the box."""
    x, y, w, h = box
    out = photo.copy()
    out[y : y + h, x : x + w] = paste_box(photo, box, edited[None], recon, np.array([reach]))[0]
    return out


def decode_in_box(photo: np.ndarray, box: Box, decoded: np.ndarray) -> np.ndarray:
    """The raw decode (S, S, 3) resized over the face box, the baseline a paste is measured against: (H, W, 3)."""
    x, y, w, h = box
    out = photo.copy()
    out[y : y + h, x : x + w] = np.clip(np.rint(_resized(decoded, h, w)), 0, 255).astype(np.uint8)
    return out


__all__ = ["MASK", "face_mask", "edit_reach", "paste_box", "paste_photo", "decode_in_box"]
