"""Routes: the published lists (003 第十九条), readable by anyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.schemes import Designation
from contracts.staff import ListedUnit, PublishedGrade
from services.workflow.api.deps import PROBLEMS, StaffDep
from services.workflow.staff import public

router = APIRouter(prefix="/v1", tags=["public lists"], responses=PROBLEMS)


@router.get("/public/listed", response_model=list[ListedUnit])
async def public_listed(
    staff: StaffDep, designation: Annotated[Designation | None, Query()] = None
) -> list[ListedUnit]:
    """Units on the municipal lists now (readable by anyone)."""
    return await public.listed(staff, designation)


@router.get("/public/grades", response_model=list[PublishedGrade])
async def public_grades(staff: StaffDep) -> list[PublishedGrade]:
    """Published factory green grades (readable by anyone)."""
    return await public.grades(staff)
