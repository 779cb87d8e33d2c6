"""Edit a face's valence and arousal: the least move of z_v and z_a that makes the heads read the target; z_z kept."""

import base64
import json
from functools import partial
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.deps import AppState, RunDep, StateDep, latent_array, sample_latent
from backend.imaging import Face, png_bytes
from backend.inference import Inference, grid_targets, sprite
from backend.registry import ServedRun
from backend.schemas import (
    BOX,
    GRID_PHOTO_TILE,
    OUTPUT,
    VA,
    CropMode,
    EditRequest,
    EditResponse,
    EditSource,
    FaceBox,
    GridLayout,
    GridRequest,
    GridResponse,
    PhotoOutput,
)
from backend.uploads import b64_bytes, face_headers, faces_from
from models.paste import edit_reach, paste_box, paste_photo

router = APIRouter(prefix="/api/runs", tags=["edit"])
PNG_EDIT = {200: {"content": {"image/png": {}, "application/json": {}},
                  "description": "format=png (default): the edited face, read-back VA in X-Read-Valence and "
                                 "X-Read-Arousal; format=json: EditResponse"}}
OutFormat = Literal["png", "json"]
# Form fields stay lax: a multipart field is text, so "0.2" is how a number arrives there (JSON bodies are strict).
FormUnit = Annotated[float, Form(ge=-1, le=1, allow_inf_nan=False)]


def edit_batch(infer: Inference, items: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, ...]]:
    """Model-thread batch function: items (z (D,), target (2,)) -> (face (S, S, 3) uint8, read-back VA (2,), edited z
    (D,)). The PNG is written by each request on the event loop: under load the model thread is the bottleneck, and
    zlib there took a tenth of its time."""
    z = np.stack([i[0] for i in items])
    t = np.stack([i[1] for i in items])
    faces, va, z_edit = infer.edit(z, t)
    return list(zip(faces, va, z_edit))


async def encode_one(sr: ServedRun, state: AppState, blob: tuple[str, bytes], *, crop: str = "auto",
                     box: str | None = None, keep_photo: bool = False) -> tuple[np.ndarray, Face]:
    """One uploaded image (name, bytes) -> its latent mean (D,) and the face (with the photo when ``keep_photo``)."""
    (face,) = await faces_from([blob], state.settings, sr.stored.run, crop=crop, box=box, keep_photo=keep_photo)
    mu, _ = await state.batcher.run(lambda: sr.infer.encode(face.pixels[None]), "encode")
    return mu[0], face


async def source_latent(sr: ServedRun, state: AppState, src: EditSource,
                        keep_photo: bool = False) -> tuple[np.ndarray, Face | None]:
    """The face to edit as a latent: given, a dataset sample's, or an image's (encoded, its face beside)."""
    if src.latent is not None:
        return latent_array(sr, src.latent), None
    if src.sample is not None:
        return sample_latent(sr, src.sample), None
    return await encode_one(sr, state, ("image", b64_bytes(src.image, "image")), crop=src.crop, box=src.box,
                            keep_photo=keep_photo)


async def pasted(sr: ServedRun, state: AppState, z: np.ndarray, edited: np.ndarray, targets: np.ndarray, face: Face,
                 output: str, tile: int | None = None) -> np.ndarray:
    """Edited decodes (K, S, S, 3) at targets (K, 2) pasted into the face's photo (models.paste): the whole photo
    (output photo, K = 1) or its face box per edit (output box, at the box's size or squashed to ``tile``)."""
    recon, origin = await state.batcher.run(lambda: (sr.infer.decode(z[None])[0], sr.infer.heads(z[None])[0]),
                                            "decode")
    photo, reaches, gray = np.asarray(face.photo), edit_reach(targets, origin), sr.stored.run.color == "gray"
    if output == "photo":
        return await run_in_threadpool(partial(paste_photo, photo, face.box, edited[0], recon, float(reaches[0]),
                                               gray=gray))
    return await run_in_threadpool(partial(paste_box, photo, face.box, edited, recon, reaches, tile=tile, gray=gray))


async def edit_to(sr: ServedRun, state: AppState, z: np.ndarray, *, target: VA, fmt: OutFormat,
                  face: Face | None = None, output: str = "face") -> Response | EditResponse:
    """Edit latent z to the target VA -> the PNG (read-back VA in headers) or an EditResponse; output photo / box
    paste the edit into the face's photo."""
    t = np.array([target.valence, target.arousal], np.float32)
    edited, va, z_edit = await state.batcher.submit((sr.name, "edit"), lambda items: edit_batch(sr.infer, items),
                                                    (z, t))
    image = edited if output == "face" else await pasted(sr, state, z, edited[None], t[None], face, output)
    png = png_bytes(image if image.ndim == 3 else image[0])
    (emotion,) = sr.stored.emotion_of(va[None])
    if fmt == "png":
        return Response(png, media_type="image/png", headers={
            "X-Read-Valence": f"{va[0]:.4f}", "X-Read-Arousal": f"{va[1]:.4f}", "X-Emotion": emotion,
            "Cache-Control": "no-store", **face_headers(face)})
    return EditResponse(image=base64.b64encode(png).decode(), target=target,
                        read_back=VA(valence=float(va[0]), arousal=float(va[1])), latent=z_edit.tolist(),
                        emotion=emotion, box=FaceBox.of(face.box) if face else None,
                        conversion=face.conversion if face else None)


@router.post("/{run}/edit", response_model=EditResponse, responses=PNG_EDIT)
async def edit_face(sr: RunDep, state: StateDep, body: EditRequest) -> Response | EditResponse:
    """A face (latent, dataset sample or base64 image) and a target (valence, arousal) -> the edited face, with the
    VA the model reads back from it; for an image, optionally pasted into the photo itself (output)."""
    z, face = await source_latent(sr, state, body, keep_photo=body.output != "face")
    return await edit_to(sr, state, z, target=VA(valence=body.valence, arousal=body.arousal), fmt=body.format,
                         face=face, output=body.output)


@router.post("/{run}/edit/upload", response_model=EditResponse, responses=PNG_EDIT)
async def edit_upload(sr: RunDep, state: StateDep, file: Annotated[UploadFile, File(description="a face image")],
                      valence: FormUnit, arousal: FormUnit, crop: Annotated[CropMode, Form()] = "auto",
                      format: Annotated[OutFormat, Form()] = "png",
                      output: Annotated[PhotoOutput, Form(description=OUTPUT)] = "face",
                      box: Annotated[str | None, Form(description=BOX)] = None) -> Response | EditResponse:
    """An uploaded face image and a target (valence, arousal) -> the edited face, or the photo with the edit pasted
    in (as /edit)."""
    z, face = await encode_one(sr, state, (file.filename or "file", await file.read()), crop=crop, box=box,
                               keep_photo=output != "face")
    return await edit_to(sr, state, z, target=VA(valence=valence, arousal=arousal), fmt=format, face=face,
                         output=output)


@router.post("/{run}/edit-grid", response_model=GridResponse,
             responses={200: {"content": {"image/png": {}, "application/json": {}},
                              "description": "format=png (default): the sprite sheet, its layout as JSON in the "
                                             "X-Grid-Layout header; format=json: GridResponse"}})
async def edit_grid(sr: RunDep, state: StateDep, body: GridRequest) -> Response | GridResponse:
    """One face -> an N x N sprite sheet of it edited across the VA plane, for instant previews while dragging."""
    if body.n > state.settings.max_grid:
        raise HTTPException(422, f"n = {body.n} is over the limit; n must be 2..{state.settings.max_grid}")
    z, face = await source_latent(sr, state, body, keep_photo=body.output == "box")
    tiles, values = await state.batcher.run(lambda: sr.infer.edit_grid(z, body.n), "edit-grid")
    if body.output == "box":
        tiles = await pasted(sr, state, z, tiles, grid_targets(values), face, "box",
                             tile=min(GRID_PHOTO_TILE, max(face.box[2:])))
    r = lambda xs: [round(float(x), 6) for x in xs]
    layout = GridLayout(n=body.n, tile=tiles.shape[1], valence=r(values), arousal=r(values[::-1]),
                        box=FaceBox.of(face.box) if body.output == "box" else None)
    png = png_bytes(sprite(tiles, body.n))
    if body.format == "png":
        return Response(png, media_type="image/png", headers={
            "X-Grid-Layout": json.dumps(layout.model_dump(exclude_none=True), separators=(",", ":")),
            **face_headers(face)})
    return GridResponse(image=base64.b64encode(png).decode(), layout=layout)
