"""Intake's HTTP API (versioned under /v1): thin routes over handlers.py."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse

from contracts.forms import FormDefinition
from contracts.http import (
    DeclarationCreate,
    DeclarationPublic,
    DeclarationSummary,
    EvidencePublic,
    EvidenceReport,
    EvidenceStatus,
    FieldError,
    NoticePublic,
)
from contracts.notices import Notice
from contracts.paging import Page
from contracts.schemes import Scheme
from greenfab.auth import Principal, can_declare, can_read_enterprise
from greenfab.bodies import BodyLimits
from greenfab.db import Database
from greenfab.http import (
    CurrentPrincipal,
    ProblemError,
    problem_responses,
    service_app,
)
from greenfab.paging import Paging
from services.intake import handlers, notices
from services.intake.evidence import TYPES as EVIDENCE_TYPES
from services.intake.evidence import EvidenceError, EvidenceStore, check_file, requirements, safe_name
from services.intake.submissions import Submissions
from services.intake.tables import Declaration
from services.intake.workbook import definition, template

PROBLEMS = problem_responses(401, 403, 404, 409, 413, 415, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIDENCE_UPLOAD = r"/v1/declarations/[^/]+/evidence/[^/]+"
# A retry (same Idempotency-Key or client id, same body) answers 200 with the first answer.
RETRY: dict[int | str, Any] = {200: {"model": DeclarationPublic, "description": "A retry: as first answered."}}
NOTICE_RETRY: dict[int | str, Any] = {200: {"model": NoticePublic, "description": "A retry: as first answered."}}


def build_app(
    db: Database,
    submissions: Submissions,
    secret: str,
    max_body_bytes: int,
    store: EvidenceStore,
    max_evidence_bytes: int,
    body_timeout_s: float,
    units_of: notices.UnitLookup,
) -> FastAPI:
    app = service_app(
        title="greenfab intake API",
        version="1.0.0",
        description="Declarations from enterprises: submit, then read back with the evaluation. 申报受理接口。",
        secret=secret,
        body_limits=BodyLimits(max_body_bytes, [(EVIDENCE_UPLOAD, max_evidence_bytes)], body_timeout_s),
    )
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    def answered(result: tuple[DeclarationPublic, bool], response: Response) -> DeclarationPublic:
        answer, created = result
        if not created:
            response.status_code = 200  # a retry: the first answer again
        response.headers["Location"] = f"/v1/declarations/{answer.id}"
        return answer

    @router.post(
        "/declarations", status_code=202, response_model=DeclarationPublic, responses=RETRY, tags=["declarations"]
    )
    async def submit(
        body: DeclarationCreate,
        response: Response,
        who: CurrentPrincipal,
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> DeclarationPublic:
        """Submit a declaration. It is stored before anything else; scoring follows asynchronously."""
        return answered(await submissions.declare(body, who, idempotency_key), response)

    @router.post("/forms/{scheme}", status_code=202, response_model=DeclarationPublic, responses=RETRY, tags=["forms"])
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

    @router.get("/forms/{scheme}", response_model=FormDefinition, tags=["forms"])
    async def form_definition(scheme: Scheme) -> FormDefinition:
        """The scheme's form: every field with its label, type, unit, options and help, and the 证明材料 column."""
        return definition(submissions.forms[scheme])

    @router.get(
        "/forms/{scheme}/template.xlsx",
        response_class=Response,
        responses={200: {"content": {XLSX: {}}}},
        tags=["forms"],
    )
    async def form_template(scheme: Scheme) -> Response:
        """The fillable workbook of a scheme's form (the same as `greenfab template SCHEME`); no sign-in needed."""
        headers = {"Content-Disposition": f'attachment; filename="{scheme.value}-form.xlsx"'}
        return Response(template(submissions.forms[scheme]), media_type=XLSX, headers=headers)

    @router.post(
        "/forms/{scheme}/xlsx",
        tags=["forms"],
        status_code=202,
        response_model=DeclarationPublic,
        responses=RETRY,
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

    @router.get("/declarations/{declaration_id}", response_model=DeclarationPublic, tags=["declarations"])
    async def read(declaration_id: str, who: CurrentPrincipal) -> DeclarationPublic:
        """A declaration with its evaluation; `status` is `pending` until scoring answers."""
        row = await handlers.get_declaration(db, declaration_id)
        if row is None or not can_read_enterprise(who, row.uscc, row.district):
            # The same answer for "absent" and "not yours", so ids cannot be probed.
            raise ProblemError(404, "未找到该申报 / Not found", f"no declaration {declaration_id} visible to you")
        return handlers.to_public(row)

    @router.get("/declarations", response_model=Page[DeclarationSummary], tags=["declarations"])
    async def list_own(who: CurrentPrincipal, paged: Paging) -> Page[DeclarationSummary]:
        """Declarations the caller may read, newest first: each row is a summary (status, total, level); the
        items and inputs are on `GET /v1/declarations/{declaration_id}`."""
        uscc = who.scope if who.role == "enterprise" else None
        district = who.scope if who.role == "district" else None
        if who.role not in ("enterprise", "district", "bureau", "auditor", "expert"):
            raise ProblemError(403, "无权查看申报 / Not allowed")
        return paged.answer(await handlers.list_declarations(db, uscc=uscc, district=district, ask=paged))

    async def readable(declaration_id: str, who: Principal) -> Declaration:
        row = await handlers.get_declaration(db, declaration_id)
        if row is None or not can_read_enterprise(who, row.uscc, row.district):
            raise ProblemError(404, "未找到该申报 / Not found", f"no declaration {declaration_id} visible to you")
        return row

    @router.post("/declarations/{declaration_id}/evidence/{item}", status_code=201, response_model=EvidencePublic,
                 openapi_extra={"requestBody": {"required": True, "content": {
                     t: {"schema": {"type": "string", "format": "binary"}} for t in EVIDENCE_TYPES}}},
                 tags=["evidence"])  # fmt: skip
    async def upload_evidence(
        declaration_id: Annotated[str, Path(max_length=64)],
        item: Annotated[str, Path(pattern=r"^[A-Z]{2}-[0-9A-Za-z()-]{1,12}$")],
        request: Request,
        who: CurrentPrincipal,
        filename: Annotated[str, Query(min_length=1, max_length=255)] = "upload",
    ) -> EvidencePublic:
        """Attach a file to one indicator (body: the file; PDF, JPEG, PNG, xlsx or docx). Stored by its sha256."""
        row = await readable(declaration_id, who)
        if not can_declare(who, row.uscc):
            raise ProblemError(
                403, "只有申报单位可以上传证明材料 / Not allowed", "only the enterprise may add evidence"
            )
        asked = submissions.forms[Scheme(row.scheme)].evidence
        if asked and item not in asked:
            raise ProblemError(
                422, "该指标不需要证明材料 / Unknown indicator", f"{item} is not an indicator of this form"
            )
        content = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if not content:
            raise ProblemError(422, "文件为空 / Empty file", "the upload has no content")
        try:
            await asyncio.to_thread(check_file, content_type, content)
        except EvidenceError as exc:
            error = FieldError(path="$", code=exc.code, message_zh=exc.message_zh, message_en=exc.message_en)
            raise ProblemError(exc.status, exc.message_zh, exc.message_en, [error]) from exc
        digest = await asyncio.to_thread(store.put, content)
        name = safe_name(filename, content_type)
        link = await handlers.link_evidence(db, declaration_id, item, digest, name, content_type, len(content))
        return EvidencePublic.model_validate(link, from_attributes=True)

    @router.get("/declarations/{declaration_id}/evidence", response_model=EvidenceReport, tags=["evidence"])
    async def evidence_report(declaration_id: str, who: CurrentPrincipal) -> EvidenceReport:
        """Each indicator's evidence: what the form asks for, what was uploaded, what is missing (error or warning)."""
        row = await readable(declaration_id, who)
        linked: dict[str, list[dict[str, Any]]] = {}
        for f in await handlers.evidence_of(db, declaration_id):
            linked.setdefault(f.item, []).append(EvidencePublic.model_validate(f, from_attributes=True).model_dump())
        asked = dict(submissions.forms[Scheme(row.scheme)].evidence)
        for extra in linked:
            asked.setdefault(extra, {"required": False, "what": ""})
        items = [
            EvidenceStatus(
                item=r.item,
                required=r.required,
                what=r.what,
                status=r.status,
                severity=None if r.status == "ok" else ("error" if r.required else "warning"),
                files=[EvidencePublic(**f) for f in r.files],
            )
            for r in requirements(asked, linked)
        ]
        return EvidenceReport(
            declaration_id=declaration_id, complete=all(i.status != "missing_required" for i in items), items=items
        )

    @router.get(
        "/declarations/{declaration_id}/evidence/{item}/{sha256}", response_class=FileResponse, tags=["evidence"]
    )
    async def download_evidence(declaration_id: str, item: str, sha256: str, who: CurrentPrincipal) -> FileResponse:
        """One evidence file, as uploaded."""
        await readable(declaration_id, who)
        match = [f for f in await handlers.evidence_of(db, declaration_id) if f.item == item and f.sha256 == sha256]
        if not match:
            raise ProblemError(404, "未找到该文件 / Not found", "no such evidence file on this declaration")
        # Served as the type it was checked as, never sniffed, never rendered as a page of ours.
        return FileResponse(
            store.path(sha256),
            media_type=match[0].content_type,
            filename=safe_name(match[0].filename, match[0].content_type),
            headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"},
        )

    @router.post("/notices", status_code=202, response_model=NoticePublic, responses=NOTICE_RETRY, tags=["notices"])
    async def submit_notice(
        notice: Annotated[Notice, Body()], response: Response, who: CurrentPrincipal
    ) -> NoticePublic:
        """A rename, major-adjustment, diagnosis or renovation notice (the enterprise), an objection during
        publicity (anyone signed in), or a district report (that district's staff), about a unit that exists:
        checked with the workflow service while you wait, then stored and passed on. A notice never creates a
        unit; one about no unit is refused naming `$.uscc`."""
        district = await notices.check(units_of, notice, who)
        try:
            answer, created = await handlers.accept_notice(db, notice, who, district)
        except handlers.Conflict as exc:
            raise ProblemError(409, "重复提交冲突 / Conflict", exc.error.message_en, [exc.error]) from exc
        if created:
            submissions.committed()
        else:
            response.status_code = 200
        response.headers["Location"] = f"/v1/notices/{answer.id}"
        return answer

    @router.get("/notices/{notice_id}", response_model=NoticePublic, tags=["notices"])
    async def read_notice(notice_id: str, who: CurrentPrincipal) -> NoticePublic:
        """A notice: for its sender, the enterprise it is about, its district, and bureau or auditors."""
        row = await handlers.get_notice(db, notice_id)
        visible = row is not None and (
            row.actor.get("subject") == who.subject or can_read_enterprise(who, row.uscc, row.district or "")
        )
        if row is None or not visible:
            raise ProblemError(404, "未找到该通知 / Not found", f"no notice {notice_id} visible to you")
        return handlers.notice_public(row)

    app.include_router(router)
    return app
