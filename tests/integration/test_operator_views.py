"""Operators find units in Temporal (issue 15.3): search attributes and summaries on a real dev server.

The time-skipping server keeps no visibility store, so list queries are tried on the dev server, as the
README's `temporal workflow list --query` runs against `greenfab up`'s Temporal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from services.workflow import search_attributes as sa
from tests.support.lifecycle import BUREAU, DISTRICT_STAFF, OTHER_DISTRICT, Bench, bench, facts
from tests.support.servers import Nats

USCC_A = "91110115MA04C2UX1E"
USCC_B = "91110108551385082Q"
USCC_C = "91110108MA01XYZ12K"
USCC_D = "91110105MA04D7PQ1Y"  # a unit of its own: the dev server outlives each test, and with it their units
# The README's query: a district's running units waiting on the bureau.
WAITING_ON_BUREAU = "GreenfabDistrict = '大兴区' AND GreenfabWaitingOn = 'bureau' AND ExecutionStatus = 'Running'"


@pytest.fixture
async def b(temporal_dev: str, nats: Nats, tmp_path: Path) -> AsyncIterator[Bench]:
    client = await Client.connect(temporal_dev, data_converter=pydantic_data_converter)
    async with bench(WorkflowEnvironment.from_client(client), nats, tmp_path) as the_bench:
        yield the_bench


async def listed(client: Client, query: str, expected: set[str]) -> set[str]:
    """The ids the query lists, once visibility (eventually consistent) shows ``expected`` (or after 15 s)."""
    found: set[str] = set()
    for _ in range(60):
        found = {wf.id async for wf in client.list_workflows(query)}
        if found == expected:
            break
        await asyncio.sleep(0.25)
    return found


async def test_a_district_lists_its_units_waiting_on_the_bureau(b: Bench) -> None:
    waiting = await b.start(USCC_A, first=facts("sub-a"))
    at_district = await b.start(USCC_B, first=facts("sub-b"))
    elsewhere = await b.start(USCC_C, first=facts("sub-c"), district="海淀区")
    await waiting.act("recommend", "recommend", DISTRICT_STAFF)
    await elsewhere.act("recommend", "recommend", OTHER_DISTRICT)
    await waiting.wait_state("under_review")
    await elsewhere.wait_state("under_review")
    await at_district.wait_state("awaiting_recommendation")

    assert await listed(b.client, WAITING_ON_BUREAU, {waiting.handle.id}) == {waiting.handle.id}
    by_state = "GreenfabDistrict = '大兴区' AND GreenfabState = 'awaiting_recommendation'"
    assert await listed(b.client, by_state, {at_district.handle.id}) == {at_district.handle.id}
    assert await listed(b.client, f"GreenfabUscc = '{USCC_C}'", {elsewhere.handle.id}) == {elsewhere.handle.id}

    attrs = (await b.client.get_workflow_handle(waiting.handle.id).describe()).typed_search_attributes
    assert attrs.get(sa.SCHEME) == "municipal-green-factory" and attrs.get(sa.STATE) == "under_review"
    assert attrs.get(sa.WAITING_ON) == ["bureau"] and attrs.get(sa.LEVEL) is None

    # The bureau approves: the unit leaves the list (publicity runs on the calendar, no one must act).
    await waiting.act("review", "approve", BUREAU)
    await waiting.wait_state("publicity")
    assert await listed(b.client, WAITING_ON_BUREAU, set()) == set()


async def test_timers_and_activities_say_which_deadline_or_step_they_are(b: Bench) -> None:
    unit = await b.start(USCC_D, first=facts("sub-d"))
    await unit.wait_state("awaiting_recommendation")
    converter = pydantic_data_converter.payload_converter
    timers: list[str] = []
    activities: list[str] = []
    for _ in range(60):  # the timer starts once the effects are recorded, just after the state shows
        timers, activities = [], []
        for event in (await unit.handle.fetch_history()).events:
            if event.user_metadata.HasField("summary"):
                text = converter.from_payload(event.user_metadata.summary, str)
                if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                    timers.append(text)
                elif event.event_type in (
                    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                    EventType.EVENT_TYPE_MARKER_RECORDED,  # a local activity's record carries its summary
                ):
                    activities.append(text)
        if timers:
            break
        await asyncio.sleep(0.25)
    assert timers and "区工业主管部门推荐截止前7天提醒" in timers[-1] and "district recommendation" in timers[-1]
    assert "003 第八条" in timers[-1], "the timer names the clause the deadline rests on"
    assert any("待区级推荐" in a and "awaiting_recommendation" in a for a in activities)
    metadata = await unit.handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata, rpc_timeout=timedelta(seconds=30)
    )
    details = metadata.current_details
    assert "待区级推荐" in details and "区工业主管部门 (district)" in details and "district recommendation" in details
