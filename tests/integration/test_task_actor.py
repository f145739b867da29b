"""Who claimed or released a task is the person who did, all the way: workflow update → effect → task event →
audit record (it was `system:workflow`). Time-skipping Temporal, real NATS, SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from services.audit.domain.entries import entry_of
from tests.support.lifecycle import DISTRICT_STAFF, Bench, bench, facts
from tests.support.servers import Nats

USCC = "91110115MA04C2UX1E"


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path) -> AsyncIterator[Bench]:
    async with bench(env, nats, tmp_path) as the_bench:
        yield the_bench


async def test_claim_and_release_are_recorded_as_the_person_who_acted(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    task = await unit.task("recommend")
    await unit.claim(task.id, DISTRICT_STAFF)
    await unit.claim(task.id, DISTRICT_STAFF, release=True)

    events = {e["change"]: e for e in await b.events(unit.handle.id) if e["type"] == "task"}
    assert events["opened"]["actor"]["role"] == "system", "a task the workflow opens is the workflow's doing"
    for change in ("claimed", "released"):
        actor = events[change]["actor"]
        assert (actor["role"], actor["subject"], actor["scope"]) == ("district", "daxing-wang", "大兴区"), change
        entry = entry_of(events[change])
        assert (entry.actor_role, entry.actor_subject, entry.actor_scope) == ("district", "daxing-wang", "大兴区")
