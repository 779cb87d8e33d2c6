"""Dataset faces by id: their facts and latent, and thumbnails."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from backend.deps import RunDep, sample_latent
from backend.schemas import VA, Sample
from models.data.emotions import ALL_EMOTIONS

router = APIRouter(prefix="/api/runs", tags=["samples"])
SampleId = Annotated[int, Path(ge=0, description="dataset row id (the ids column of projections)")]


@router.get("/{run}/samples/{sample_id}", response_model=Sample)
async def read_sample(sr: RunDep, sample_id: SampleId) -> Sample:
    """One dataset face: emotion, split, labelled and head VA, latent mean and thumbnail URL."""
    z = sample_latent(sr, sample_id)
    lat, i = sr.stored.latents, sample_id
    return Sample(id=i, emotion=ALL_EMOTIONS[int(lat["emotion"][i])], split=str(lat["split"][i]),
                  label=VA(valence=float(lat["va_label"][i, 0]), arousal=float(lat["va_label"][i, 1])),
                  head=VA(valence=float(lat["va_head"][i, 0]), arousal=float(lat["va_head"][i, 1])),
                  latent=z.tolist(), recon_mse=float(lat["recon_mse"][i]),
                  thumbnail=f"/api/runs/{sr.name}/samples/{sample_id}/thumbnail")


@router.get("/{run}/samples/{sample_id}/thumbnail", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the dataset face, 64 x 64 JPEG"}})
async def read_thumbnail(sr: RunDep, sample_id: SampleId) -> Response:
    """A dataset face's thumbnail (JPEG, stored with the run)."""
    sample_latent(sr, sample_id)  # 409 without latents, 404 out of range
    if sr.stored.thumbs is None:
        raise HTTPException(409, f"run {sr.name!r} has no thumbnails yet; write them with "
                                 f"python -m scripts.export runs/{sr.name}")
    return Response(sr.stored.thumbs.jpeg(sample_id), media_type="image/jpeg",
                    headers={"Cache-Control": "max-age=86400"})
