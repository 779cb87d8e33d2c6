"""Latents out: decode to faces."""

import base64

import numpy as np
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from backend.deps import RunDep, StateDep, latent_array
from backend.imaging import png_bytes
from backend.inference import Inference
from backend.schemas import DecodeRequest, DecodeResponse

router = APIRouter(prefix="/api/runs", tags=["decode"])


def decode_batch(infer: Inference, zs: list[np.ndarray]) -> list[np.ndarray]:
    """Model-thread batch function: each item is (B_i, D); returns (B_i, S, S, 3) uint8 per item."""
    faces = infer.decode(np.concatenate(zs))
    out, i = [], 0
    for z in zs:
        out.append(faces[i : i + len(z)])
        i += len(z)
    return out


@router.post("/{run}/decode", response_model=DecodeResponse,
             responses={200: {"content": {"image/png": {}}, "description": "one latent: image/png; many: JSON"}})
async def decode_latents(sr: RunDep, state: StateDep, body: DecodeRequest):
    """Latents -> faces: `latent` gives one image/png, `latents` a JSON list of base64 PNGs."""
    if body.latents is not None and len(body.latents) > state.settings.max_batch:
        raise HTTPException(413, f"{len(body.latents)} latents in one request; the limit is {state.settings.max_batch}")
    rows = [body.latent] if body.latent is not None else body.latents
    z = np.stack([latent_array(sr, r, "latent" if body.latent is not None else f"latents[{i}]")
                  for i, r in enumerate(rows)])
    faces = await state.batcher.submit((sr.name, "decode"), lambda items: decode_batch(sr.infer, items), z)
    if body.latent is not None:
        return Response(png_bytes(faces[0]), media_type="image/png")
    return DecodeResponse(images=[base64.b64encode(png_bytes(f)).decode() for f in faces])
