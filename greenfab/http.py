"""HTTP conventions shared by every service: RFC 9457 problems, the principal dependency, health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.utils import generate_unique_id
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from contracts.http import FieldError, Problem
from greenfab.api_docs import install_redoc
from greenfab.auth import AuthError, Principal, read_token
from greenfab.bodies import BodyError, BodyGuard, BodyLimits
from greenfab.identifiers import identifier
from greenfab.openapi import document_problems

PROBLEM_JSON = "application/problem+json"
SQL_INT_MAX = 2**31 - 1
"""The largest value of an SQL INTEGER column (32 bits on PostgreSQL): integer path and query parameters stay below."""
log = logging.getLogger(__name__)


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(status=status, title=title, detail=detail, errors=errors or [])


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry saying each of ``statuses`` answers with a problem document."""
    return {status: {"model": Problem, "content": {PROBLEM_JSON: {}}} for status in statuses}


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.model_dump(mode="json"), status_code=problem.status, media_type=PROBLEM_JSON)


_CODE_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "字符串过短",
    "string_too_long": "字符串过长",
    "string_pattern_mismatch": "格式不符合要求",
    "date_from_datetime_parsing": "日期格式错误",
    "date_parsing": "日期格式错误",
    "date_type": "日期格式错误",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "dict_type": "应为对象",
    "string_type": "应为字符串",
    "json_invalid": "JSON 格式错误",
    "model_attributes_type": "应为 JSON 对象",
    "finite_number": "数值无效：不能是 NaN 或 Infinity",
    "uscc_invalid": "统一社会信用代码无效（须为18位且符合 GB 32100 校验规则）",
    "district_unknown": "不是北京市的区",
    "date_out_of_range": "日期不在合理范围内",
    "int_parsing": "应为整数",
    "greater_than_equal": "数值小于允许的最小值",
    "less_than_equal": "数值大于允许的最大值",
}


def _json_path(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def field_errors(errors: list[Any]) -> list[FieldError]:
    """Pydantic errors as FieldErrors with a stable code and Chinese and English messages."""
    out = []
    for err in errors:
        code = str(err.get("type", "invalid"))
        out.append(
            FieldError(
                path=_json_path(tuple(err.get("loc", ()))),
                code=code,
                # A custom error (pydantic_core.PydanticCustomError) may carry its own Chinese message.
                message_zh=str((err.get("ctx") or {}).get("message_zh") or _CODE_ZH.get(code, "字段取值无效")),
                message_en=str(err.get("msg", "invalid value")),
            )
        )
    return out


FASTAPI_BODY_ERROR = "There was an error parsing the body"


def unparsable(detail: str) -> Problem:
    """The 400 problem for a body that is not JSON at all (bad syntax, not UTF-8), before any field is read."""
    error = FieldError(
        path="$",
        code="json_invalid",
        message_zh="请求体无法解析：须为 UTF-8 编码的 JSON",
        message_en=f"the body could not be parsed as UTF-8 JSON: {detail}",
    )
    return Problem(status=400, title="请求体无法解析 / Unparsable body", detail=detail, errors=[error])


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this request's path (for a 405's ``Allow``).

    A fixed path (/v1/units/auto-listings) is a resource of its own: only its routes count, not a templated
    route (/v1/units/{workflow_id}) whose parameter would also match its text; the OpenAPI document says the same.
    """
    literal = literal_methods(request)
    if literal:
        return sorted(literal)
    scope = {**request.scope, "method": ""}
    methods: set[str] = set()
    for route in _routes(request):
        if route.matches(scope)[0] is not Match.NONE:
            methods |= set(route.methods or ())
    return sorted(methods)


def literal_methods(request: Request) -> set[str]:
    """The methods of the routes whose path is exactly this request's path, with no parameter in it."""
    scope = {**request.scope, "method": ""}
    methods: set[str] = set()
    for route in _routes(request):
        if "{" not in (route.path or "{") and route.matches(scope)[0] is not Match.NONE:
            methods |= set(route.methods or ())
    return methods


def _routes(request: Request) -> Iterator[RouteContext]:
    """Every route of the app, those of included routers too (FastAPI keeps an included router as one entry)."""
    return iter_route_contexts(request.app.router.routes)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error becomes problem+json; no input produces a 5xx."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        literal = literal_methods(request)
        if literal and request.method not in literal and all(e.get("loc", ("",))[0] == "path" for e in raw):
            # e.g. GET /v1/units/auto-listings: a fixed path that has other methods, which a templated
            # route (/v1/units/{workflow_id}) took only because its parameter would match any text.
            response = problem_response(Problem(status=405, title="Method Not Allowed"))
            response.headers["Allow"] = ", ".join(sorted(literal))
            return response
        syntax = next((e for e in raw if e.get("type") == "json_invalid"), None)
        if syntax is not None:
            where = syntax.get("loc", ("body", 0))[-1]
            return problem_response(unparsable(f"{syntax.get('ctx', {}).get('error', 'invalid JSON')} at {where}"))
        errors = field_errors(raw)
        return problem_response(
            Problem(
                status=422,
                title="请求内容有误 / Invalid request",
                detail=f"{len(errors)} field(s) invalid",
                errors=errors,
            )
        )

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.problem)

    @app.exception_handler(BodyError)
    async def _body(_: Request, exc: BodyError) -> JSONResponse:
        return problem_response(exc.problem)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        response = problem_response(Problem(status=exc.status, title=exc.message_zh, detail=exc.message_en))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(status=500, title="服务器内部错误 / Internal error", detail=type(exc).__name__))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
            # A JSON body FastAPI could not even decode, e.g. bytes that are not UTF-8.
            response = problem_response(unparsable(type(exc.__cause__).__name__))
        else:
            response = problem_response(Problem(status=exc.status_code, title=str(exc.detail)))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path can have several routes.
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An access token: `greenfab token --role ROLE [--scope USCC|DISTRICT]`. 访问令牌。",
)


def service_app(
    title: str, version: str, description: str, secret: str, body_limits: BodyLimits | None = None
) -> FastAPI:
    """A service's API: every error a problem document, bearer tokens checked against ``secret``, every request
    body within ``body_limits`` (bytes as they stream, time) and every JSON body strict JSON.

    Its /docs (Swagger UI) and /redoc load their scripts from the service itself (the fastapi-offline package's,
    ReDoc's less its logo from a CDN: greenfab/api_docs.py), never a CDN.
    """
    app = FastAPIOffline(
        title=title,
        version=version,
        description=description,
        generate_unique_id_function=operation_id,
        redoc_url=None,  # greenfab/api_docs.py serves it, without the bundle's one external request
    )
    install_redoc(app)
    install_problem_handlers(app)
    app.add_middleware(BodyGuard, limits=body_limits or BodyLimits())
    app.state.auth_secret = secret
    document_problems(app)
    return app


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operationId: its tag (its concern) and its function's name in camelCase, e.g.
    `declarationsListOwn`, which a client generator turns into a method name (FastAPI's own,
    `list_own_v1_declarations_get`, spells the path and method). tests/unit/test_contract_documents.py
    checks that every route of the services has one tag and that the ids are unique."""
    if not route.include_in_schema:
        return generate_unique_id(route)  # /docs, /redoc: not in the document
    return identifier(" ".join([*(str(t) for t in route.tags[:1]), route.name]))


def current_principal(
    request: Request, _declared: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
) -> Principal:
    """The caller's Principal from its bearer token (secret in ``app.state.auth_secret``), or a 401 problem.

    ``BEARER`` is read only so that OpenAPI declares the scheme on every route that needs a token
    (Swagger's Authorize button); the header itself is checked here, with a problem document for every failure.
    """
    return read_token(request.app.state.auth_secret, request.headers.get("authorization"))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
