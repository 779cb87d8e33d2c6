"""What the service serves besides the API, all from this machine (nothing from a CDN, so it works offline): the
explorer page (static files, no build step), its favicon, plotly.js from the installed plotly package, and the
OpenAPI docs at /docs with Swagger UI's script and stylesheet from the installed swagger-ui-bundle-v2 package."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

CACHE = {"Cache-Control": "max-age=86400"}
SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
FAVICON = "favicon.svg"  # in the frontend folder; also answered at /favicon.ico, where browsers look unasked


def _vendor_file(app: FastAPI, url: str, *, path: Path, media_type: str) -> None:
    @app.get(url, include_in_schema=False)
    def read_vendor_file() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers=CACHE)


def mount_docs(app: FastAPI) -> None:
    """/docs: Swagger UI on the app's OpenAPI schema, its assets under /vendor/swagger-ui/."""
    from swagger_ui_bundle import swagger_ui_path

    for name, media_type in SWAGGER_FILES.items():
        _vendor_file(app, f"/vendor/swagger-ui/{name}", path=Path(swagger_ui_path) / name, media_type=media_type)

    @app.get("/docs", include_in_schema=False)
    def read_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - docs",
                                   swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/favicon.ico", oauth2_redirect_url=None)


def mount_frontend(app: FastAPI, root: Path) -> None:
    """The explorer page at / and its favicon at /favicon.ico too, and plotly.js from the installed plotly package."""
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if plotly_js.is_file():
        _vendor_file(app, "/vendor/plotly.min.js", path=plotly_js, media_type="text/javascript")

    @app.get("/favicon.ico", include_in_schema=False)
    def read_favicon() -> FileResponse:
        icon = root / FAVICON
        if not icon.is_file():
            raise HTTPException(404, f"no favicon: the frontend folder has no {FAVICON}")
        return FileResponse(icon, media_type="image/svg+xml", headers=CACHE)

    if (root / "index.html").is_file():
        app.mount("/", StaticFiles(directory=root, html=True), name="frontend")
    else:
        @app.get("/", include_in_schema=False, response_class=HTMLResponse)
        def read_index() -> str:
            return ("<!doctype html><title>LeVAsa Explorer</title><h1>LeVAsa Explorer API</h1>"
                    "<p>The explorer page is not built yet; the API is at <a href='/docs'>/docs</a>.</p>")
