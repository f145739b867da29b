"""Notify records events by group commit (services/notify/handlers.py ``record_events``): events waiting
together share one transaction, each is answered after its commit, and an event seen twice (in one group, or
redelivered later) is recorded once; on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from greenfab.db import Database, create_tables, make_engine
from greenfab.group_commit import GroupCommit
from services.notify import handlers
from services.notify.domain import Draft
from services.notify.tables import DeliveryRow, InboxItem, NotifyBase, RecipientRow


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"))
    await create_tables(database.engine, NotifyBase.metadata)
    return database


def commits_of(db: Database) -> list[int]:
    commits = [0]

    @event.listens_for(db.engine.sync_engine, "commit")
    def _on_commit(_conn: object) -> None:
        commits[0] += 1

    return commits


def an_event(n: int) -> handlers.Event:
    drafts = [Draft(f"区{n}", "district", "task.opened", f"待办 {n}", "请处理")]
    return handlers.Event(f"e-{n}", drafts, {"id": f"e-{n}", "type": "task"})


async def counts(db: Database) -> tuple[int, int]:
    async with db.session() as s:
        deliveries = (await s.exec(select(func.count()).select_from(DeliveryRow))).one()
        inbox = (await s.exec(select(func.count()).select_from(InboxItem))).one()
    return deliveries, inbox


async def test_events_waiting_together_share_a_commit_and_each_gets_its_own_count(db: Database) -> None:
    commits = commits_of(db)
    write = GroupCommit(db, handlers.record_events)
    assert await asyncio.gather(*(write(an_event(n)) for n in range(40))) == [1] * 40
    assert await counts(db) == (40, 40)
    assert commits[0] <= 3  # the first alone, the rest grouped (not 40, nor 80)
    await db.close()


async def test_an_event_twice_in_one_group_and_redelivered_later_is_recorded_once(db: Database) -> None:
    async with db.session() as s:
        s.add(RecipientRow(recipient_role="district", recipient="区1", channels="inbox,email", email="a@b.cn"))
        await s.commit()
    write = GroupCommit(db, handlers.record_events)
    # The same event (a redelivery racing its first delivery) in one group: the second adds nothing.
    assert list(await asyncio.gather(write(an_event(1)), write(an_event(1)), write(an_event(2)))) == [2, 0, 1]
    assert await counts(db) == (3, 2)
    # Redelivered after its commit: nothing new either.
    assert await write(an_event(1)) == 0
    assert await handlers.record(db, "e-2", an_event(2).drafts, {"id": "e-2"}) == 0
    assert await counts(db) == (3, 2)
    await db.close()


async def test_a_group_that_fails_is_retried_event_by_event_and_the_bad_one_fails_alone(db: Database) -> None:
    bad = handlers.Event("e-bad", [Draft("x" * 100, "district", "task.opened", "t", "b")], {"id": "e-bad"})

    async def strict(s: object, events: list[handlers.Event]) -> list[int]:
        if any(e.source_event == "e-bad" for e in events):
            raise ValueError("refused")
        return await handlers.record_events(s, events)  # type: ignore[arg-type]

    write = GroupCommit(db, strict)
    results = await asyncio.gather(write(an_event(1)), write(bad), write(an_event(2)), return_exceptions=True)
    assert results[0] == 1 and results[2] == 1 and isinstance(results[1], ValueError)
    assert await counts(db) == (2, 2)
    await db.close()
