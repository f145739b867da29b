"""A service's /redoc page, served whole from the service: ReDoc's own bundle less its one request to the internet.

fastapi-offline serves ReDoc's standalone bundle from the package, but the bundle itself draws Redocly's logo
from ``cdn.redoc.ly`` in its sidebar: an offline browser logs a failed request on every visit, and an online one
tells a third party who reads our API docs. The bundle is served here with that address replaced by an empty
inline image (read once, on the first visit).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response

# The only address the bundle loads from outside (checked by tests/unit/test_api_docs.py).
EXTERNAL_LOGO = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'
EMPTY_IMAGE = b"\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E\""
BUNDLE_PATH = "/redoc/redoc.standalone.js"


@cache
def offline_bundle() -> bytes:
    """ReDoc's standalone bundle as fastapi-offline ships it, with the external logo replaced."""
    bundle = files("fastapi_offline").joinpath("static", "redoc.standalone.js").read_bytes()
    return bundle.replace(EXTERNAL_LOGO, EMPTY_IMAGE)


def install_redoc(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """``/redoc`` on ``app``, its script from ``app`` itself."""

    @app.get("/redoc", include_in_schema=False)
    async def redoc_html(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{BUNDLE_PATH}",
            redoc_favicon_url=f"{root}/static-offline-docs/favicon.png",
            with_google_fonts=False,
        )

    @app.get(BUNDLE_PATH, include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(
            offline_bundle(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )
