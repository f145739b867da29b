"""Policy editions by content address (issue 14.2/14.5), and one SQLite writer at a time per process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from greenfab.db import Database, create_tables, make_engine
from greenfab.paths import RULES
from services.workflow.model import LifecycleInput
from services.workflow.policy_editions import Editions, UnknownEdition, store_and_load
from services.workflow.policy_loader import load_policy
from services.workflow.tables import PolicyEdition, WorkflowBase

POLICY = load_policy(RULES)


def test_a_ref_names_the_content_not_the_object() -> None:
    assert load_policy(RULES).ref == POLICY.ref and POLICY.ref.startswith("sha256:")
    changed = POLICY.model_copy(update={"reminder_offsets_days": [30, 7, 1]})
    assert changed.ref != POLICY.ref


def test_an_input_names_its_policy_exactly_once() -> None:
    base = {"uscc": "91110115MA04C2UX1E", "district": "大兴区", "designation": "annual-grading", "enterprise_name": "x"}
    assert LifecycleInput(**base, policy_ref=POLICY.ref).policy is None
    assert LifecycleInput(**base, policy=POLICY).policy_ref is None  # as inputs were before refs
    with pytest.raises(ValueError, match="exactly one"):
        LifecycleInput(**base)
    with pytest.raises(ValueError, match="exactly one"):
        LifecycleInput(**base, policy=POLICY, policy_ref=POLICY.ref)


def test_an_unknown_ref_is_refused_never_replaced() -> None:
    editions = Editions()
    editions.add(POLICY)
    assert editions.get(POLICY.ref) is POLICY
    with pytest.raises(UnknownEdition, match="not loaded"):
        editions.get("sha256:" + "0" * 64)


async def test_editions_are_stored_once_and_every_stored_one_is_loaded(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'workflow.db'}"))
    try:
        await create_tables(db.engine, WorkflowBase.metadata)
        older = POLICY.model_copy(update={"reminder_offsets_days": [14, 1]})
        await store_and_load(db, older, Editions())  # an earlier service start, with last year's rules
        worker = Editions()
        assert await store_and_load(db, POLICY, worker) == POLICY.ref
        assert await store_and_load(db, POLICY, worker) == POLICY.ref  # again: nothing new stored
        assert worker.get(older.ref) == older and worker.get(POLICY.ref) == POLICY
        async with db.session() as s:
            tampered = POLICY.model_dump(mode="json")
            await s.exec(update(PolicyEdition).where(col(PolicyEdition.ref) == older.ref).values(policy=tampered))
            await s.commit()
        with pytest.raises(ValueError, match="does not match its content"):
            await store_and_load(db, POLICY, Editions())
    finally:
        await db.close()


async def test_sqlite_writers_of_one_process_take_turns(tmp_path: Path) -> None:
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"))
    inside = 0
    most = 0

    async def write(n: int) -> None:
        nonlocal inside, most
        async with db.writing() as s:
            inside += 1
            most = max(most, inside)
            s.add(PolicyEdition(ref=f"sha256:{n}", policy={}))
            await asyncio.sleep(0.01)
            await s.commit()
            inside -= 1

    try:
        await create_tables(db.engine, WorkflowBase.metadata)
        await asyncio.gather(*(write(n) for n in range(8)))
        assert most == 1
        async with db.session() as s:
            assert len((await s.exec(select(PolicyEdition))).all()) == 8
    finally:
        await db.close()
