"""The workflow service's composition root: Temporal client and worker, broker, database, staff API."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from contracts.envelope import Envelope
from greenfab.db import Database, make_engine
from greenfab.health import add_health_route
from greenfab.messaging import StartupError, connect_service, publish, request, service_broker
from greenfab.migrations import migrate
from greenfab.service import bounded, stop_broker
from services.workflow import api, consumers, policy_editions, search_attributes
from services.workflow.activities import LifecycleActivities
from services.workflow.calendar_store import CalendarStore
from services.workflow.migrations import MIGRATIONS
from services.workflow.policy_loader import load_policy
from services.workflow.settings import SandboxMode, WorkflowSettings
from services.workflow.workflows import UnitLifecycleWorkflow


def metrics_runtime(bind: str | None) -> Runtime | None:
    """A Temporal runtime serving the worker's metrics (slots, task latencies) for Prometheus at ``bind``; None: the
    default runtime, no metrics."""
    if not bind:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


async def connect_temporal(address: str, namespace: str, timeout: float, runtime: Runtime | None = None) -> Client:
    """A Temporal client, or StartupError naming Temporal if it does not answer within ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
            )
        except Exception as exc:
            if asyncio.get_running_loop().time() >= deadline:
                raise StartupError(f"cannot reach Temporal at {address} (namespace {namespace}): {exc}") from exc
            await asyncio.sleep(0.3)


def workflow_runner(sandbox: SandboxMode) -> WorkflowRunner:
    """How workflow code runs (bench/worker_cost.py has each one's CPU per new or evicted unit).

    ``strict``: temporalio's sandbox as shipped, every import fresh per workflow instance (about 3x the CPU of
    ``off``). ``shared-imports``: the sandbox still refuses non-deterministic calls (clocks, randomness, I/O) but
    modules are imported once and shared (about 1.5x ``off``); our modules keep no mutable state at import.
    ``off``: no sandbox; determinism rests on the replay tests, which always run strict.
    """
    if sandbox == "off":
        return UnsandboxedWorkflowRunner()
    if sandbox == "shared-imports":
        return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())
    return SandboxedWorkflowRunner()


def make_worker(
    client: Client,
    task_queue: str,
    activities: LifecycleActivities,
    max_cached_workflows: int = 1000,
    workflow_task_polls: int = 16,
    activity_task_polls: int = 8,
    sandbox: SandboxMode = "strict",
    workflow_task_slots: int = 400,
    local_activity_slots: int = 100,
    nonsticky_poll_ratio: float = 0.5,
) -> Worker:
    """The lifecycle worker: the one workflow and its activities.

    Pollers: temporalio's default of 5 long polls fetched 2.5-10 tasks/s from a server answering in
    0.5-2 s under load, while the tasks queued (bench/FINDINGS.md 2.3); more polls in flight keep up.
    Slots: every long poll and every eager start in flight reserves a workflow-task slot, and a task holds one
    until Temporal has its completion. With 100 they ran out at 25 declarations/s: a start that finds none is
    not eager, and its unit's first task waited in the task queue for seconds (bench/FINDINGS.md 2.6).
    The service runs ``off`` by default (``GREENFAB_TEMPORAL_SANDBOX``): on two cores at 25 declarations/s the
    sandbox's share of the CPU slowed starts (bench/path.py, README); tests build strict workers.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflow_runner=workflow_runner(sandbox),
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_task_polls=workflow_task_polls,
        max_concurrent_activity_task_polls=activity_task_polls,
        max_concurrent_workflow_tasks=workflow_task_slots,
        max_concurrent_local_activities=local_activity_slots,
        nonsticky_to_sticky_poll_ratio=nonsticky_poll_ratio,
        workflows=[UnitLifecycleWorkflow],
        activities=[
            activities.record_effects,
            activities.record_all,
            activities.working_period,
            activities.last_working_day,
            activities.rescore,
        ],
    )


class WorkflowService:
    name = "workflow"

    def __init__(self, settings: WorkflowSettings) -> None:
        self.settings = settings
        self.db = Database(make_engine(settings.database_url, settings.database_schema))
        self.broker = service_broker(settings, "greenfab-workflow")
        self.policy = load_policy(settings.rules_dir)
        self.client: Client | None = None
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        consumers.register(
            self.broker,
            self.db,
            self._client,
            settings.task_queue,
            self.policy,
            settings.max_deliveries,
            settings.evaluation_workers,
        )
        self.app: FastAPI = api.build_app(self.db, self._client, settings.auth_secret, self.policy, settings.task_queue)

        async def temporal_ok() -> None:
            await self._client().service_client.check_health()

        add_health_route(self.app, self.name, self.broker, self.db, {"temporal": temporal_ok})

    def _client(self) -> Client:
        if self.client is None:
            raise RuntimeError("Temporal client used before start()")
        return self.client

    async def _publish(self, subject: str, message: Envelope) -> None:
        await publish(self.broker, subject, message)

    async def _request(self, subject: str, body: BaseModel) -> dict[str, Any]:
        return await request(self.broker, subject, body)

    async def start(self) -> None:
        s = self.settings
        await migrate(self.db.engine, MIGRATIONS, allowed=s.migrate, schema=s.database_schema)
        await policy_editions.store_and_load(self.db, self.policy)  # before the worker resolves any ref
        await connect_service(self.broker, s)
        self.client = await connect_temporal(
            s.temporal_address, s.temporal_namespace, s.startup_timeout_s, metrics_runtime(s.metrics_bind)
        )
        await search_attributes.register(self.client)  # before any workflow of ours upserts them
        self.worker = make_worker(
            self.client,
            s.task_queue,
            LifecycleActivities(self.db, self._publish, self._request, CalendarStore(self.settings.rules_dir)),
            s.max_cached_workflows,
            s.workflow_task_polls,
            s.activity_task_polls,
            s.sandbox,
            s.workflow_task_slots,
            s.local_activity_slots,
            s.nonsticky_poll_ratio,
        )
        self._worker_task = asyncio.create_task(self.worker.run(), name="temporal-worker")
        await self.broker.start()

    async def stop(self) -> None:
        await stop_broker(self.broker)
        if self.worker is not None and self._worker_task is not None:
            await bounded("stopping the Temporal worker", self.worker.shutdown(), 30)
            self._worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        await bounded("closing the database", self.db.close())


async def build() -> tuple[WorkflowService, str, int]:
    settings = WorkflowSettings()
    return WorkflowService(settings), settings.http_host, settings.http_port
