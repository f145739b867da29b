"""The published lists (003 第十九条): units holding a municipal title, and factory green grades.

Both are public and can run to thousands of rows: they page (greenfab.paging) and filter in the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from contracts.paging import Page
from contracts.schemes import Designation
from contracts.staff import GradeCount, ListedCount, ListedUnit, PublicCounts, PublishedGrade
from greenfab.paging import Key, Keyset, PageAsk
from services.workflow.domain.lifecycle import HOLDS_TITLE
from services.workflow.staff.context import Staff
from services.workflow.tables import UnitProjection

LISTED = Keyset(
    "public.listed",
    (
        Key(col(UnitProjection.listed_on), date, descending=True, nullable=True),
        Key(col(UnitProjection.workflow_id), str, descending=True),
    ),
)
GRADES = Keyset("public.grades", (Key(col(UnitProjection.uscc), str), Key(col(UnitProjection.workflow_id), str)))


@dataclass(frozen=True)
class PublicFilter:
    """What a public list is narrowed to (None: any)."""

    district: str | None = None
    year: int | None = None
    designation: Designation | None = None


def _year(column: object, year: int | None) -> list[object]:
    if year is None:
        return []
    return [col(column) >= date(year, 1, 1), col(column) <= date(year, 12, 31)]


def _listed_query(where: PublicFilter) -> Any:
    query = select(UnitProjection).where(col(UnitProjection.state).in_(tuple(HOLDS_TITLE)))
    if where.designation is not None:
        query = query.where(UnitProjection.designation == where.designation.value)
    if where.district:
        query = query.where(UnitProjection.district == where.district)
    return query.where(*_year(UnitProjection.listed_on, where.year))  # type: ignore[arg-type]


def _graded_query(where: PublicFilter) -> Any:
    query = select(UnitProjection).where(
        UnitProjection.designation == Designation.ANNUAL_GRADING.value, col(UnitProjection.graded_on).is_not(None)
    )
    if where.district:
        query = query.where(UnitProjection.district == where.district)
    return query.where(*_year(UnitProjection.graded_on, where.year))  # type: ignore[arg-type]


async def listed(staff: Staff, where: PublicFilter, ask: PageAsk) -> Page[ListedUnit]:
    """Units on the municipal lists now (readable by anyone), most recently listed first."""
    query = _listed_query(where)
    filters = (where.designation, where.district, where.year)
    async with staff.db.session() as s:
        rows = (await s.exec(LISTED.select(query, ask, filters))).all()
    return LISTED.page(rows, ask, ListedUnit.model_validate, filters)


async def grades(staff: Staff, where: PublicFilter, ask: PageAsk) -> Page[PublishedGrade]:
    """Published factory green grades (readable by anyone), by USCC."""
    query = _graded_query(where)
    filters = (where.district, where.year)
    async with staff.db.session() as s:
        rows = (await s.exec(GRADES.select(query, ask, filters))).all()
    return GRADES.page(rows, ask, PublishedGrade.model_validate, filters)


async def counts(staff: Staff, where: PublicFilter) -> PublicCounts:
    """The published lists counted by district (grades also by level, listings by designation), under the
    same filters as the lists: one grouped query each instead of reading every page."""
    graded = _graded_query(where).subquery()
    on_lists = _listed_query(where).subquery()
    by_level = (
        select(graded.c.district, graded.c.level, func.count())
        .group_by(graded.c.district, graded.c.level)
        .order_by(graded.c.district, graded.c.level)
    )
    by_designation = (
        select(on_lists.c.district, on_lists.c.designation, func.count())
        .group_by(on_lists.c.district, on_lists.c.designation)
        .order_by(on_lists.c.district, on_lists.c.designation)
    )
    async with staff.db.session() as s:
        levels = [GradeCount(district=d, level=lv, count=n) for d, lv, n in (await s.exec(by_level)).all()]
        lists = [ListedCount(district=d, designation=x, count=n) for d, x, n in (await s.exec(by_designation)).all()]
    return PublicCounts(
        grades=levels,
        listed=lists,
        grades_total=sum(c.count for c in levels),
        listed_total=sum(c.count for c in lists),
    )
