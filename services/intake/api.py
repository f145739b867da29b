"""Intake's HTTP API (versioned under /v1): thin routes over handlers.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response

from contracts.http import DeclarationCreate, DeclarationPublic, Problem
from contracts.schemes import Scheme
from greenfab.auth import can_read_enterprise
from greenfab.db import Database
from greenfab.http import (
    CurrentPrincipal,
    ProblemError,
    install_problem_handlers,
    problem_response,
)
from services.intake import handlers
from services.intake.submissions import Submissions

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 409, 413, 415, 422)
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def build_app(db: Database, submissions: Submissions, secret: str, max_body_bytes: int) -> FastAPI:
    app = FastAPI(
        title="greenfab intake API",
        version="1.0.0",
        description="Declarations from enterprises: submit, then read back with the evaluation. 申报受理接口。",
    )
    install_problem_handlers(app)
    app.state.auth_secret = secret
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return problem_response(
                Problem(
                    status=413, title="请求体过大 / Request body too large", detail=f"limit is {max_body_bytes} bytes"
                )
            )
        return await call_next(request)

    def answered(result: tuple[DeclarationPublic, bool], response: Response) -> DeclarationPublic:
        answer, created = result
        if not created:
            response.status_code = 200  # a retry: the first answer again
        response.headers["Location"] = f"/v1/declarations/{answer.id}"
        return answer

    @router.post("/declarations", status_code=202, response_model=DeclarationPublic)
    async def submit(
        body: DeclarationCreate,
        response: Response,
        who: CurrentPrincipal,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> DeclarationPublic:
        """Submit a declaration. It is stored before anything else; scoring follows asynchronously."""
        return answered(await submissions.declare(body, who, idempotency_key), response)

    @router.post("/forms/{scheme}", status_code=202, response_model=DeclarationPublic)
    async def submit_form(
        scheme: Scheme,
        form: dict[str, Any],
        response: Response,
        who: CurrentPrincipal,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> DeclarationPublic:
        """Submit a declaration exactly as typed into the form (Chinese labels, full-width digits, ticks, 万元…).

        It is normalised (rules in services/intake/normalise.py), every problem is reported at once,
        and the raw values are kept beside the normalised ones.
        """
        return answered(await submissions.declare_form(scheme, form, who, idempotency_key), response)

    @router.post(
        "/forms/{scheme}/xlsx",
        status_code=202,
        response_model=DeclarationPublic,
        openapi_extra={
            "requestBody": {"required": True, "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
        },
    )
    async def submit_workbook(
        scheme: Scheme,
        request: Request,
        response: Response,
        who: CurrentPrincipal,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> DeclarationPublic:
        """Upload the filled workbook from `greenfab template SCHEME` (body: the .xlsx file itself)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip()
        if kind not in (XLSX, "application/octet-stream"):
            raise ProblemError(
                415, "请上传 xlsx 工作簿 / Upload an .xlsx workbook", f"content type {kind!r} is not {XLSX}"
            )
        content = await request.body()
        return answered(await submissions.declare_workbook(scheme, content, who, idempotency_key), response)

    @router.get("/declarations/{declaration_id}", response_model=DeclarationPublic)
    async def read(declaration_id: str, who: CurrentPrincipal) -> DeclarationPublic:
        """A declaration with its evaluation; `status` is `pending` until scoring answers."""
        row = await handlers.get_declaration(db, declaration_id)
        if row is None or not can_read_enterprise(who, row.uscc, row.district):
            # The same answer for "absent" and "not yours", so ids cannot be probed.
            raise ProblemError(404, "未找到该申报 / Not found", f"no declaration {declaration_id} visible to you")
        return handlers.to_public(row)

    @router.get("/declarations", response_model=list[DeclarationPublic])
    async def list_own(
        who: CurrentPrincipal,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[DeclarationPublic]:
        """Declarations the caller may read, newest first."""
        uscc = who.scope if who.role == "enterprise" else None
        district = who.scope if who.role == "district" else None
        if who.role not in ("enterprise", "district", "bureau", "auditor", "expert"):
            raise ProblemError(403, "无权查看申报 / Not allowed")
        rows = await handlers.list_declarations(db, uscc=uscc, district=district, limit=limit)
        return [handlers.to_public(r) for r in rows]

    app.include_router(router)
    return app
