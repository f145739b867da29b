"""A lifecycle test bench: the real workflow and activities on a Temporal server, real NATS, real SQLite.

Tests drive units the way the services do (signals with facts, updates with principals) and skip
time on the time-skipping server; they read what left the workflow from JetStream and the projections.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contracts import subjects
from contracts.envelope import Actor, Envelope, utcnow
from contracts.schemes import Designation, workflow_id
from greenfab.db import Database, create_tables, make_engine
from greenfab.messaging import ensure_streams, make_broker, publish
from services.workflow import search_attributes
from services.workflow.activities import LifecycleActivities, Request
from services.workflow.bootstrap import make_worker
from services.workflow.calendar_store import CalendarStore
from services.workflow.domain.policy import Policy
from services.workflow.domain.state import (
    EvaluationFacts,
    ExpertItem,
    NoticeFacts,
    OpenCall,
    Task,
    TaskAction,
    TaskClaim,
    UnitCommand,
    UnitState,
    VetoBrief,
)
from services.workflow.model import AutoListing, LifecycleInput
from services.workflow.policy_loader import load_policy
from services.workflow.tables import WorkflowBase
from services.workflow.workflows import UnitLifecycleWorkflow
from tests.support.servers import Nats
from tests.support.streams import stream_messages

RULES = Path(__file__).resolve().parents[2] / "rules"
DISTRICT = "大兴区"
BUREAU = Actor(role="bureau", subject="bureau-li", scope=None)
DISTRICT_STAFF = Actor(role="district", subject="daxing-wang", scope=DISTRICT)
OTHER_DISTRICT = Actor(role="district", subject="haidian-zhao", scope="海淀区")
EXPERT = Actor(role="expert", subject="expert-chen", scope=None)
CALL = OpenCall(id="call-2026", title="2026年北京市绿色工厂征集通知", closes_on=date(2026, 12, 31))


def today() -> date:
    """Today in Beijing, where the lifecycle counts its days."""
    return load_policy(RULES).local_day(utcnow())


def enterprise(uscc: str) -> Actor:
    return Actor(role="enterprise", subject=uscc, scope=uscc)


def facts(submission_id: str, **overrides: Any) -> EvaluationFacts:
    base: dict[str, Any] = {
        "submission_id": submission_id,
        "correlation_id": f"corr-{submission_id}",
        "enterprise_name": "北京示例新能源科技有限公司",
        "total": Decimal("91.76"),
        "passed": True,
        "call": CALL,
        "in_pool": True,
        "latest_grade": 3,
    }
    return EvaluationFacts(**{**base, **overrides})


def veto(code: str, clause: str, overridable: bool = False) -> VetoBrief:
    return VetoBrief(code=code, clause=clause, evidence="测试证据", overridable=overridable)


def expert_item(item_id: str, maximum: str) -> ExpertItem:
    return ExpertItem(id=item_id, name_zh="酌情给分项", max=Decimal(maximum))


@dataclass
class Unit:
    """One unit's workflow under test."""

    bench: Bench
    handle: WorkflowHandle[Any, Any]

    async def state(self) -> UnitState:
        for attempt in range(3):
            try:
                result: UnitState = await self.handle.query(
                    UnitLifecycleWorkflow.snapshot, rpc_timeout=timedelta(seconds=5)
                )
                return result
            except RPCError:
                # The time-skipping server can drop a query that races a continue-as-new; ask again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def wait(self, predicate: Callable[[UnitState], bool], what: str) -> UnitState:
        for _ in range(200):
            s = await self.state()
            if predicate(s):
                return s
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.handle.id}: never reached {what}; state {s.state}, history {s.history}")

    async def wait_state(self, state: str) -> UnitState:
        return await self.wait(lambda s: s.state == state, state)

    async def task(self, kind: str) -> Task:
        s = await self.wait(lambda s: any(t.active and t.kind == kind for t in s.tasks), f"an open {kind} task")
        return next(t for t in s.tasks if t.active and t.kind == kind)

    async def act(self, kind: str, decision: str, actor: Actor, **extra: Any) -> Task:
        task = await self.task(kind)
        action = TaskAction(task_id=task.id, decision=decision, actor=actor, **extra)
        result: Task = await self.handle.execute_update(UnitLifecycleWorkflow.act, action)
        return result

    async def claim(self, task_id: str, actor: Actor, release: bool = False) -> Task:
        claim = TaskClaim(task_id=task_id, actor=actor, release=release)
        result: Task = await self.handle.execute_update(UnitLifecycleWorkflow.claim, claim)
        return result

    async def command(self, command: str, actor: Actor, **extra: Any) -> UnitState:
        c = UnitCommand(command=command, actor=actor, **extra)
        result: UnitState = await self.handle.execute_update(UnitLifecycleWorkflow.command, c)
        return result

    async def evaluate(self, ev: EvaluationFacts) -> None:
        await self.handle.signal(UnitLifecycleWorkflow.evaluation_completed, ev)

    async def notice(self, kind: str, actor: Actor, **data: Any) -> None:
        n = NoticeFacts(
            notice_id=f"n-{uuid.uuid4().hex[:12]}",
            correlation_id="corr-notice",
            kind=kind,
            data={"kind": kind, **data},
            filed_at=utcnow(),
            actor=actor,
        )
        await self.handle.signal(UnitLifecycleWorkflow.notice_received, n)


@dataclass
class Bench:
    env: WorkflowEnvironment
    nats: Nats
    db: Database
    policy: Policy
    task_queue: str
    started: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def client(self) -> Client:
        return self.env.client

    async def start(
        self,
        uscc: str,
        designation: Designation = Designation.MUNICIPAL_GREEN_FACTORY,
        first: EvaluationFacts | None = None,
        auto_list: bool = False,
        district: str = DISTRICT,
    ) -> Unit:
        inp = LifecycleInput(
            uscc=uscc,
            district=district,
            designation=designation,
            enterprise_name="北京示例新能源科技有限公司",
            policy=self.policy,
            auto_list=AutoListing(actor=BUREAU, reason="2023年国家级绿色工厂名单") if auto_list else None,
            newest_code=True,  # as the service starts units (handlers.on_evaluation, staff auto-listing)
        )
        wid = workflow_id(uscc, designation)
        handle = await self.client.start_workflow(
            UnitLifecycleWorkflow.run,
            inp,
            id=wid,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="evaluation_completed" if first else None,
            start_signal_args=[first] if first else [],
        )
        self.started.append((wid, handle.run_id))
        # Follow the workflow id, not this run: a new cycle continues as new under the same id.
        return Unit(self, self.client.get_workflow_handle(handle.id))

    def follow(self, uscc: str, designation: Designation) -> Unit:
        """A unit's workflow that another workflow started (its runs are replayed at the end too)."""
        wid = workflow_id(uscc, designation)
        self.started.append((wid, None))
        return Unit(self, self.client.get_workflow_handle(wid))

    async def skip(self, days: float) -> None:
        await self.env.sleep(timedelta(days=days))

    async def events(self, workflow: str | None = None) -> list[dict[str, Any]]:
        found = await stream_messages(self.nats.url, subjects.LIFECYCLE.name)
        return [e for e in found if workflow is None or e.get("workflow_id") == workflow]


async def no_scoring(subject: str, body: BaseModel) -> dict[str, Any]:
    raise AssertionError(f"this bench has no scoring service: {subject}")


@asynccontextmanager
async def bench(
    env: WorkflowEnvironment,
    nats: Nats,
    tmp_path: Path,
    request: Request = no_scoring,
    task_queue: str | None = None,
    rules_dir: Path = RULES,
) -> AsyncIterator[Bench]:
    """A bench with its own in-process worker, or, given ``task_queue``, one that drives the units a
    workflow service process runs on that queue (its SQLite database is ``tmp_path/workflow.db``)."""
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'workflow.db'}"))
    await create_tables(db.engine, WorkflowBase.metadata)
    broker = make_broker([nats.url], "test-lifecycle", 5)
    await broker.connect()
    await ensure_streams(broker)

    async def _publish(subject: str, message: Envelope) -> None:
        await publish(broker, subject, message)

    async with contextlib.AsyncExitStack() as stack:
        if task_queue is None:
            task_queue = f"tq-{uuid.uuid4().hex}"
            await search_attributes.register(env.client)  # as the workflow service does at start-up
            await stack.enter_async_context(
                make_worker(
                    env.client, task_queue, LifecycleActivities(db, _publish, request, CalendarStore(rules_dir))
                )
            )
        the_bench = Bench(env, nats, db, load_policy(RULES), task_queue)
        yield the_bench
        await replay_and_keep(the_bench)
    await broker.stop()
    await db.close()


async def replay_and_keep(b: Bench) -> None:
    """Replay every run the test made against today's code; with GREENFAB_SAVE_HISTORIES=DIR, keep them.

    Kept histories are replayed by tests/unit/test_replay.py on every CI run, so a change that would
    break workflows already running for years fails there first.
    """
    histories = []
    for wid, first_run in b.started:
        # The first run and the latest (they differ once the unit continued as new).
        latest = (await b.client.get_workflow_handle(wid).describe()).run_id
        for run in dict.fromkeys([first_run or latest, latest]):
            histories.append(await b.client.get_workflow_handle(wid, run_id=run).fetch_history())
    replayer = Replayer(workflows=[UnitLifecycleWorkflow], data_converter=pydantic_data_converter)
    for history in histories:
        await replayer.replay_workflow(history)
    keep = os.environ.get("GREENFAB_SAVE_HISTORIES")
    if keep:
        test = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
        await asyncio.to_thread(save_histories, Path(keep), test, histories)


def save_histories(folder: Path, test: str, histories: list[WorkflowHistory]) -> None:
    """One Temporal JSON history per file, named `<test>-<n>@<workflow id>.json`.

    The id is part of the name because a replay must run under the id the workflow had: task ids
    are derived from it, so under another id every update's validator refuses and replay fails.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for n, history in enumerate(histories):
        (folder / f"{test}-{n}@{history.workflow_id}.json").write_text(history.to_json(), encoding="utf-8")
