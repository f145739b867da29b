"""The shared HTTP layer (greenfab/http.py): every error a documented problem, on any service built with it;
and the OpenAPI documents in contracts/ declare the token and the statuses each route can answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi import Path as PathParam
from pydantic import BaseModel

from greenfab.http import SQL_INT_MAX, CurrentPrincipal, service_app
from tests.conftest import SECRET, token

DOCUMENTS = sorted((Path(__file__).resolve().parents[2] / "contracts" / "openapi").glob("*.json"))


class Body(BaseModel):
    name: str


def app() -> FastAPI:
    a = service_app("t", "1", "test", SECRET)

    @a.get("/things")
    async def read(who: CurrentPrincipal) -> dict[str, str]:
        return {"role": who.role}

    @a.put("/things")
    async def put(body: Body, who: CurrentPrincipal) -> dict[str, str]:
        return {"name": body.name}

    @a.get("/public")
    async def public() -> dict[str, str]:
        return {}

    router = APIRouter(prefix="/v1")  # FastAPI keeps an included router as one entry of its routes

    @router.get("/items")
    async def items() -> list[str]:
        return []

    @router.post("/items")
    async def add_item() -> dict[str, str]:
        return {}

    a.include_router(router)

    @a.post("/units/auto-listings")
    async def auto_list() -> dict[str, str]:
        return {}

    @a.get("/units/{unit_id}")
    async def unit(unit_id: Annotated[str, PathParam(pattern=r"^unit-[0-9]+$")]) -> dict[str, str]:
        return {"id": unit_id}

    return a


async def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t") as c:
        return await c.request(method, path, **kwargs)


def bureau() -> dict[str, str]:
    return {"authorization": f"Bearer {token('bureau', None)}"}


async def test_405_names_every_method_the_path_answers() -> None:
    for method in ("DELETE", "POST", "PATCH"):
        r = await call(method, "/things")
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, PUT"
        assert r.headers["content-type"] == "application/problem+json"
    assert (await call("POST", "/public")).headers["allow"] == "GET"
    assert (await call("DELETE", "/v1/items")).headers["allow"] == "GET, POST"


async def test_a_fixed_path_taken_by_a_templated_route_still_answers_405() -> None:
    r = await call("GET", "/units/auto-listings")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    # A method no route has at all (Starlette's own 405): the fixed path's Allow still leaves the templated GET out.
    for method in ("OPTIONS", "DELETE"):
        r = await call(method, "/units/auto-listings")
        assert r.status_code == 405 and r.headers["allow"] == "POST", method
    assert (await call("GET", "/units/unit-7")).json() == {"id": "unit-7"}
    bad = await call("GET", "/units/nonsense")  # no fixed path: the parameter is simply wrong
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "$.unit_id"


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b"not json", b'{"name": "\xff\xfe"}', b"\xff"],
    ids=["truncated", "not json", "not utf-8 inside", "not utf-8"],
)
async def test_an_unparsable_body_is_a_400_problem_naming_the_body(content: bytes) -> None:
    headers = {**bureau(), "content-type": "application/json"}
    r = await call("PUT", "/things", content=content, headers=headers)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["status"] == 400 and r.headers["content-type"] == "application/problem+json"
    assert [(e["path"], e["code"]) for e in problem["errors"]] == [("$", "json_invalid")]
    assert problem["errors"][0]["message_zh"] and problem["errors"][0]["message_en"]


async def test_a_bad_field_is_still_a_422_naming_it() -> None:
    r = await call("PUT", "/things", json={"name": 5}, headers=bureau())
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.name"


async def test_a_missing_token_is_a_401_that_says_how_to_authenticate() -> None:
    r = await call("GET", "/things")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert (await call("GET", "/things", headers=bureau())).json() == {"role": "bureau"}


def test_the_generated_document_declares_the_token_and_the_shared_problems() -> None:
    doc = app().openapi()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    things = doc["paths"]["/things"]
    assert things["get"]["security"] == [{"bearer": []}] and "security" not in doc["paths"]["/public"]["get"]
    assert {"401", "403"} <= set(things["get"]["responses"])
    assert {"400", "401", "403", "422"} <= set(things["put"]["responses"])
    assert "HTTPValidationError" not in json.dumps(doc)


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.stem for d in DOCUMENTS])
def test_every_contract_declares_its_problems_and_bounds_its_integers(document: Path) -> None:
    doc = json.loads(document.read_text())
    for method, path, op in operations(doc):
        where = f"{document.stem}: {method} {path}"
        statuses = set(op["responses"])
        if op.get("security"):
            assert op["security"] == [{"bearer": []}] and {"401", "403"} <= statuses, where
        if "requestBody" in op:
            assert {"400", "415", "422"} <= statuses, where
        if op.get("parameters"):
            assert "422" in statuses, where
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert "application/problem+json" in response.get("content", {}), (where, status)
        for p in op.get("parameters", []):
            schemas = [p["schema"], *p["schema"].get("anyOf", [])]
            for schema in schemas:
                if schema.get("type") == "integer":
                    # An unbounded integer reaches the database and overflows its column: a 500.
                    assert "maximum" in schema and schema["maximum"] <= SQL_INT_MAX, (where, p["name"])
                    assert "minimum" in schema and schema["minimum"] >= -SQL_INT_MAX - 1, (where, p["name"])
