"""HTTP conventions shared by every service: RFC 9457 problems, the principal dependency, health."""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.utils import generate_unique_id
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from contracts.http import FieldError, Problem
from contracts.labels import ROLE_ZH, zh
from greenfab.api_docs import install_redoc
from greenfab.auth import AuthError, Principal, read_token
from greenfab.bodies import BodyError, BodyGuard, BodyLimits, is_json
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
    "too_long": "列表项过多",
    "too_short": "列表项过少",
    "url_scheme": "网址的协议不被接受（须为 http:// 或 https://）",
    "url_parsing": "网址格式无效",
    "url_type": "应为网址",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为是或否（true/false）",
    "list_type": "应为列表",
    "int_type": "应为整数",
}

# pydantic's message for an unreadable URL names the reason in ``ctx.error`` (from the url crate).
_URL_ZH = {
    "invalid port number": "网址的端口号无效（须为 0–65535 之间的整数）",
    "empty host": "网址缺少主机名",
    "relative URL without a base": "网址不完整：须以 https:// 开头，含主机名",
    "invalid domain character": "网址的主机名含有不允许的字符",
    "invalid international domain name": "网址的国际化域名无效",
    "invalid IPv4 address": "网址中的 IPv4 地址无效",
    "invalid IPv6 address": "网址中的 IPv6 地址无效",
}
_ENUM_REPR = re.compile(r"<[A-Za-z_][\w.]*: ('[^']*'|\d+)>")
"""An enum member as Python shows it (``<Scheme.GREEN_FACTORY: 'green-factory'>``): people see its value."""
_ORDER = ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of")


def _zh(code: str, err: Any) -> str:
    """The Chinese reason for one pydantic error: its own (``ctx.message_zh``), else one told from its context."""
    ctx = err.get("ctx") or {}
    if ctx.get("message_zh"):
        return str(ctx["message_zh"])
    unit = "个字符" if code.startswith("string_") else "项"
    if code in ("too_long", "string_too_long") and "max_length" in ctx:
        actual = ctx.get("actual_length")
        return f"最多 {ctx['max_length']} {unit}" + (f"，实际为 {actual} {unit}" if actual is not None else "")
    if code in ("too_short", "string_too_short") and "min_length" in ctx:
        return f"至少 {ctx['min_length']} {unit}"
    if code == "url_parsing" and str(ctx.get("error")) in _URL_ZH:
        return _URL_ZH[str(ctx["error"])]
    bounds = {"le": "数值不能大于", "lt": "数值须小于", "ge": "数值不能小于", "gt": "数值须大于"}
    for key, words in bounds.items():
        if code in _ORDER and key in ctx:
            return f"{words} {ctx[key]}"
    if code in ("enum", "literal_error") and "expected" in ctx:
        return f"取值不在允许范围内，应为 {_ENUM_REPR.sub(lambda m: m.group(1), str(ctx['expected']))}"
    return _CODE_ZH.get(code, "字段取值无效")


def _not_finite(err: Any) -> bool:
    """A number outside a bound only because it is NaN or an infinity (``?target=nan``): it has no order at all."""
    raw = err.get("input")
    if isinstance(raw, str):
        try:
            raw = float(raw)
        except ValueError:
            return False
    return isinstance(raw, float) and not math.isfinite(raw)


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
        path = _json_path(tuple(err.get("loc", ())))
        if code in _ORDER and _not_finite(err):
            out.append(
                FieldError(
                    path=path,
                    code="finite_number",
                    message_zh=f"应为有限的数字，而不是“{err.get('input')}”（NaN、Infinity 不是数字）",
                    message_en=f"should be a finite number, not {err.get('input')!r} (NaN, Infinity)",
                )
            )
            continue
        out.append(
            FieldError(
                path=path,
                code=code,
                # A custom error (pydantic_core.PydanticCustomError) may carry its own Chinese message.
                message_zh=_zh(code, err),
                message_en=_ENUM_REPR.sub(lambda m: m.group(1), str(err.get("msg", "invalid value"))),
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


_STANDARD = {
    404: ("未找到 / Not Found", "没有这个地址", "there is nothing at this path"),
    405: ("请求方法不被允许 / Method Not Allowed", "此地址不接受该请求方法", "this path does not take this method"),
}


def _standard(status: int, request: Request) -> Problem:
    """The problem for a request no route takes (404) or whose method this path does not take (405)."""
    title, zh, en = _STANDARD[status]
    where = f"{request.method} {request.url.path}"
    error = FieldError(
        path="$",
        code="not_found" if status == 404 else "method_not_allowed",
        message_zh=f"{zh}：{where}",
        message_en=f"{en}: {where}",
    )
    return Problem(status=status, title=title, detail=f"{zh} / {en}: {where}", errors=[error])


def _expected_type(request: Request) -> str | None:
    """The media type the matched route reads its body as: JSON, or a form (multipart) for file uploads."""
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    if not isinstance(route, APIRoute) or body is None:
        return None
    return "multipart/form-data" if isinstance(body.field_info, params.Form) else "application/json"


def _unsupported_type(request: Request, raw: list[Any]) -> Problem | None:
    """415 for a body sent as a type the route does not read (JSON as text/plain), rather than the 422 that
    FastAPI's reading of it as a bare string would give; None when the type is not the problem."""
    if not any(e.get("loc", ("",))[0] == "body" for e in raw):
        return None
    expected = _expected_type(request)
    sent = request.headers.get("content-type")
    if expected is None:
        return None
    if not sent:
        # FastAPI reads a body without a type as bytes, which the model then calls "not an object": say why.
        return _type_problem(
            expected,
            f"请求未声明请求体的类型：请设置 Content-Type: {expected}",
            f"the request does not say its body's type: send Content-Type: {expected}",
        )
    if expected == "application/json" and is_json(sent):
        return None
    if expected == "multipart/form-data" and sent.split(";")[0].strip().lower() in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        return None
    shown = sent.split(";")[0].strip()[:80]
    return _type_problem(
        expected,
        f"请求体的类型“{shown}”不被接受：须为 {expected}（请设置 Content-Type: {expected}）",
        f"a body of type {shown!r} is not accepted here: send {expected} (Content-Type: {expected})",
    )


def _type_problem(expected: str, message_zh: str, message_en: str) -> Problem:
    error = FieldError(path="$", code="unsupported_media_type", message_zh=message_zh, message_en=message_en)
    return Problem(
        status=415,
        title="不支持的请求体类型 / Unsupported Media Type",
        detail=f"expected {expected}",
        errors=[error],
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Every error becomes problem+json; no input produces a 5xx."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        literal = literal_methods(request)
        if literal and request.method not in literal and all(e.get("loc", ("",))[0] == "path" for e in raw):
            # e.g. GET /v1/units/auto-listings: a fixed path that has other methods, which a templated
            # route (/v1/units/{workflow_id}) took only because its parameter would match any text.
            response = problem_response(_standard(405, request))
            response.headers["Allow"] = ", ".join(sorted(literal))
            return response
        unsupported = _unsupported_type(request, raw)
        if unsupported is not None:
            return problem_response(unsupported)
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
        response = problem_response(
            Problem(status=exc.status, title=f"{exc.message_zh} / {exc.message_en}", detail=exc.message_en)
        )
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The caller learns only that it failed and the id to quote; what failed (the exception's class, its
        # message, the stack) is in the service's log under that id, never in the answer.
        request_id = uuid.uuid4().hex[:16]
        log.exception(
            "unhandled %s on %s %s (request id %s)", type(exc).__name__, request.method, request.url.path, request_id
        )
        response = problem_response(
            Problem(
                status=500,
                title="服务器内部错误 / Internal error",
                detail=f"处理请求时出错，请稍后重试；如需联系管理员，请提供请求编号 {request_id} / "
                f"the request failed; if you contact the operators, quote request id {request_id}",
            )
        )
        response.headers["X-Request-Id"] = request_id
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
            # A JSON body FastAPI could not even decode, e.g. bytes that are not UTF-8.
            response = problem_response(unparsable(type(exc.__cause__).__name__))
        elif exc.status_code in _STANDARD and exc.detail == HTTPStatus(exc.status_code).phrase:
            # Starlette's own answer (no route at this path, no such method): the same problem shape as any other.
            response = problem_response(_standard(exc.status_code, request))
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


def caller_with_role(*roles: str) -> Any:
    """A route's caller, refused with 403 unless its role is one of ``roles``: as a dependency it is checked
    before the body and path are validated, so a caller who may not act is told that, not what its body lacks."""

    def check(who: CurrentPrincipal) -> Principal:
        if who.role not in roles:
            allowed = "、".join(zh(ROLE_ZH, r) for r in roles)
            raise ProblemError(
                403,
                f"无权操作：仅限{allowed} / Not allowed",
                f"this needs the role {' or '.join(roles)}, not {who.role}",
            )
        return who

    return Depends(check)


BureauCaller = Annotated[Principal, caller_with_role("bureau")]
