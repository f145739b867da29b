"""The lifecycle workflow on Temporal's time-skipping server, with its activities on real NATS and a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts import subjects
from contracts.envelope import Actor, Envelope
from contracts.evaluation import Evaluation
from contracts.messages import EvaluationCompleted
from contracts.schemes import Scheme
from greenfab.db import Database, create_tables, make_engine
from greenfab.messaging import ensure_streams, make_broker, publish
from greenfab.stack import tool_path
from services.workflow import handlers
from services.workflow.activities import LifecycleActivities
from services.workflow.deadlines import load_deadlines
from services.workflow.tables import UnitProjection, WorkflowBase
from services.workflow.workflows import UnitLifecycleWorkflow
from tests.support.servers import Nats
from tests.support.streams import stream_messages

RULES = Path(__file__).resolve().parents[2] / "rules"
USCC = "91110115MA04C2UX1E"


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=tool_path("temporal-test-server"),
        data_converter=pydantic_data_converter,
        # The default 5 s is tight on a busy 2-core machine.
        test_server_startup_timeout=timedelta(seconds=60),
    ) as environment:
        yield environment


def completed(submission_id: str, error: str | None = None) -> EvaluationCompleted:
    evaluation = Evaluation(
        scheme=Scheme.GRADING, edition="2024", rulebook_version="sha256:test", as_of="2025-10-08",
        items=[], total=Decimal("72.50"), provisional=False, level=3,
    )  # fmt: skip
    return EvaluationCompleted(
        id=f"evaluation-{submission_id}",
        correlation_id=f"corr-{submission_id}",
        actor=Actor(role="system", subject="scoring"),
        submission_id=submission_id,
        scheme=Scheme.GRADING,
        uscc=USCC,
        enterprise_name="北京示例新能源科技有限公司",
        district="大兴区",
        evaluation=None if error else evaluation,
        error=error,
    )


async def lifecycle_events(nats: Nats) -> list[dict[str, Any]]:
    return await stream_messages(nats.url, subjects.LIFECYCLE.name)


async def test_a_unit_waits_for_its_district_then_the_deadline_fires_once(
    env: WorkflowEnvironment, nats: Nats, tmp_path: Path
) -> None:
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"))
    await create_tables(db.engine, WorkflowBase.metadata)
    broker = make_broker([nats.url], "test-workflow", 5)
    await broker.connect()
    await ensure_streams(broker)

    async def _publish(subject: str, message: Envelope) -> None:
        await publish(broker, subject, message)

    activities = LifecycleActivities(db, _publish)
    task_queue = f"tq-{uuid.uuid4().hex}"
    client: Client = env.client
    deadlines = load_deadlines(RULES)
    async with Worker(
        client, task_queue=task_queue, workflows=[UnitLifecycleWorkflow],
        activities=[activities.record_transition, activities.deadline_due],
    ):  # fmt: skip
        wid = await handlers.on_evaluation(client, task_queue, deadlines, completed("sub-1"))
        # The same event redelivered signals again; the workflow counts it once.
        assert await handlers.on_evaluation(client, task_queue, deadlines, completed("sub-1")) == wid
        assert wid == f"unit-{USCC}-annual-grading"
        handle = client.get_workflow_handle(wid)

        async def state() -> str:
            return str((await handle.query(UnitLifecycleWorkflow.snapshot)).state)

        for _ in range(50):
            if await state() == "awaiting_recommendation":
                break
            await asyncio.sleep(0.1)
        snap = await handle.query(UnitLifecycleWorkflow.snapshot)
        assert snap.state == "awaiting_recommendation" and snap.submissions == ["sub-1"]

        await env.sleep(timedelta(days=29))
        assert await state() == "awaiting_recommendation"
        await env.sleep(timedelta(days=2))
        for _ in range(50):
            if await state() == "recommendation_overdue":
                break
            await asyncio.sleep(0.1)
        assert await state() == "recommendation_overdue"
        await env.sleep(timedelta(days=60))
        snap = await handle.query(UnitLifecycleWorkflow.snapshot)

    events = await lifecycle_events(nats)
    await broker.stop()
    async with db.session() as s:
        row = await s.get(UnitProjection, wid)
    await db.close()

    assert [h["state"] for h in snap.history] == ["awaiting_recommendation", "recommendation_overdue"]
    types = [e["type"] for e in events]
    assert types == ["unit.changed", "deadline.due", "unit.changed"], "the deadline fires exactly once"
    due = events[1]
    assert due["deadline"] == "district-recommendation" and due["district"] == "大兴区"
    assert "003 第八条" in due["clause"]
    assert row is not None and row.state == "recommendation_overdue" and row.last_seq == 2
