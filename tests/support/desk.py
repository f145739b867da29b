"""A staff desk for tests: the real workflow and intake services in-process, on real NATS and Temporal's dev server.

Units are created the way the system creates them: scoring's `evaluation.completed` published on
JetStream and consumed by the workflow service. Callers act through the services' HTTP APIs with
tokens of any role and scope, so every answer is the answer a real caller gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlmodel import col, select
from temporalio.client import Client

from contracts import subjects
from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.messages import EvaluationCompleted
from contracts.schemes import SCHEME_DESIGNATION, Scheme, workflow_id
from greenfab.messaging import publish
from services.intake.bootstrap import IntakeService
from services.intake.settings import IntakeSettings
from services.workflow.bootstrap import WorkflowService
from services.workflow.settings import WorkflowSettings
from services.workflow.tables import TaskProjection, UnitProjection
from tests.conftest import SECRET, token
from tests.support.servers import Nats

T = TypeVar("T")
SCORING = Actor(role="system", subject="scoring")


def evaluation(scheme: Scheme, total: str = "91.76", level: int | None = None) -> Evaluation:
    return Evaluation(
        scheme=scheme,
        edition="2025",
        rulebook_version="test",
        as_of=date.today(),
        items=[],
        total=Decimal(total),
        provisional=False,
        level=level,
        passed=True if scheme is not Scheme.GRADING else None,
    )


@dataclass
class Desk:
    workflow: WorkflowService
    intake: IntakeService
    staff_http: httpx.AsyncClient
    intake_http: httpx.AsyncClient

    @property
    def temporal(self) -> Client:
        assert self.workflow.client is not None
        return self.workflow.client

    @staticmethod
    def auth(role: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, scope)}"}

    async def staff(self, method: str, path: str, role: str, scope: str | None = None, **kw: Any) -> httpx.Response:
        return await self.staff_http.request(method, path, headers=self.auth(role, scope), **kw)

    async def notice(self, body: dict[str, Any], role: str, scope: str | None = None) -> httpx.Response:
        return await self.intake_http.post("/v1/notices", json=body, headers=self.auth(role, scope))

    async def evaluated(
        self,
        uscc: str,
        district: str,
        scheme: Scheme = Scheme.GREEN_FACTORY,
        name: str = "北京示例新能源科技有限公司",
        **extra: Any,
    ) -> str:
        """Publish scoring's answer for a new declaration, as scoring does; the unit's workflow id."""
        sid = f"sub-{uuid.uuid4().hex[:12]}"
        event = EvaluationCompleted(
            correlation_id=f"corr-{sid}", actor=SCORING, submission_id=sid, scheme=scheme, uscc=uscc,
            enterprise_name=name, district=district, evaluation=evaluation(scheme, **extra),
        )  # fmt: skip
        await publish(self.workflow.broker, subjects.EVALUATION_COMPLETED, event)
        return workflow_id(uscc, SCHEME_DESIGNATION[scheme])

    async def projected(self, wid: str, check: Callable[[UnitProjection], bool] = lambda _: True) -> UnitProjection:
        """The unit's projected row once ``check`` holds for it."""

        async def row() -> UnitProjection | None:
            async with self.workflow.db.session() as s:
                found = await s.get(UnitProjection, wid)
            return found if found is not None and check(found) else None

        found: UnitProjection = await eventually(row, f"{wid} projected")
        return found

    async def open_tasks(self, wid: str) -> list[TaskProjection]:
        query = select(TaskProjection).where(
            TaskProjection.workflow_id == wid, col(TaskProjection.status).in_(("open", "claimed"))
        )
        async with self.workflow.db.session() as s:
            return list((await s.exec(query)).all())

    async def task(self, wid: str, kind: str) -> TaskProjection:
        async def found() -> TaskProjection | None:
            return next((t for t in await self.open_tasks(wid) if t.kind == kind), None)

        task: TaskProjection = await eventually(found, f"an open {kind} task of {wid}")
        return task


async def eventually(probe: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Await ``probe()`` until it returns something truthy; that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


@contextlib.asynccontextmanager
async def desk(
    temporal_address: str, nats: Nats, tmp_path: Path, database_url: str | None = None
) -> AsyncIterator[Desk]:
    """The workflow and intake services on ``nats`` and the Temporal server at ``temporal_address``."""
    workflow = WorkflowService(
        WorkflowSettings(
            nats_url=nats.url, auth_secret=SECRET, http_port=0, temporal_address=temporal_address,
            database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'workflow.db'}",
            task_queue=f"desk-{uuid.uuid4().hex[:8]}", max_deliveries=2,
        )
    )  # fmt: skip
    intake = IntakeService(
        IntakeSettings(
            nats_url=nats.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}", auth_secret=SECRET,
            http_port=0, outbox_poll_s=0.1, evidence_dir=str(tmp_path / "evidence"),
        )
    )  # fmt: skip
    await workflow.start()
    try:
        await intake.start()
        try:
            async with (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=workflow.app), base_url="http://staff") as staff,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=intake.app), base_url="http://intake") as front,
            ):
                the_desk = Desk(workflow, intake, staff, front)
                call = {"scheme": "green-factory", "title": "2026年北京市绿色工厂征集", "opens_on": "2025-01-01"}
                opened = await the_desk.staff("POST", "/v1/calls", "bureau", json={**call, "closes_on": "2030-12-31"})
                assert opened.status_code == 201, opened.text
                yield the_desk
        finally:
            await intake.stop()
    finally:
        await workflow.stop()
