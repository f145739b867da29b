"""Routes: submit a typed declaration, read one back with its evaluation, list the caller's."""

from __future__ import annotations

from fastapi import APIRouter, Response

from contracts.http import DeclarationCreate, DeclarationPublic, DeclarationSummary
from contracts.paging import Page
from greenfab.http import CurrentPrincipal
from greenfab.paging import Paging
from services.intake import desk as cases
from services.intake.api.deps import PROBLEMS, RETRY, DeskDep, IdempotencyKey, answered

router = APIRouter(prefix="/v1", tags=["declarations"], responses=PROBLEMS)


@router.post("/declarations", status_code=202, response_model=DeclarationPublic, responses=RETRY)
async def submit(
    body: DeclarationCreate,
    response: Response,
    who: CurrentPrincipal,
    desk: DeskDep,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationPublic:
    """Submit a declaration. It is stored before anything else; scoring follows asynchronously."""
    return answered(await desk.submissions.declare(body, who, idempotency_key), response)


@router.get("/declarations/{declaration_id}", response_model=DeclarationPublic)
async def read(declaration_id: str, who: CurrentPrincipal, desk: DeskDep) -> DeclarationPublic:
    """A declaration with its evaluation; `status` is `pending` until scoring answers."""
    return await cases.declaration(desk, declaration_id, who)


@router.get("/declarations", response_model=Page[DeclarationSummary])
async def list_own(who: CurrentPrincipal, desk: DeskDep, paged: Paging) -> Page[DeclarationSummary]:
    """Declarations the caller may read, newest first: each row is a summary (status, total, level); the
    items and inputs are on `GET /v1/declarations/{declaration_id}`."""
    return paged.answer(await cases.declarations(desk, who, paged))
