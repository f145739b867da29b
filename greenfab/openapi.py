"""Every status a route can answer, in its OpenAPI entry.

The shared HTTP layer answers some problems on any route: 400 for a body that is not JSON, 408 for
a body that stops arriving and 413 for one over its limit (greenfab.bodies.BodyGuard), 415 for a body
sent as another type than the route reads (JSON as text/plain; greenfab.http), 422 for a
bad field, 401 and 403 where a token is needed. Each route's entry declares those it can give, so
clients and fuzzers see every answer documented, with the problem document as its schema (FastAPI's
own 422 schema describes an answer these services never give).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from contracts.http import Problem

PROBLEM_REF = "#/components/schemas/Problem"
SHARED = {
    400: "请求体无法解析 / The body is not JSON in UTF-8",
    401: "缺少或无效的访问令牌 / Missing, expired or invalid bearer token",
    403: "无权操作 / Not allowed for the caller's role or scope",
    408: "请求体传输超时 / The body stopped arriving",
    413: "请求体过大 / The body is over its limit",
    415: "不支持的请求体类型 / The body is not of the type the route reads (Content-Type)",
    422: "请求内容有误 / A field is invalid; each is named in `errors`",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}}


def shared_statuses(operation: dict[str, Any]) -> list[int]:
    """The statuses the shared layer can answer on ``operation``."""
    statuses = []
    if "requestBody" in operation:
        statuses += [400, 408, 413, 415]
    if operation.get("security"):
        statuses += [401, 403]
    if "requestBody" in operation or operation.get("parameters"):
        statuses.append(422)
    return sorted(statuses)


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Declare the shared problems on every operation of ``doc`` (in place); ``doc``."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        generated = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(generated.pop("$defs", {}))
        schemas["Problem"] = generated
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in shared_statuses(operation):
                entry = responses.get(str(status))
                if entry is None or "HTTPValidationError" in str(entry):
                    responses[str(status)] = _problem(SHARED[status])
    if "HTTPValidationError" not in str(doc.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc


def document_problems(app: FastAPI) -> None:
    """Have ``app``'s OpenAPI document declare the shared problems on every route (when it is first generated)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
