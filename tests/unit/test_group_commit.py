"""Group commit (greenfab/group_commit.py) and audit's chain appends: many writers, few transactions, each
caller answered after its own commit, one bad write failing alone; on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlmodel.ext.asyncio.session import AsyncSession

from greenfab.db import Database, make_engine
from greenfab.group_commit import GroupCommit
from greenfab.migrations import migrate
from services.audit.handlers import Chain, verdict
from services.audit.migrations import MIGRATIONS


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"))
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    return database


def count_commits(db: Database) -> list[int]:
    commits = [0]

    @event.listens_for(db.engine.sync_engine, "commit")
    def _on_commit(_conn: object) -> None:
        commits[0] += 1

    return commits


async def insert(s: AsyncSession, items: list[int]) -> list[int]:
    for k in items:
        if k < 0:
            raise ValueError(f"bad item {k}")
        await s.exec(text("INSERT INTO t (k, v) VALUES (:k, :v)").bindparams(k=k, v=f"v{k}"))  # type: ignore[call-overload]
    return [k * 10 for k in items]


async def stored(db: Database) -> list[int]:
    async with db.session() as s:
        return [row[0] for row in (await s.exec(text("SELECT k FROM t ORDER BY k"))).all()]  # type: ignore[call-overload]


async def test_writes_waiting_together_share_one_commit_and_each_gets_its_own_result(db: Database) -> None:
    commits = count_commits(db)
    write = GroupCommit(db, insert)
    results = await asyncio.gather(*(write(k) for k in range(1, 51)))
    assert results == [k * 10 for k in range(1, 51)]
    assert await stored(db) == list(range(1, 51))
    assert commits[0] <= 3  # the first alone, the rest grouped (not 50)
    await db.close()


async def test_a_bad_write_fails_alone_and_the_others_are_committed(db: Database) -> None:
    write = GroupCommit(db, insert)
    outcomes = await asyncio.gather(*(write(k) for k in (1, 2, -3, 4, 5)), return_exceptions=True)
    assert [o for o in outcomes if isinstance(o, Exception)] == [outcomes[2]]
    assert isinstance(outcomes[2], ValueError)
    assert await stored(db) == [1, 2, 4, 5]
    await db.close()


async def test_a_group_larger_than_its_bound_is_split(db: Database) -> None:
    commits = count_commits(db)
    write = GroupCommit(db, insert, max_group=10)
    await asyncio.gather(*(write(k) for k in range(1, 101)))
    assert await stored(db) == list(range(1, 101))
    assert commits[0] >= 10
    await db.close()


async def test_a_writer_cancelled_at_shutdown_cancels_its_callers_instead_of_leaving_them_waiting(
    db: Database,
) -> None:
    started, never = asyncio.Event(), asyncio.Event()

    async def stuck(s: AsyncSession, items: list[int]) -> list[int]:
        started.set()
        await never.wait()
        return items

    write: GroupCommit[int, int] = GroupCommit(db, stuck)
    first = asyncio.create_task(write(1))
    await started.wait()
    later = [asyncio.create_task(write(k)) for k in (2, 3)]  # waiting for the next group
    await asyncio.sleep(0)
    writer = write._writer
    assert writer is not None
    writer.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(first, *later, return_exceptions=True), timeout=5)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    # The same group commit carries on: the next write starts a new writer.
    never.set()
    assert await asyncio.wait_for(write(4), timeout=5) == 4
    await db.close()


def message(n: int, kind: str = "unit.changed") -> dict[str, object]:
    return {
        "id": f"{kind}-{n}",
        "type": kind,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "actor": {"role": "bureau", "subject": "bureau-li", "scope": None},
        "uscc": "91110115MA04C2UX1E",
        "district": "大兴区",
        "reason": f"step {n}",
    }


async def test_the_chain_appends_concurrent_messages_in_few_commits_and_stays_whole(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"))
    await migrate(db.engine, MIGRATIONS, allowed=True, schema=None)
    commits = count_commits(db)
    chain = Chain(db)
    seqs = await asyncio.gather(*(chain.append(message(n, k)) for n in range(40) for k in ("a.x", "b.y", "c.z")))
    assert sorted(s for s in seqs if s is not None) == list(range(1, 121))
    assert commits[0] < 20
    # Redelivered, and the same message twice in one group: on record once, answered None.
    again = await asyncio.gather(chain.append(message(3, "a.x")), chain.append(message(99)), chain.append(message(99)))
    assert again[0] is None and again[1] == 121 and again[2] is None
    v = await verdict(db)
    assert v.records == 121 and v.intact
    await db.close()
