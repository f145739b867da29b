"""Audit's HTTP API (/v1): a unit's timeline (JSON, JSON Lines, CSV), the whole chain's export and verdict."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.responses import StreamingResponse

from contracts.audit import AuditRecord, AuditVerdict
from contracts.paging import Page
from greenfab.auth import Principal, can_read_enterprise
from greenfab.db import Database
from greenfab.http import CurrentPrincipal, ProblemError, problem_responses, service_app
from greenfab.paging import Paging
from services.audit import export, handlers

PROBLEMS = problem_responses(401, 403, 404, 422)
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"


def _auditor(who: Principal) -> None:
    if who.role not in ("auditor", "bureau"):
        raise ProblemError(403, "仅审计或市局人员可查看 / Auditors and bureau staff only", f"role {who.role}")


def build_app(db: Database, secret: str) -> FastAPI:
    app = service_app(
        title="greenfab audit API",
        version="1.0.0",
        description="Every step of every unit, hash-chained. 审计记录：每一步操作，哈希链防篡改。",
        secret=secret,
    )
    router = APIRouter(prefix="/v1", tags=["audit"], responses=PROBLEMS)

    @router.get(
        "/units/{uscc}/history",
        response_model=Page[AuditRecord],
        responses={200: {"content": {m: {} for m in export.MEDIA_TYPES.values()}}},
    )
    async def unit_history(
        who: CurrentPrincipal,
        uscc: Annotated[str, Path(pattern=USCC_PATTERN, description="The unit's USCC.")],
        paging: Paging,
        format: Annotated[
            Literal["json", "jsonl", "csv"],
            Query(description="json (one page), or jsonl or csv (the whole timeline, streamed)."),
        ] = "json",
    ) -> object:
        """A unit's whole timeline: declarations, evaluations, every step, task decision and deadline."""
        found, district = await handlers.unit_on_record(db, uscc)
        if not found or not can_read_enterprise(who, uscc, district):
            # One answer for "no such unit" and "not yours", so a caller cannot learn which USCCs are on record.
            raise ProblemError(404, "没有可查看的该单位记录 / No records for this unit visible to you", uscc)
        if format == "json":
            return paging.answer(await handlers.timeline_page(db, uscc, paging))
        return StreamingResponse(
            export.streamed(handlers.stream(db, handlers.TIMELINE, uscc), format),
            media_type=export.MEDIA_TYPES[format],
            headers={"content-disposition": f'attachment; filename="{uscc}-history.{format}"'},
        )

    @router.get("/audit/export", responses={200: {"content": {m: {} for m in export.MEDIA_TYPES.values()}}})
    async def export_all(
        who: CurrentPrincipal, format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl"
    ) -> StreamingResponse:
        """The whole chain in seq order, for an auditor to keep or check elsewhere; streamed batch by batch."""
        _auditor(who)
        records = export.streamed(handlers.stream(db, handlers.CHAIN), format)
        return StreamingResponse(records, media_type=export.MEDIA_TYPES[format])

    @router.get("/audit/verify", response_model=AuditVerdict)
    async def verify_chain(who: CurrentPrincipal) -> AuditVerdict:
        """Walk the whole chain; name every record edited, deleted, inserted or moved."""
        _auditor(who)
        return await handlers.verdict(db)

    app.include_router(router)
    return app
