"""A run's input domain: what its training images were, and the one conversion every other image goes through.

A model trained on grayscale faces (FER2013, CK+48) has never seen colour: fed a colour photo as it comes, it reads
the colour as expression. So training records the training split's colour mode in config.json ("dataset" / "color"),
and every path that feeds a run an image from elsewhere (the service's uploads, few-shot support sets, another
dataset's evaluation) converts it with ``to_domain`` first. Grayscale is ITU-R 601 luma in Pillow's own fixed-point
form, so an image converted here equals the same image converted by Pillow (``convert("L")``) and uploaded: a colour
photo and its grayscale copy reach the model as the same pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageChops

COLOR_MODES = ("rgb", "gray")
GRAY_SPREAD = 2.0  # an image is grayscale when its channels differ by at most this many levels on average (JPEG noise)
GRAY_SHARE = 0.99  # a dataset is grayscale when at least this share of its images are
SAMPLE = 256  # images decoded when a run's record has to be measured from its dataset's files


def color_mode(images: np.ndarray, rows: np.ndarray | None = None, limit: int = 4096) -> str:
    """uint8 images (N, 3, H, W), or those of them at ``rows``, -> "gray" when (nearly) all are grayscale stored as
    RGB, else "rgb". At most ``limit`` of them are looked at, spread evenly."""
    assert images.ndim == 4 and images.shape[1] == 3, f"expected (N, 3, H, W), got {images.shape}"
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        return "rgb"
    images = images[rows[:: max(1, len(rows) // limit)]]
    spread = np.empty(len(images), np.float32)
    for i in range(0, len(images), 1024):  # in blocks: int16 copies of a whole dataset would not fit in memory
        x = np.asarray(images[i : i + 1024], np.int16)
        d = np.abs(x[:, 0] - x[:, 1]) + np.abs(x[:, 1] - x[:, 2])  # (B, H, W)
        spread[i : i + 1024] = d.reshape(len(x), -1).mean(1) / 2
    return "gray" if (spread <= GRAY_SPREAD).mean() >= GRAY_SHARE else "rgb"


def luma(pixels: np.ndarray, axis: int = -1) -> np.ndarray:
    """uint8 RGB along ``axis`` -> uint8 luma, that axis dropped: Pillow's L = (19595 R + 38470 G + 7471 B) >> 16."""
    p = np.moveaxis(np.asarray(pixels), axis, -1).astype(np.uint32)
    return ((p[..., 0] * 19595 + p[..., 1] * 38470 + p[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def to_domain(pixels: np.ndarray, color: str, axis: int = -1) -> tuple[np.ndarray, str]:
    """uint8 images with RGB along ``axis`` -> (the images as the run's training images were, what was done).

    For a grayscale run every image becomes its luma in all three channels ("grayscale"; an image already grayscale
    comes back unchanged, and "none" is said); a colour run takes images as they are ("none")."""
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {', '.join(COLOR_MODES)}, got {color!r}")
    if color == "rgb":
        return pixels, "none"
    y = luma(pixels, axis)
    gray = np.repeat(np.expand_dims(y, axis), 3, axis=axis)
    return gray, "none" if np.array_equal(gray, pixels) else "grayscale"


def image_to_domain(img: Image.Image, color: str) -> tuple[Image.Image, str]:
    """An RGB PIL image -> (the image as the run's training images were, what was done), as ``to_domain`` does for
    arrays (the same pixels: Pillow's luma is ``luma``), without numpy copies of a large photo."""
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {', '.join(COLOR_MODES)}, got {color!r}")
    if color == "rgb":
        return img, "none"
    r, g, b = img.split()
    if ImageChops.difference(r, g).getbbox() is None and ImageChops.difference(g, b).getbbox() is None:
        return img, "none"  # already grayscale
    return img.convert("L").convert("RGB"), "grayscale"


def run_color(config: dict) -> str:
    """The colour mode a run's config.json records; a run trained before the record is measured from its dataset's
    files (a sample of them), and taken as "rgb" when they cannot be read."""
    ds = config.get("dataset", {})
    if ds.get("color") in COLOR_MODES:
        return ds["color"]
    return _measure_dataset(ds.get("root"))


def _measure_dataset(root: str | None) -> str:
    from models.data.images import decode_image
    from models.data.labels import DatasetError, read_labels

    try:
        table = read_labels(Path(root or ""), require_va=False)
        step = max(1, len(table) // SAMPLE)
        rows = range(0, len(table), step)
        return color_mode(np.stack([decode_image(table.root / table.files[i], "colour check") for i in rows]))
    except (DatasetError, OSError, ValueError):
        return "rgb"


__all__ = ["COLOR_MODES", "color_mode", "luma", "to_domain", "image_to_domain", "run_color"]
