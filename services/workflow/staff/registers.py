"""The bureau's and districts' registers: open calls (第八条), cultivation pools (第六条), evaluator bans (第十八条)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import col, select

from contracts.envelope import utcnow
from contracts.http import FieldError
from contracts.paging import Page
from contracts.staff import (
    CallCreate,
    CallPublic,
    EvaluatorBanCreate,
    EvaluatorBanPublic,
    PoolEntryCreate,
    PoolEntryPublic,
)
from greenfab.auth import Principal
from greenfab.http import ProblemError
from greenfab.paging import Key, Keyset, PageAsk
from services.workflow.domain.policy import add_years
from services.workflow.staff.context import Staff
from services.workflow.staff.lookup import districts_of
from services.workflow.staff.tasks import require_role
from services.workflow.tables import EvaluatorBan, OpenCallRow, PoolEntry

CALLS = Keyset(
    "calls", (Key(col(OpenCallRow.opens_on), date, descending=True), Key(col(OpenCallRow.id), str, descending=True))
)
POOL = Keyset(
    "pool", (Key(col(PoolEntry.added_at), datetime, descending=True), Key(col(PoolEntry.uscc), str, descending=True))
)
BANS = Keyset(
    "evaluator-bans",
    (Key(col(EvaluatorBan.since), date, descending=True), Key(col(EvaluatorBan.evaluator_uscc), str, descending=True)),
)


async def open_call(staff: Staff, who: Principal, body: CallCreate) -> CallPublic:
    """Open a call (征集通知, 003 第八条); declarations outside every call are refused."""
    require_role(who, "bureau")
    row = OpenCallRow(id=uuid.uuid4().hex[:16], opened_by=who.subject, **body.model_dump())
    async with staff.db.session() as s:
        s.add(row)
        await s.commit()
    return CallPublic.model_validate(row)


async def calls(staff: Staff, ask: PageAsk) -> Page[CallPublic]:
    """Every call, newest first (public, 003 第八条)."""
    async with staff.db.session() as s:
        rows = (await s.exec(CALLS.select(select(OpenCallRow), ask))).all()
    return CALLS.page(rows, ask, CallPublic.model_validate)


async def add_to_pool(staff: Staff, who: Principal, body: PoolEntryCreate) -> PoolEntryPublic:
    """A district adds a unit to its cultivation pool (003 第六条).

    A unit that has declared belongs to the district it declared in: another district may not take it
    into its pool (403, naming the unit's district). A unit in another district's pool is refused (409).
    """
    require_role(who, "district")
    assert who.scope is not None
    declared = await districts_of(staff.db, body.uscc)
    if declared and who.scope not in declared:
        named = "、".join(sorted(declared))
        raise ProblemError(
            403,
            f"该单位属于{named}，不能纳入本区培育名单 / The unit belongs to {named}",
            f"{body.uscc} declared in {named}, not {who.scope}",
            [
                FieldError(
                    path="$.uscc",
                    code="other_district",
                    message_zh=f"该单位属于{named}",
                    message_en=f"the unit belongs to {named}",
                )
            ],
        )
    async with staff.db.session() as s:
        existing = await s.get(PoolEntry, body.uscc)
        if existing is not None and existing.district != who.scope:
            raise ProblemError(409, "该单位已在其他区培育名单 / In another pool", f"in {existing.district}'s pool")
        row = existing or PoolEntry(district=who.scope, added_by=who.subject, **body.model_dump())
        s.add(row)
        await s.commit()
    return PoolEntryPublic.model_validate(row)


async def pool(staff: Staff, who: Principal, ask: PageAsk) -> Page[PoolEntryPublic]:
    """A district's pool (the bureau and auditors see every district's), most recently added first."""
    require_role(who, "district", "bureau", "auditor")
    query = select(PoolEntry)
    if who.role == "district":
        query = query.where(PoolEntry.district == who.scope)
    async with staff.db.session() as s:
        rows = (await s.exec(POOL.select(query, ask))).all()
    return POOL.page(rows, ask, PoolEntryPublic.model_validate)


async def ban_evaluator(staff: Staff, who: Principal, body: EvaluatorBanCreate) -> EvaluatorBanPublic:
    """003 第十八条: the evaluator's reports are refused for three years from today."""
    require_role(who, "bureau")
    today = staff.policy.local_day(utcnow())
    years = staff.policy.bans.evaluator_years.value
    row = EvaluatorBan(since=today, until=add_years(today, years), banned_by=who.subject, **body.model_dump())
    async with staff.db.session() as s:
        await s.merge(row)
        await s.commit()
    return EvaluatorBanPublic.model_validate(row)


async def bans(staff: Staff, ask: PageAsk) -> Page[EvaluatorBanPublic]:
    """Evaluators whose reports are refused (public), most recently banned first."""
    async with staff.db.session() as s:
        rows = (await s.exec(BANS.select(select(EvaluatorBan), ask))).all()
    return BANS.page(rows, ask, EvaluatorBanPublic.model_validate)
