"""Routes: the bureau's and districts' registers (calls, cultivation pools, evaluator bans)."""

from __future__ import annotations

from fastapi import APIRouter

from contracts.paging import Page
from contracts.staff import (
    CallCreate,
    CallPublic,
    EvaluatorBanCreate,
    EvaluatorBanPublic,
    PoolEntryCreate,
    PoolEntryPublic,
)
from greenfab.http import BureauCaller, CurrentPrincipal
from greenfab.paging import Paging
from services.workflow.api.deps import PROBLEMS, StaffDep
from services.workflow.staff import registers

router = APIRouter(prefix="/v1", tags=["registers"], responses=PROBLEMS)


@router.post("/calls", status_code=201, response_model=CallPublic)
async def open_call(who: BureauCaller, body: CallCreate, staff: StaffDep) -> CallPublic:
    """Open a call (征集通知, 003 第八条); declarations outside every call are refused."""
    return await registers.open_call(staff, who, body)


@router.get("/calls", response_model=Page[CallPublic])
async def list_calls(staff: StaffDep, paging: Paging) -> Page[CallPublic]:
    """Every call, newest first (public, 003 第八条)."""
    return paging.answer(await registers.calls(staff, paging))


@router.post("/pool", status_code=201, response_model=PoolEntryPublic)
async def add_to_pool(body: PoolEntryCreate, who: CurrentPrincipal, staff: StaffDep) -> PoolEntryPublic:
    """A district adds a unit to its cultivation pool (003 第六条); another district's unit is refused (403)."""
    return await registers.add_to_pool(staff, who, body)


@router.get("/pool", response_model=Page[PoolEntryPublic])
async def list_pool(who: CurrentPrincipal, staff: StaffDep, paging: Paging) -> Page[PoolEntryPublic]:
    """A district's pool (the bureau and auditors see every district's), most recently added first."""
    return paging.answer(await registers.pool(staff, who, paging))


@router.post("/evaluator-bans", status_code=201, response_model=EvaluatorBanPublic)
async def ban_evaluator(who: BureauCaller, body: EvaluatorBanCreate, staff: StaffDep) -> EvaluatorBanPublic:
    """003 第十八条: the evaluator's reports are refused for three years from today."""
    return await registers.ban_evaluator(staff, who, body)


@router.get("/evaluator-bans", response_model=Page[EvaluatorBanPublic])
async def list_bans(staff: StaffDep, paging: Paging) -> Page[EvaluatorBanPublic]:
    """Evaluators whose reports are refused (public), most recently banned first."""
    return paging.answer(await registers.bans(staff, paging))
