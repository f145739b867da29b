"""Routes: units (lists, one unit live, unit-level actions, auto-listing) and the units whose workflow is failing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.paging import Page
from contracts.schemes import Designation
from contracts.staff import AutoListingCreate, FailingUnit, UnitAction, UnitDetail, UnitRow
from greenfab.http import BureauCaller, CurrentPrincipal
from greenfab.paging import Paging
from services.workflow.api.deps import PROBLEMS, UNIT_PROBLEMS, StaffDep, UnitId
from services.workflow.staff import units

router = APIRouter(prefix="/v1", tags=["units"], responses=PROBLEMS)


@router.get("/units", response_model=Page[UnitRow])
async def list_units(
    who: CurrentPrincipal,
    staff: StaffDep,
    paging: Paging,
    state: Annotated[str | None, Query(max_length=40)] = None,
    designation: Annotated[Designation | None, Query()] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    level: Annotated[int | None, Query(ge=1, le=5)] = None,
) -> Page[UnitRow]:
    """Units the caller may see, most recently changed first; filtered by state, designation, district, level."""
    where = units.UnitFilter(state=state, designation=designation, district=district, level=level)
    return paging.answer(await units.list_units(staff, who, where, paging))


# Declared before /units/{workflow_id}, which would otherwise take "failing" for an id.
@router.get("/units/failing", response_model=list[FailingUnit])
async def failing_units(
    who: CurrentPrincipal, staff: StaffDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[FailingUnit]:
    """Units whose workflow is failing (Temporal reports their workflow task failing again and again), with
    the failure: they cannot move on until the cause is repaired. Bureau and auditors."""
    return await units.failing_units(staff, who, limit)


@router.get("/units/{workflow_id}", response_model=UnitDetail, responses=UNIT_PROBLEMS)
async def read_unit(workflow_id: UnitId, who: CurrentPrincipal, staff: StaffDep) -> UnitDetail:
    """A unit's current state, running deadlines and whole timeline, read live from its workflow."""
    return await units.read(staff, who, workflow_id)


@router.post("/units/{workflow_id}/actions", response_model=UnitDetail, responses=UNIT_PROBLEMS)
async def unit_action(workflow_id: UnitId, body: UnitAction, who: CurrentPrincipal, staff: StaffDep) -> UnitDetail:
    """recommend_national, start_review, revoke (bureau) or withdraw (the enterprise itself)."""
    return await units.act(staff, who, workflow_id, body)


@router.post("/units/auto-listings", status_code=201, response_model=UnitDetail, responses=UNIT_PROBLEMS)
async def auto_list(who: BureauCaller, body: AutoListingCreate, staff: StaffDep) -> UnitDetail:
    """003 第十条: a unit on the national green-factory list with its plant in Beijing joins the municipal list.
    A unit that already has a municipal green-factory workflow is refused (409)."""
    return await units.auto_list(staff, who, body)
