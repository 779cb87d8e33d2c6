"""Request and response schemas, one family per resource. Field descriptions and examples become the OpenAPI docs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Unit = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
EXAMPLE_LATENT = [0.0] * 96


class Strict(BaseModel):
    """A request body: unknown fields are refused and nothing is coerced ("valence": true, "sample": "3" and a latent
    of strings are 422s); an integer is taken for a number (1 for 1.0), as JSON has one number type."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- health ---
class Health(BaseModel):
    status: Literal["ok"] = "ok"


class RunStatus(BaseModel):
    name: str
    status: Literal["ready", "error"]
    error: str | None = Field(None, description="why the run did not load")
    missing: list[str] = Field([], description="artifacts evaluation has not written (the run serves without them)")


class Readiness(BaseModel):
    ready: bool = Field(description="at least one run is loaded and serving")
    device: str
    runs: list[RunStatus]


# --- runs ---
class LatentSizes(BaseModel):
    zv: int
    za: int
    zz: int
    total: int


class RunSummary(BaseModel):
    name: str
    status: Literal["ready", "error"]
    error: str | None = None
    kind: str | None = Field(None, description="vanilla or levasa")
    label_mode: str | None = Field(None, description="continuous or discrete")
    latent: LatentSizes | None = None
    dataset: str | None = None
    synthetic: bool = Field(False, description="trained on the built-in synthetic faces only: it has never seen a "
                                               "real face (levasa demo --data DIR makes a real-face run)")
    n_samples: int = Field(0, description="dataset faces with latents (for projections and thumbnails)")
    epochs: int | None = None
    headline: dict[str, float] = Field({}, description="a few held-out figures (ccc_v, ccc_a, recon_mse, ...): from "
                                       "the evaluation's metrics.json, else from training's summary.json")
    headline_source: Literal["evaluation", "training"] | None = Field(
        None, description="where headline comes from: evaluation (metrics.json) or training (summary.json); null when "
                          "the run has neither")


class BinaryColumn(BaseModel):
    dtype: Literal["float32", "uint8", "int32"] = Field(description="little-endian element type")
    bytes: int = Field(description="n values of the dtype")
    url: str


class ColumnsManifest(BaseModel):
    run: str
    n: int = Field(description="points (the length of every column)")
    n_dataset: int = Field(description="dataset rows; n is smaller when the projections were subsampled")
    emotions: list[str] = Field(description="the emotion column's codes, in order")
    splits: list[str] = Field(description="the split column's codes, in order (255: another split)")
    ids_are_rows: bool = Field(description="point i is dataset row i (no need to fetch ids)")
    columns: dict[str, BinaryColumn] = Field(description="ids, emotion, split, label_v/_a, head_v/_a and an _x and _y "
                                             "column per projection computed (tsne_v, tsne_a, tsne_z, pca_v, ...)")
    etag: str = Field(description="changes whenever the run's latents or projections are rewritten")


class RunDetail(RunSummary):
    config: dict | None = Field(None, description="the run's config.json")
    metrics: dict | None = Field(None, description="metrics.json written by python -m scripts.evaluate")
    summary: dict | None = Field(None, description="summary.json written when training ended (heldout, n_heldout, "
                                                   "ccc_v, ccc_a, recon_mse, epochs, ...)")
    missing: list[str] = []
    emotions: dict[str, dict[str, float]] = Field({}, description="category ellipses used for the nearest emotion")
    columns: ColumnsManifest | None = Field(None, description="the map's points as binary columns (as GET "
                                            "/api/runs/{run}/columns); absent without dataset latents")


# --- emotions ---
class Emotion(BaseModel):
    name: str = Field(examples=["happy"])
    code: int = Field(description="the AffectNet code (the projections' emotion column)", examples=[1])
    colour: str = Field(description="the category's colour on the map and in the report, #rrggbb", examples=["#2ca02c"])


class EmotionList(BaseModel):
    emotions: list[Emotion] = Field(description="every category, in AffectNet code order")


# --- encode ---
CropMode = Literal["auto", "detect", "center", "none"]
Conversion = Literal["none", "grayscale"]
CONVERSION = ("what was done to the upload to meet the run's training images: grayscale (the run was trained on "
              "grayscale faces, so a colour upload is read as its luma) or none")


class EncodeJSON(Strict):
    images: list[str] = Field(min_length=1, description="base64 image files (PNG, JPEG, WebP, BMP, GIF, TIFF); a "
                              "data: URL prefix is accepted", examples=[["iVBORw0KGgo..."]])
    crop: CropMode = "auto"


class FaceBox(BaseModel):
    x: int
    y: int
    width: int
    height: int

    @classmethod
    def of(cls, box: tuple[int, int, int, int]) -> FaceBox:
        return cls(x=box[0], y=box[1], width=box[2], height=box[3])


class FaceEncoding(BaseModel):
    name: str = Field(description="the file name, or images[i] for base64")
    zv: list[float]
    za: list[float]
    zz: list[float]
    valence: float = Field(description="the valence head on the latent mean")
    arousal: float
    emotion: str = Field(description="nearest category ellipse to (valence, arousal)")
    box: FaceBox = Field(description="the square the model saw, in the uploaded image's pixels (EXIF-rotated)")
    crop: Literal["detected", "center", "whole"] = Field(
        description="detected: a face was found; center: none was found (or crop=center), the centre square was used; "
                    "whole: the image was taken as a face crop already")
    image_size: list[int] = Field(description="the upload's width and height")
    conversion: Conversion = Field(description=CONVERSION)


class EncodeResponse(BaseModel):
    run: str
    faces: list[FaceEncoding]


# --- decode ---
class DecodeRequest(Strict):
    latent: list[Finite] | None = Field(None, description="one latent (z_v, z_a, z_z) -> image/png",
                                        examples=[EXAMPLE_LATENT])
    latents: list[list[Finite]] | None = Field(None, description="several latents -> JSON with base64 PNGs")

    @model_validator(mode="after")
    def _one(self):
        if (self.latent is None) == (self.latents is None):
            raise ValueError("send exactly one of latent (one face, PNG back) or latents (many, base64 PNGs back)")
        if self.latents is not None and not self.latents:
            raise ValueError("latents is empty")
        return self


class DecodeResponse(BaseModel):
    images: list[str] = Field(description="base64 PNGs, in request order")


# --- edit ---
class VA(BaseModel):
    valence: float
    arousal: float


PhotoOutput = Literal["face", "box", "photo"]
GRID_PHOTO_TILE = 128  # the largest tile of an output=box grid: the page's 15 x 15 sprite is 1,920 px a side
OUTPUT = ("face: the decoded face at the model's size; photo (image sources): the whole uploaded photo at its own "
          "resolution with the edit's change pasted under a soft face mask, unchanged outside the face box; box: the "
          "same photo's face box only (X-Face-Box says where it goes)")
BOX = ("image sources: the face box x,y,width,height in the image's pixels (as /encode reports it); skips detection, "
       "so repeated edits of one photo use the same box (a box that is not square is squashed, as crop=none does)")


class EditSource(Strict):
    latent: list[Finite] | None = Field(None, description="a latent from encode (z_v + z_a + z_z)")
    sample: int | None = Field(None, ge=0, description="a dataset face by id (see projections)")
    image: str | None = Field(None, description="a base64 image file, encoded first (see crop and box)")
    crop: CropMode = Field("auto", description="image sources: how the face is found (as /encode)")
    box: str | None = Field(None, max_length=64, description=BOX, examples=["40,32,180,180"])

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("latent", "sample", "image") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"send exactly one face: latent, sample or image (got {', '.join(given) or 'none'})")
        if self.image is None and (self.box is not None or self.crop != "auto"):
            raise ValueError("box and crop apply to an image source; a latent or a sample has no photo to crop")
        if getattr(self, "output", "face") != "face" and self.image is None:  # EditRequest's and GridRequest's
            raise ValueError(f"output {self.output} pastes the edit into an uploaded photo: send the face as image")
        return self


class EditRequest(EditSource):
    valence: Unit = Field(description="target valence in [-1, 1]", examples=[0.6])
    arousal: Unit = Field(description="target arousal in [-1, 1]", examples=[0.3])
    format: Literal["png", "json"] = Field(
        "png", description="png: the face as image/png, read-back VA in X-Read-Valence / X-Read-Arousal headers; "
                           "json: base64 PNG, read-back VA and the edited latent")
    output: PhotoOutput = Field("face", description=OUTPUT)


class EditResponse(BaseModel):
    image: str = Field(description="the edited face (or photo, or face box: see output), base64 PNG")
    target: VA
    read_back: VA = Field(description="what the model's heads read from the edited face, re-encoded")
    latent: list[float] = Field(description="the edited latent (z_z unchanged)")
    emotion: str = Field(description="nearest category to the read-back VA")
    box: FaceBox | None = Field(None, description="image sources: the face box in the photo")
    conversion: Conversion | None = Field(None, description="image sources: " + CONVERSION)


class GridRequest(EditSource):
    n: int = Field(9, ge=2, description="faces per side (N x N across [-1, 1]^2); at most the max_grid setting (21)")
    format: Literal["png", "json"] = Field(
        "png", description="png: the sprite sheet as image/png, its layout in the X-Grid-Layout header (JSON); "
                           "json: base64 sprite and layout")
    output: Literal["face", "box"] = Field(
        "face", description="face: decoded faces; box (image sources): each tile is the photo's face box with that "
                            f"edit pasted in (as /edit output=box), squashed to a square of at most {GRID_PHOTO_TILE} "
                            "px; draw it over layout.box")


class GridLayout(BaseModel):
    n: int
    tile: int = Field(description="pixels per face")
    valence: list[float] = Field(description="column c shows valence[c] (left to right)")
    arousal: list[float] = Field(description="row r shows arousal[r] (top to bottom: high arousal first)")
    box: FaceBox | None = Field(None, description="output=box: where in the photo each tile goes")


class GridResponse(BaseModel):
    image: str
    layout: GridLayout


# --- samples ---
class Sample(BaseModel):
    id: int
    emotion: str
    split: str
    label: VA
    head: VA = Field(description="the heads' VA for this face")
    latent: list[float]
    recon_mse: float
    thumbnail: str = Field(description="URL of the face's JPEG thumbnail")

