"""The dataset's points for the map: VA labels, head VA, t-SNE and PCA, as compact columns."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.deps import RunDep, need_latents

router = APIRouter(prefix="/api/runs", tags=["projections"])

COLUMNS_DOC = """Columns (all the same length n, one entry per point): ids (dataset row, use for thumbnails and edits),
emotion (code into `emotions`), split, label_v/label_a (labelled VA), head_v/head_a (the heads' VA), and x/y pairs
tsne_v, tsne_a, tsne_z, pca_v, pca_a, pca_z (t-SNE and PCA of z_v, z_a and z_z; empty lists when evaluation skipped
t-SNE). Computed by evaluation (python -m scripts.evaluate or scripts.export) and served from the run folder's cache:
30,000 points are about 2 MB of JSON, ~0.8 MB gzipped."""


@router.get("/{run}/projections", response_class=Response,
            responses={200: {"content": {"application/json": {}}, "description": COLUMNS_DOC}})
async def read_projections(sr: RunDep, request: Request) -> Response:
    """The run's dataset points: ids, emotion, labelled VA, head VA, t-SNE and PCA coordinates (columns)."""
    need_latents(sr)  # 409 without them: the columns are built from the latents
    headers = {"Cache-Control": "max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):  # compressed once, when first asked for
        return Response(sr.columns.gzip_bytes, media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(sr.columns.json_bytes, media_type="application/json", headers=headers)
