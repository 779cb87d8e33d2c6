"""Edit a face's valence and arousal: the least move of z_v and z_a that makes the heads read the target; z_z kept."""

import base64
import json
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import Response

from backend.deps import AppState, RunDep, StateDep, latent_array, sample_latent
from backend.imaging import png_bytes
from backend.inference import Inference
from backend.registry import ServedRun
from backend.schemas import VA, CropMode, EditRequest, EditResponse, EditSource, GridLayout, GridRequest, GridResponse
from backend.uploads import b64_bytes, faces_from

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


async def encode_one(sr: ServedRun, state: AppState, blob: tuple[str, bytes], *, crop: str = "auto") -> np.ndarray:
    """One uploaded image (name, bytes) -> its latent mean (D,)."""
    (face,) = await faces_from([blob], state.settings, size=sr.stored.run.model_cfg.image_size, crop=crop)
    mu, _ = await state.batcher.run(lambda: sr.infer.encode(face.pixels[None]), "encode")
    return mu[0]


async def source_latent(sr: ServedRun, state: AppState, src: EditSource) -> np.ndarray:
    """The face to edit as a latent: given, a dataset sample's, or an image's (encoded)."""
    if src.latent is not None:
        return latent_array(sr, src.latent)
    if src.sample is not None:
        return sample_latent(sr, src.sample)
    return await encode_one(sr, state, ("image", b64_bytes(src.image, "image")))


async def edit_to(sr: ServedRun, state: AppState, z: np.ndarray, *, target: VA,
                  fmt: OutFormat) -> Response | EditResponse:
    """Edit latent z to the target VA -> the PNG (read-back VA in headers) or an EditResponse."""
    t = np.array([target.valence, target.arousal], np.float32)
    face, va, z_edit = await state.batcher.submit((sr.name, "edit"), lambda items: edit_batch(sr.infer, items), (z, t))
    png = png_bytes(face)
    (emotion,) = sr.stored.emotion_of(va[None])
    if fmt == "png":
        return Response(png, media_type="image/png", headers={
            "X-Read-Valence": f"{va[0]:.4f}", "X-Read-Arousal": f"{va[1]:.4f}", "X-Emotion": emotion,
            "Cache-Control": "no-store"})
    return EditResponse(image=base64.b64encode(png).decode(), target=target,
                        read_back=VA(valence=float(va[0]), arousal=float(va[1])), latent=z_edit.tolist(),
                        emotion=emotion)


@router.post("/{run}/edit", response_model=EditResponse, responses=PNG_EDIT)
async def edit_face(sr: RunDep, state: StateDep, body: EditRequest) -> Response | EditResponse:
    """A face (latent, dataset sample or base64 image) and a target (valence, arousal) -> the edited face, with the
    VA the model reads back from it."""
    z = await source_latent(sr, state, body)
    return await edit_to(sr, state, z, target=VA(valence=body.valence, arousal=body.arousal), fmt=body.format)


@router.post("/{run}/edit/upload", response_model=EditResponse, responses=PNG_EDIT)
async def edit_upload(sr: RunDep, state: StateDep, file: Annotated[UploadFile, File(description="a face image")],
                      valence: FormUnit, arousal: FormUnit, crop: Annotated[CropMode, Form()] = "auto",
                      format: Annotated[OutFormat, Form()] = "png") -> Response | EditResponse:
    """An uploaded face image and a target (valence, arousal) -> the edited face (as /edit)."""
    z = await encode_one(sr, state, (file.filename or "file", await file.read()), crop=crop)
    return await edit_to(sr, state, z, target=VA(valence=valence, arousal=arousal), fmt=format)


@router.post("/{run}/edit-grid", response_model=GridResponse,
             responses={200: {"content": {"image/png": {}, "application/json": {}},
                              "description": "format=png (default): the sprite sheet, its layout as JSON in the "
                                             "X-Grid-Layout header; format=json: GridResponse"}})
async def edit_grid(sr: RunDep, state: StateDep, body: GridRequest) -> Response | GridResponse:
    """One face -> an N x N sprite sheet of it edited across the VA plane, for instant previews while dragging."""
    if body.n > state.settings.max_grid:
        raise HTTPException(422, f"n = {body.n} is over the limit; n must be 2..{state.settings.max_grid}")
    z = await source_latent(sr, state, body)
    sprite, values = await state.batcher.run(lambda: sr.infer.edit_grid(z, body.n), "edit-grid")
    r = lambda xs: [round(float(x), 6) for x in xs]
    layout = GridLayout(n=body.n, tile=sprite.shape[0] // body.n, valence=r(values), arousal=r(values[::-1]))
    png = png_bytes(sprite)
    if body.format == "png":
        return Response(png, media_type="image/png", headers={"X-Grid-Layout": json.dumps(layout.model_dump(),
                                                                                           separators=(",", ":"))})
    return GridResponse(image=base64.b64encode(png).decode(), layout=layout)
