"""Faces in: encode to latents and VA, and reconstruct."""

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from backend.deps import RunDep, StateDep
from backend.imaging import png_bytes
from backend.inference import Inference
from backend.schemas import CropMode, EncodeResponse, FaceBox, FaceEncoding
from backend.uploads import face_headers, faces_from, read_images, stack

router = APIRouter(prefix="/api/runs", tags=["encode"])

ENCODE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                  "description": "one or more image files (any field name)"},
                        "crop": {"type": "string", "enum": ["auto", "detect", "center", "none"], "default": "auto"},
                    },
                    "required": ["files"],
                },
            },
            "application/json": {"schema": {"$ref": "#/components/schemas/EncodeJSON"}},
        },
    }
}


def encode_batch(infer: Inference, faces: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Model-thread batch function: each item is (B_i, S, S, 3) uint8; returns (mu (B_i, D), va (B_i, 2)) per item."""
    sizes = [len(f) for f in faces]
    mu, va = infer.encode(np.concatenate(faces))
    out, i = [], 0
    for n in sizes:
        out.append((mu[i : i + n], va[i : i + n]))
        i += n
    return out


@router.post("/{run}/encode", response_model=EncodeResponse, openapi_extra=ENCODE_BODY)
async def encode_images(sr: RunDep, state: StateDep, request: Request) -> EncodeResponse:
    """Face images -> per face z_v, z_a, z_z (means), the heads' valence and arousal, nearest emotion, face box."""
    c = sr.stored.run.model_cfg
    blobs, crop = await read_images(request, state.settings)
    faces = await faces_from(blobs, state.settings, sr.stored.run, crop=crop)
    mu, va = await state.batcher.submit((sr.name, "encode"), lambda items: encode_batch(sr.infer, items), stack(faces))
    emotions = sr.stored.emotion_of(va)
    out = []
    for (name, _), f, z, (v, a), emo in zip(blobs, faces, mu.tolist(), va.tolist(), emotions):
        out.append(FaceEncoding(
            name=name, zv=z[: c.zv_dim], za=z[c.zv_dim : c.zv_dim + c.za_dim], zz=z[c.zv_dim + c.za_dim :],
            valence=v, arousal=a, emotion=emo, box=FaceBox.of(f.box), crop=f.crop, image_size=[f.width, f.height],
            conversion=f.conversion))
    return EncodeResponse(run=sr.name, faces=out)


@router.post("/{run}/reconstruct", response_class=Response,
             responses={200: {"content": {"image/png": {}}, "description": "the reconstruction (decoded latent mean)"}})
async def reconstruct_image(sr: RunDep, state: StateDep, file: Annotated[UploadFile, File(description="a face image")],
                            crop: Annotated[CropMode, Form()] = "auto") -> Response:
    """A face image -> its reconstruction as PNG (the crop the model saw is described in X-Face-Box / X-Face-Crop)."""
    data = await file.read()  # its size limit is checked with the decoding, as for every upload
    (face,) = await faces_from([(file.filename or "file", data)], state.settings, sr.stored.run, crop=crop)
    (recon,) = await state.batcher.run(lambda: sr.infer.reconstruct(face.pixels[None]), "reconstruct")
    return Response(png_bytes(recon), media_type="image/png", headers=face_headers(face))
