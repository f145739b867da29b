"""Routes: a declaration's evidence files (证明材料): upload one per indicator, see what is missing, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse

from contracts.http import EvidencePublic, EvidenceReport
from greenfab.http import CurrentPrincipal
from services.intake import desk as cases
from services.intake.api.deps import PROBLEMS, DeskDep
from services.intake.evidence import TYPES, safe_name

router = APIRouter(prefix="/v1", tags=["evidence"], responses=PROBLEMS)
BINARY = {
    "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in TYPES}}
}
ItemCode = Annotated[str, Path(pattern=r"^[A-Z]{2}-[0-9A-Za-z()-]{1,12}$")]


@router.post(
    "/declarations/{declaration_id}/evidence/{item}",
    status_code=201,
    response_model=EvidencePublic,
    openapi_extra=BINARY,
)
async def upload_evidence(
    declaration_id: Annotated[str, Path(max_length=64)],
    item: ItemCode,
    request: Request,
    who: CurrentPrincipal,
    desk: DeskDep,
    filename: Annotated[str, Query(min_length=1, max_length=255)] = "upload",
) -> EvidencePublic:
    """Attach a file to one indicator (body: the file; PDF, JPEG, PNG, xlsx or docx). Stored by its sha256.

    The indicator is one the evidence report lists in `indicators`: the form's evidence list where it has
    one, else an item of the scheme's rulebook edition in force on the declaration's date. Any other is 422
    at `$.item` (`unknown_indicator`), before the file is read.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    return await cases.attach_evidence(desk, declaration_id, item, who, request.body, content_type, filename)


@router.get("/declarations/{declaration_id}/evidence", response_model=EvidenceReport)
async def evidence_report(declaration_id: str, who: CurrentPrincipal, desk: DeskDep) -> EvidenceReport:
    """Each indicator's evidence: what the form asks for, what was uploaded, what is missing (error or warning)."""
    return await cases.evidence_report(desk, declaration_id, who)


@router.get("/declarations/{declaration_id}/evidence/{item}/{sha256}", response_class=FileResponse)
async def download_evidence(
    declaration_id: str, item: str, sha256: str, who: CurrentPrincipal, desk: DeskDep
) -> FileResponse:
    """One evidence file, as uploaded."""
    found = await cases.evidence_file(desk, declaration_id, item, sha256, who)
    # Served as the type it was checked as, never sniffed, never rendered as a page of ours.
    return FileResponse(
        desk.store.path(sha256),
        media_type=found.content_type,
        filename=safe_name(found.filename, found.content_type),
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"},
    )
