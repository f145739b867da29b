"""HTTP conventions shared by every service: RFC 9457 problems, the principal dependency, health."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.http import FieldError, Problem
from greenfab.auth import AuthError, Principal, read_token

PROBLEM_JSON = "application/problem+json"
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
                message_zh=_CODE_ZH.get(code, "字段取值无效"),
                message_en=str(err.get("msg", "invalid value")),
            )
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Every error becomes problem+json; no input produces a 5xx."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
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

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return problem_response(Problem(status=exc.status, title=exc.message_zh, detail=exc.message_en))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(status=500, title="服务器内部错误 / Internal error", detail=type(exc).__name__))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(Problem(status=exc.status_code, title=str(exc.detail)))


def service_app(title: str, version: str, description: str, secret: str) -> FastAPI:
    """A service's API: every error a problem document, bearer tokens checked against ``secret``.

    Its /docs (Swagger UI) and /redoc load their scripts from the fastapi-offline package, never a CDN.
    """
    app = FastAPIOffline(title=title, version=version, description=description)
    install_problem_handlers(app)
    app.state.auth_secret = secret
    return app


# Declares the bearer scheme in OpenAPI, so /docs has an Authorize button; the token is checked below.
_bearer = HTTPBearer(auto_error=False, description="`greenfab token --role R --scope S` prints one.")


def current_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None
) -> Principal:
    """The caller's Principal from its bearer token (secret in ``app.state.auth_secret``), or a 401 problem."""
    return read_token(request.app.state.auth_secret, request.headers.get("authorization"))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
