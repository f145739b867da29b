"""A unit's start as the workflow service makes it (issue 14.2): few events, one record, the policy by reference.

On Temporal's time-skipping server with real NATS and SQLite: the workflow service's own start
(`handlers.start_or_signal`, the evaluation in the input), then the unit's history, its input, what it
announced and what it projected.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from contracts.schemes import Designation, workflow_id
from services.workflow import handlers
from services.workflow.model import LifecycleInput
from services.workflow.policy_editions import EDITIONS
from services.workflow.tables import TaskProjection, UnitProjection
from tests.support.lifecycle import DISTRICT, Bench, bench, facts
from tests.support.servers import Nats

USCC = "91110115MA04C2UX1E"
E = EventType


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path) -> AsyncIterator[Bench]:
    async with bench(env, nats, tmp_path) as the_bench:
        yield the_bench


def unit_input(b: Bench, designation: Designation, ref: str, newest_code: bool = True) -> LifecycleInput:
    """As handlers.on_evaluation makes it; ``newest_code=False`` as inputs were before that field."""
    return LifecycleInput(
        uscc=USCC,
        district=DISTRICT,
        designation=designation,
        enterprise_name="北京示例新能源科技有限公司",
        policy_ref=ref,
        newest_code=newest_code,
    )


def per_workflow_task(history: WorkflowHistory) -> list[Counter[str]]:
    """The commands each completed workflow task gave (they follow its WORKFLOW_TASK_COMPLETED event)."""
    tasks: list[Counter[str]] = []
    for event in history.events:
        if event.event_type == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            tasks.append(Counter())
        elif tasks and event.event_type == E.EVENT_TYPE_MARKER_RECORDED:
            tasks[-1][event.marker_recorded_event_attributes.marker_name] += 1
        elif tasks and event.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            # TemporalChangeVersion is how a patch marker shows in visibility; the unit's own attributes are ours.
            tasks[-1]["patch upsert" if list(fields) == ["TemporalChangeVersion"] else "upsert"] += 1
    return tasks


@pytest.mark.parametrize("newest_code", [True, False], ids=["as-started-now", "input-made-before-newest-code"])
async def test_a_new_unit_takes_its_first_step_with_one_record_and_one_upsert_and_carries_only_its_policy_ref(
    b: Bench, newest_code: bool
) -> None:
    ref = EDITIONS.add(b.policy)
    first = facts("g-1", level=4, total="88.0", call=None)
    inp = unit_input(b, Designation.ANNUAL_GRADING, ref, newest_code)
    await handlers.start_or_signal(b.client, b.task_queue, inp, first)
    wid = workflow_id(USCC, Designation.ANNUAL_GRADING)
    unit = b.follow(USCC, Designation.ANNUAL_GRADING)
    graded = await unit.wait_state("graded")
    assert graded.submissions == ["g-1"]

    history = await b.client.get_workflow_handle(wid).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    carried = json.loads(started.input.payloads[0].data)
    assert carried["policy_ref"] == ref and carried["policy"] is None
    assert len(started.input.payloads[0].data) < 2_000, "the input carries the edition's ref, not the whole policy"
    tasks = per_workflow_task(history)
    assert tasks and all(t["core_local_activity"] <= 1 and t["upsert"] <= 1 for t in tasks), tasks
    assert sum(t["core_local_activity"] for t in tasks) == 1, "the first step is recorded once"
    if newest_code:
        # Started by this code: no patch asked, so no marker and no TemporalChangeVersion upsert.
        assert sum(t["core_patch"] + t["patch upsert"] for t in tasks) == 0, tasks
        assert len(history.events) <= 9, [E.Name(e.event_type) for e in history.events]
    else:
        assert sum(t["core_patch"] for t in tasks) == 1, "a new run asks only the newest patch"
        assert len(history.events) <= 11, [E.Name(e.event_type) for e in history.events]

    # Recorded: projected, and announced once per step.
    async with b.db.session() as s:
        row = await s.get(UnitProjection, wid)
    assert row is not None and row.state == "graded" and row.level == 4
    changed = [e for e in await b.events(wid) if e.get("state") is not None]
    assert [e["state"] for e in changed] == [t.state for t in graded.history]


async def test_a_staff_action_and_the_tasks_it_opens_are_recorded_in_one_transaction(b: Bench) -> None:
    ref = EDITIONS.add(b.policy)
    await handlers.start_or_signal(
        b.client, b.task_queue, unit_input(b, Designation.MUNICIPAL_GREEN_FACTORY, ref), facts("sub-1")
    )
    unit = b.follow(USCC, Designation.MUNICIPAL_GREEN_FACTORY)
    task = await unit.task("recommend")
    async with b.db.session() as s:
        assert (await s.get(TaskProjection, task.id)) is not None, "recorded before the workflow waited"


async def test_an_unknown_policy_edition_fails_the_workflow_task_and_never_runs_on_another_policy(b: Bench) -> None:
    elsewhere = b.policy.model_copy(update={"reminder_offsets_days": [30, 7, 1]})  # another edition, not loaded here
    assert elsewhere.ref != b.policy.ref and elsewhere.ref not in EDITIONS
    await handlers.start_or_signal(
        b.client, b.task_queue, unit_input(b, Designation.ANNUAL_GRADING, elsewhere.ref), facts("g-2", call=None)
    )
    handle = b.client.get_workflow_handle(workflow_id(USCC, Designation.ANNUAL_GRADING))
    failure = ""
    for _ in range(200):
        history = await handle.fetch_history()
        failed = [e for e in history.events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        if failed:
            failure = failed[0].workflow_task_failed_event_attributes.failure.message
            break
        await asyncio.sleep(0.05)
    assert "not loaded in this worker" in failure, failure
    description = await handle.describe()
    assert description.status is not None and description.status.name == "RUNNING", "the unit waits, it is not lost"
    assert not any(e.event_type == E.EVENT_TYPE_MARKER_RECORDED for e in history.events), "nothing was recorded"
