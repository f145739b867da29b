"""The workflow service SIGKILLed in the middle of a unit's path, on the time-skipping server.

The worker is the real `python -m services.workflow` process, not one inside the test. It is killed
(1) while the unit waits on its deadline timers, and time then runs past every alarm with no worker
alive; (2) right after a staff action is accepted, while its effects are being recorded. A new
process must pick each unit up where it was: every alarm announced once, every step once, the
staff member's pending call answered, nothing in the projection lost.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from services.workflow.tables import TaskProjection, UnitProjection
from tests.conftest import SECRET
from tests.support.lifecycle import BUREAU, DISTRICT_STAFF, Bench, bench, facts
from tests.support.servers import Nats, free_port, start_service

USCC = "91110115MA04C2UX1E"
TASK_QUEUE = "restart-test"


class WorkflowProcess:
    """The workflow service as its own process, restartable on the same database and queue."""

    def __init__(self, env: WorkflowEnvironment, nats: Nats, workdir: Path) -> None:
        self.settings = {
            "GREENFAB_NATS_URL": nats.url,
            "GREENFAB_AUTH_SECRET": SECRET,
            "GREENFAB_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "GREENFAB_TEMPORAL_TASK_QUEUE": TASK_QUEUE,
            "GREENFAB_WORKFLOW_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'workflow.db'}",
            # The time-skipping server never moves a task from a dead worker's sticky queue back to
            # the task queue (the real server does: temporalio/temporal#2811), so a killed worker
            # would leave its units stuck there for good. Without a cache there is no sticky queue.
            "GREENFAB_TEMPORAL_MAX_CACHED_WORKFLOWS": "0",
        }
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.to_thread(start_service, "workflow", self.port, self.workdir, 30, **self.settings)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


@pytest.fixture
async def service(env: WorkflowEnvironment, nats: Nats, tmp_path: Path) -> object:
    process = WorkflowProcess(env, nats, tmp_path)
    await process.start()
    yield process
    process.stop()


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path, service: WorkflowProcess) -> object:
    async with bench(env, nats, tmp_path, task_queue=TASK_QUEUE) as the_bench:
        yield the_bench


async def projected(b: Bench, task_id: str) -> TaskProjection:
    for _ in range(200):
        async with b.db.session() as db:
            row = await db.get(TaskProjection, task_id)
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached the projection")


async def test_alarms_that_come_due_while_the_worker_is_dead_fire_once_when_it_returns(
    b: Bench, service: WorkflowProcess
) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    task = await unit.task("recommend")
    before = await unit.state()
    assert [o.fired for o in before.obligations] == [[]]
    # Killed once the unit only waits on its timers (its effects recorded): time can then run on.
    # An attempt in flight at the kill holds the test server's clock until its 30 s timeout.
    await projected(b, task.id)

    service.kill()
    # 40 days pass with no worker: the 7-day and 1-day reminders, the due day and the day after.
    # The server cannot run the workflow meanwhile, so time stops at the first alarm until a worker
    # returns; the skip is awaited only once the new process is up.
    skipping = asyncio.create_task(b.skip(40))
    await asyncio.sleep(1)
    await service.start()
    await skipping
    after = await unit.wait(lambda s: any(t.escalated for t in s.tasks), "escalation after the restart")

    deadline_events = [e for e in await b.events(unit.handle.id) if e["type"] == "deadline"]
    assert [(e["kind"], e["offset_days"]) for e in deadline_events] == [
        ("upcoming", 7),
        ("upcoming", 1),
        ("due", 0),
        ("missed", 0),
    ]
    assert all(e["task_id"] == task.id for e in deadline_events)
    escalations = [e for e in await b.events(unit.handle.id) if e["type"] == "task" and e["change"] == "escalated"]
    assert len(escalations) == 1
    # Nothing the unit held before the crash is gone.
    assert after.submissions == before.submissions and after.enterprise_name == before.enterprise_name
    assert [t.id for t in after.tasks] == [t.id for t in before.tasks]

    service.kill()
    await b.skip(60)  # the worker is dead again and no alarm is left: nothing may fire twice on return
    await service.start()
    await unit.act("recommend", "recommend", BUREAU)
    await unit.wait_state("under_review")
    assert [e for e in await b.events(unit.handle.id) if e["type"] == "deadline"] == deadline_events


async def test_a_staff_action_in_flight_when_the_worker_dies_completes_once_after_the_restart(
    b: Bench, service: WorkflowProcess
) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    task = await unit.task("recommend")
    # The district's decision passes the validator; the worker dies while it is being carried out.
    acting = asyncio.create_task(unit.act("recommend", "recommend", DISTRICT_STAFF, reason="材料齐全"))
    await asyncio.sleep(0.05)
    service.kill()
    await asyncio.sleep(0.5)
    await service.start()
    done = await asyncio.wait_for(acting, 60)  # the caller's update is answered by the new process
    assert done.id == task.id and done.status == "done" and done.decision == "recommend"

    s = await unit.wait_state("under_review")
    events = await b.events(unit.handle.id)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), collections.Counter(ids).most_common(3)
    steps = [e["seq"] for e in events if e["type"] == "unit.changed"]
    assert steps == list(range(steps[0], s.seq + 1))
    async with b.db.session() as db:
        row = await db.get(UnitProjection, unit.handle.id)
        recommend = await db.get(TaskProjection, task.id)
    assert row is not None and row.state == "under_review" and row.last_seq == s.seq
    assert recommend is not None and recommend.status == "done" and recommend.decided_by == DISTRICT_STAFF.subject
