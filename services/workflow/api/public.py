"""Routes: the published lists (003 第十九条), readable by anyone; paged, filtered by district and year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.paging import Page
from contracts.schemes import Designation
from contracts.staff import ListedUnit, PublicCounts, PublishedGrade
from greenfab.paging import Paging
from services.workflow.api.deps import PROBLEMS, StaffDep
from services.workflow.staff import public

router = APIRouter(prefix="/v1", tags=["public lists"], responses=PROBLEMS)

District = Annotated[str | None, Query(max_length=20, description="Only this district, e.g. 海淀区.")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Only this year (of listing or grading).")]


@router.get("/public/listed", response_model=Page[ListedUnit])
async def public_listed(
    staff: StaffDep,
    paging: Paging,
    designation: Annotated[Designation | None, Query()] = None,
    district: District = None,
    year: Year = None,
) -> Page[ListedUnit]:
    """Units on the municipal lists now (readable by anyone), most recently listed first."""
    where = public.PublicFilter(district=district, year=year, designation=designation)
    return paging.answer(await public.listed(staff, where, paging))


@router.get("/public/grades", response_model=Page[PublishedGrade])
async def public_grades(
    staff: StaffDep, paging: Paging, district: District = None, year: Year = None
) -> Page[PublishedGrade]:
    """Published factory green grades (readable by anyone), by USCC."""
    return paging.answer(await public.grades(staff, public.PublicFilter(district=district, year=year), paging))


@router.get("/public/counts", response_model=PublicCounts)
async def public_counts(
    staff: StaffDep,
    designation: Annotated[Designation | None, Query(description="Only this list (the listings' count).")] = None,
    district: District = None,
    year: Year = None,
) -> PublicCounts:
    """The published lists counted (readable by anyone): grades by district and level, listed units by district
    and designation, under the lists' own filters."""
    return await public.counts(staff, public.PublicFilter(district=district, year=year, designation=designation))
