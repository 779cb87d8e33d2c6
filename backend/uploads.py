"""Request bodies to faces: multipart files or base64 JSON, decoded in memory (never written to disk)."""

from __future__ import annotations

import base64
import binascii
from functools import partial

import numpy as np
from fastapi import HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from backend.errors import parse_json, problem_line
from backend.imaging import Face, ImageError, crop_face, decode_image, parse_box
from backend.schemas import EncodeJSON
from backend.settings import Settings
from models.runs import LoadedRun


def b64_bytes(s: str, name: str) -> bytes:
    """base64 (optionally a data: URL) -> bytes, or 422."""
    if s.startswith("data:"):
        s = s.partition(",")[2]
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(422, f"{name}: not valid base64; send the image file's bytes base64-encoded") from None


async def read_images(request: Request, settings: Settings) -> tuple[list[tuple[str, bytes]], str]:
    """multipart/form-data (files in any field, optional crop field) or application/json (EncodeJSON) ->
    ([(name, bytes)], crop mode)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        expected = '{"images": [base64, ...], "crop": "auto"}'
        try:
            body = EncodeJSON.model_validate(parse_json(await request.body(), expected))
        except ValidationError as e:
            raise HTTPException(422, f"bad JSON body: {_short(e)}; expected {expected}") from None
        items = [(f"images[{i}]", s) for i, s in enumerate(body.images)]
        _check_count(len(items), settings)
        return [(n, b64_bytes(s, n)) for n, s in items], body.crop
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=settings.max_batch, max_fields=16, max_part_size=64 * 1024)
        except (MultiPartException, StarletteHTTPException) as e:  # Starlette re-raises parser errors as 400s
            msg = getattr(e, "detail", None) or str(e)
            if "Too many files" in msg:
                raise HTTPException(413, f"too many images in one request; the limit is {settings.max_batch}") from None
            raise HTTPException(400, f"bad multipart body: {msg}") from None
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        crop = form.get("crop", "auto")
        if not isinstance(crop, str):
            raise HTTPException(422, "crop must be a text field")
        _check_count(len(files), settings)
        return [(f.filename or f"file[{i}]", await f.read()) for i, f in enumerate(files)], crop
    raise HTTPException(415, f"content type {ctype or 'none'!r} not accepted; send multipart/form-data with image "
                             "files, or application/json {\"images\": [base64, ...]}")


def _check_count(n: int, settings: Settings) -> None:
    if n == 0:
        raise HTTPException(422, "no images in the request; send at least one image file")
    if n > settings.max_batch:
        raise HTTPException(413, f"{n} images in one request; the limit is {settings.max_batch}")


def _short(e: ValidationError) -> str:
    return "; ".join(problem_line({**err, "loc": ("body", *err["loc"])}) for err in e.errors()[:5])


def faces_of(blobs: list[tuple[str, bytes]], settings: Settings, run: LoadedRun, *, crop: str = "auto",
             box: str | None = None, keep_photo: bool = False) -> list[Face]:
    """Uploaded images (name, bytes) -> the faces the run sees: decoded, in the run's domain, cropped (ImageError on
    the first bad one)."""
    out = []
    for name, data in blobs:
        img = decode_image(data, name, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_image_pixels)
        given = parse_box(box, *img.size) if box is not None else None
        seen, conversion = run.image_to_domain(img)  # the whole upload, before cropping and resizing
        face = crop_face(seen, run.model_cfg.image_size, crop, box=given)
        face.conversion, face.photo = conversion, img if keep_photo else None
        out.append(face)
    return out


async def faces_from(blobs: list[tuple[str, bytes]], settings: Settings, run: LoadedRun, *, crop: str,
                     box: str | None = None, keep_photo: bool = False) -> list[Face]:
    """Decode, meet the run's domain and crop every image off the event loop (PIL and OpenCV release the GIL); the
    first bad one -> 4xx. ``box`` ("x,y,w,h") skips detection; ``keep_photo`` keeps the decoded upload for pasting."""
    try:
        return await run_in_threadpool(partial(faces_of, blobs, settings, run, crop=crop, box=box,
                                               keep_photo=keep_photo))
    except ImageError as e:
        raise HTTPException(e.status, e.message) from None


def face_headers(face: Face | None) -> dict[str, str]:
    """Where the face was found and what was done to the upload, as PNG responses' headers."""
    return {} if face is None else {"X-Face-Box": ",".join(map(str, face.box)), "X-Face-Crop": face.crop,
                                    "X-Input-Conversion": face.conversion}


def stack(faces: list[Face]) -> np.ndarray:
    return np.stack([f.pixels for f in faces])
