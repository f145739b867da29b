"""An enterprise's units as the projection holds them: for intake's notice checks and the pool's scope."""

from __future__ import annotations

from sqlmodel import select

from contracts.messages import UnitBrief, UnitLookupReply, UnitLookupRequest
from contracts.schemes import Designation
from greenfab.db import Database
from services.workflow.tables import UnitProjection


async def units_of(db: Database, uscc: str) -> list[UnitBrief]:
    """Every unit (one per designation) of the enterprise ``uscc``."""
    async with db.session() as s:
        rows = (await s.exec(select(UnitProjection).where(UnitProjection.uscc == uscc))).all()
    return [
        UnitBrief(workflow_id=r.workflow_id, designation=Designation(r.designation), district=r.district, state=r.state)
        for r in rows
    ]


async def districts_of(db: Database, uscc: str) -> set[str]:
    """The districts the enterprise's units are in (empty if it has never declared)."""
    return {u.district for u in await units_of(db, uscc)}


async def answer(db: Database, request: UnitLookupRequest) -> UnitLookupReply:
    return UnitLookupReply(uscc=request.uscc, units=await units_of(db, request.uscc))
