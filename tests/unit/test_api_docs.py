"""Every service's /docs and /redoc work without the internet, and declare the bearer scheme to authorise with."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from fastapi import APIRouter
from fastapi.testclient import TestClient

from greenfab.http import CurrentPrincipal, service_app

ROOT = Path(__file__).resolve().parents[2]


def test_docs_and_redoc_load_their_assets_from_the_service_itself() -> None:
    app = service_app("t", "1", "d", secrets.token_urlsafe(48))
    router = APIRouter()

    @router.get("/v1/me")
    async def me(who: CurrentPrincipal) -> dict[str, str]:
        return {"role": who.role}

    app.include_router(router)
    with TestClient(app) as c:
        for page in ("/docs", "/redoc"):
            html = c.get(page).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets and all(a.startswith("/") for a in assets), f"{page} loads {assets}"
            for asset in assets:
                assert c.get(asset).status_code == 200, asset
        # ReDoc's bundle draws its sidebar logo from cdn.redoc.ly: the copy served here does not.
        bundle = c.get("/redoc/redoc.standalone.js")
        assert bundle.status_code == 200 and len(bundle.content) > 500_000
        assert b"cdn.redoc.ly" not in bundle.content and b"redocly logo" in bundle.content
        schema = c.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert c.get("/v1/me").status_code == 401


def test_every_published_openapi_document_declares_the_bearer_scheme() -> None:
    for path in sorted((ROOT / "contracts" / "openapi").glob("*.json")):
        if path.stem == "scoring":
            continue  # scoring serves health only
        doc = json.loads(path.read_text())
        assert doc["components"]["securitySchemes"]["bearer"]["type"] == "http", path.name


def test_the_only_address_replaced_in_redocs_bundle_is_still_the_only_external_load() -> None:
    # A new fastapi-offline may ship a ReDoc that loads something else from outside, or moves its logo: then
    # greenfab/api_docs.py must be looked at again, not silently serve a bundle that calls out.
    from importlib.resources import files

    from greenfab.api_docs import EXTERNAL_LOGO

    shipped = files("fastapi_offline").joinpath("static", "redoc.standalone.js").read_bytes()
    assert shipped.count(EXTERNAL_LOGO) == 1
    assert re.findall(rb"https://cdn[.\w/-]+", shipped) == [EXTERNAL_LOGO.strip(b'"')]
