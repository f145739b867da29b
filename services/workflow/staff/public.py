"""The published lists (003 第十九条): units holding a municipal title, and factory green grades."""

from __future__ import annotations

from sqlmodel import col, select

from contracts.schemes import Designation
from contracts.staff import ListedUnit, PublishedGrade
from services.workflow.domain.lifecycle import HOLDS_TITLE
from services.workflow.staff.context import Staff
from services.workflow.tables import UnitProjection


async def listed(staff: Staff, designation: Designation | None) -> list[ListedUnit]:
    """Units on the municipal lists now (readable by anyone)."""
    query = select(UnitProjection).where(col(UnitProjection.state).in_(tuple(HOLDS_TITLE)))
    if designation is not None:
        query = query.where(UnitProjection.designation == designation.value)
    async with staff.db.session() as s:
        rows = (await s.exec(query.order_by(col(UnitProjection.listed_on).desc()))).all()
    return [ListedUnit.model_validate(r) for r in rows]


async def grades(staff: Staff) -> list[PublishedGrade]:
    """Published factory green grades (readable by anyone)."""
    query = select(UnitProjection).where(
        UnitProjection.designation == Designation.ANNUAL_GRADING.value, col(UnitProjection.graded_on).is_not(None)
    )
    async with staff.db.session() as s:
        rows = (await s.exec(query.order_by(col(UnitProjection.uscc)))).all()
    return [PublishedGrade.model_validate(r) for r in rows]
