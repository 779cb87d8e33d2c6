"""Uploaded images in, faces out: decode and validate in memory, find and crop the face, encode PNGs.

Nothing here touches the disk: uploads are bytes in and arrays out. Every refusal is an ImageError carrying the HTTP
status and a message that says what was wrong and what is accepted.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
ACCEPTED = "PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF"
CROP_MODES = ("auto", "detect", "center", "none")
BOX_TEXT = re.compile(r"\d{1,6},\d{1,6},\d{1,6},\d{1,6}")  # a face box as the edit routes take it: x,y,width,height


class ImageError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Face:
    pixels: np.ndarray  # (S, S, 3) uint8, the crop the model sees (converted to the run's domain)
    box: tuple[int, int, int, int]  # x, y, width, height in the uploaded image (after EXIF rotation)
    crop: str  # "detected", "center" (no face found, or asked for), "whole" (already a face crop) or "given" (box sent)
    width: int  # the uploaded image's size
    height: int
    conversion: str = "none"  # what was done to meet the run's domain: "none" or "grayscale" (models.domain)
    photo: Image.Image | None = None  # the upload as decoded (RGB, unconverted): edits are pasted into it


def decode_image(data: bytes, name: str, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Bytes -> an RGB PIL image, or ImageError (413 too large, 415 not an image, 422 truncated or corrupt)."""
    if not data:
        raise ImageError(422, f"{name}: empty file (0 bytes); send a {ACCEPTED} image")
    if len(data) > max_bytes:
        raise ImageError(413, f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit per image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError(415, f"{name}: not an image this service reads; send {ACCEPTED}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(413, f"{name}: declares too many pixels (a decompression bomb?); "
                              f"the limit is {max_pixels:,} pixels") from None
    except Exception as e:  # PIL raises assorted errors on hostile headers
        raise ImageError(422, f"{name}: truncated or corrupt image header ({type(e).__name__}: {e})") from None
    w, h = img.size
    if w * h > max_pixels:
        raise ImageError(413, f"{name}: {w} x {h} = {w * h:,} pixels is over the {max_pixels:,}-pixel limit "
                              "(a decompression bomb is refused before decoding)")
    if w < 8 or h < 8:
        raise ImageError(422, f"{name}: {w} x {h} pixels is too small; faces need at least 8 x 8")
    try:
        img.seek(0)  # animated GIF / multi-page TIFF: the first frame
        img.load()
        img = ImageOps.exif_transpose(img)
    except Exception as e:
        raise ImageError(422, f"{name}: truncated or corrupt {img.format} data ({type(e).__name__}: {e})") from None
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any mode (L, LA, P, RGBA, CMYK, I;16, I, F) -> RGB; transparency is laid on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = (0.0, 65535.0) if img.mode.startswith("I;16") else (float(a.min()), float(a.max()) or 1.0)
        img = Image.fromarray(np.clip((a - lo) / max(hi - lo, 1e-9) * 255.0, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    return img.convert("RGB")


@lru_cache(maxsize=1)
def _cascade():
    import cv2

    c = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    assert not c.empty(), "OpenCV's frontal-face Haar cascade did not load"
    return c


def detect_face(img: Image.Image) -> tuple[int, int, int, int] | None:
    """The largest frontal face (x, y, w, h) found by OpenCV's Haar cascade, or None."""
    import cv2

    gray = np.asarray(img.convert("L"))
    scale = min(1.0, 640 / max(gray.shape))  # detection on at most 640 px: fast, and faces stay findable
    if scale < 1.0:
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    side = min(gray.shape)
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(max(24, side // 10),) * 2)
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda b: b[2] * b[3])
    return tuple(int(round(v / scale)) for v in (x, y, w, h))


def parse_box(text: str, width: int, height: int) -> tuple[int, int, int, int]:
    """ "x,y,width,height" (pixels of the upload after EXIF rotation, as /encode reports) -> a box inside the image."""
    if not BOX_TEXT.fullmatch(text):
        raise ImageError(422, f"box must be four integers x,y,width,height (as /encode's box), got {text[:80]!r}")
    x, y, w, h = (int(v) for v in text.split(","))
    if w < 8 or h < 8 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ImageError(422, f"box {x},{y},{w},{h} must lie inside the {width} x {height} image and be at least 8 x 8")
    return x, y, w, h


def crop_face(img: Image.Image, size: int, mode: str = "auto", *, margin: float = 0.15,
              box: tuple[int, int, int, int] | None = None) -> Face:
    """Find the face and crop it square (the detector's box grown by ``margin`` each side), resized to size x size.
    A ``box`` given (x, y, w, h) is used as it is, and nothing is detected.

    mode: auto = detect on photos, but an image of at most twice the model's size is taken as a face crop already
    (datasets ship faces cropped: a detector would only crop them tighter than the training faces); detect = always
    run the detector; center / none = the centre square / the whole image squashed, no detection. When detection finds
    nothing the centre square is used and ``crop`` says "center".
    """
    if mode not in CROP_MODES:
        raise ImageError(422, f"crop must be one of {', '.join(CROP_MODES)}, got {mode!r}")
    w, h = img.size
    box, crop = (box, "given") if box is not None else _find_box(img, size, mode, margin)
    x0, y0, bw, bh = box
    face = img.crop((x0, y0, x0 + bw, y0 + bh)).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Face(np.asarray(face, dtype=np.uint8), box, crop, w, h)


def _find_box(img: Image.Image, size: int, mode: str, margin: float) -> tuple[tuple[int, int, int, int], str]:
    """The face's square box in the image and how it was found (crop_face's modes)."""
    w, h = img.size
    if mode == "none" or (mode == "auto" and max(w, h) <= 2 * size):
        return (0, 0, w, h), "whole"
    found = detect_face(img) if mode in ("auto", "detect") else None
    if found is None:
        side = min(w, h)
        return ((w - side) // 2, (h - side) // 2, side, side), "center"
    x, y, bw, bh = found
    side = min(round(max(bw, bh) * (1 + 2 * margin)), w, h)
    cx, cy = x + bw / 2, y + bh / 2
    x0 = int(min(max(cx - side / 2, 0), w - side))
    y0 = int(min(max(cy - side / 2, 0), h - side))
    return (x0, y0, side, side), "detected"


def png_bytes(pixels: np.ndarray, level: int = 1) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes, written directly: every row "Up"-filtered (the difference to the row above, as
    numpy does it in one step) and deflated at zlib ``level``. For a 64 px face this takes a quarter of the time of
    PIL's encoder, which matters when a whole edit costs a few milliseconds; any PNG reader decodes it."""
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3, f"got {pixels.dtype} {pixels.shape}"
    h, w, _ = pixels.shape
    rows = np.ascontiguousarray(pixels).reshape(h, w * 3)
    raw = np.empty((h, w * 3 + 1), np.uint8)
    raw[:, 0] = 2  # filter type Up; the first row's "above" is zeros, so it is stored as is
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # uint8 arithmetic wraps mod 256, as PNG's filter does
    return b"".join((b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)),
                     _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)), _chunk(b"IEND", b"")))


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
