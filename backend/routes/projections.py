"""The dataset's points for the map: VA labels, head VA, t-SNE and PCA, as compact columns (JSON, or one binary typed
array per column)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response

from backend.deps import RunDep, need_latents
from backend.schemas import ColumnsManifest

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
    gz = "gzip" in request.headers.get("accept-encoding", "")
    etag = sr.columns.etag("json-gzip" if gz else "json")  # one tag per representation
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding", "ETag": etag}
    if _fresh(request, etag):
        return Response(status_code=304, headers=headers)
    if gz:  # compressed once, when first asked for
        return Response(sr.columns.gzip_bytes, media_type="application/json",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(sr.columns.json_bytes, media_type="application/json", headers=headers)


BINARY_DOC = """One column as raw little-endian values, n of them (the manifest's dtype: float32 coordinates and VA,
uint8 emotion and split codes, int32 ids). JavaScript reads it with new Float32Array(await r.arrayBuffer())."""


def _fresh(request: Request, etag: str) -> bool:
    """The client's copy is this one (If-None-Match names the ETag, weak or strong, or *)."""
    sent = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
    return etag in sent or "*" in sent


@router.get("/{run}/columns", response_model=ColumnsManifest)
async def read_columns(sr: RunDep) -> ColumnsManifest:
    """The binary columns of the run's points: names, dtypes, sizes and URLs, and what the codes mean."""
    need_latents(sr)
    return ColumnsManifest(**sr.columns.manifest(), etag=sr.columns.etag("manifest"))


@router.get("/{run}/columns/{name}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": BINARY_DOC},
                       304: {"description": "the copy named by If-None-Match is current"}})
async def read_column(sr: RunDep, request: Request,
                      name: Annotated[str, Path(max_length=40, examples=["pca_z_x"])]) -> Response:
    """One column of the run's points as a binary typed array (cacheable: ETag, revalidated with If-None-Match)."""
    need_latents(sr)
    cols = sr.columns
    if name not in cols.binary_dtypes:
        raise HTTPException(404, f"column {name!r} not found; run {sr.name!r} has {', '.join(cols.binary_dtypes)}")
    etag = cols.etag(name)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Dtype": cols.binary_dtypes[name], "X-Count": str(cols.n),
               "Access-Control-Expose-Headers": "X-Dtype, X-Count, ETag"}
    if _fresh(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(cols.binary(name).tobytes(), media_type="application/octet-stream", headers=headers)
