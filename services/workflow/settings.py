"""The workflow service's settings, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field

from greenfab.paths import RULES
from greenfab.settings import ServiceSettings

# How the worker runs workflow code (services/workflow/bootstrap.py workflow_runner).
SandboxMode = Literal["strict", "shared-imports", "off"]

REPO_RULES = RULES  # the repository's rules/, or the installed wheel's copy (greenfab.paths)


class WorkflowSettings(ServiceSettings):
    """GREENFAB_WORKFLOW_*, GREENFAB_TEMPORAL_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///.data/workflow.db",
        validation_alias=AliasChoices("GREENFAB_WORKFLOW_DATABASE_URL"),
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema for workflow's tables when services share one database.",
        validation_alias=AliasChoices("GREENFAB_WORKFLOW_DATABASE_SCHEMA"),
    )
    migrate: bool = Field(
        default=True,
        description="Bring the database to the code's schema at start-up; false: refuse to start unless it is.",
        validation_alias=AliasChoices("GREENFAB_WORKFLOW_MIGRATE", "GREENFAB_MIGRATE"),
    )
    http_port: int = Field(default=8002, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_WORKFLOW_HTTP_PORT"))
    temporal_address: str = Field(default="127.0.0.1:7233", validation_alias=AliasChoices("GREENFAB_TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field(default="default", validation_alias=AliasChoices("GREENFAB_TEMPORAL_NAMESPACE"))
    task_queue: str = Field(default="greenfab-lifecycle", validation_alias=AliasChoices("GREENFAB_TEMPORAL_TASK_QUEUE"))
    max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        description="Workflows kept in the worker's memory between tasks (0: none, every task replays its history).",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_MAX_CACHED_WORKFLOWS"),
    )
    evaluation_workers: int = Field(
        default=64,
        ge=1,
        le=256,
        description="Evaluations handed to Temporal at once (starts or signals; one at a time per unit).",
        validation_alias=AliasChoices("GREENFAB_WORKFLOW_EVALUATION_WORKERS"),
    )
    workflow_task_polls: int = Field(
        default=16,
        ge=2,
        le=100,
        description="Long polls the worker keeps open for workflow tasks: a slow server needs more in flight.",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_WORKFLOW_TASK_POLLS"),
    )
    workflow_task_slots: int = Field(
        default=400,
        ge=2,
        le=2000,
        description="Workflow tasks the worker holds at once: running, awaiting their local activity or Temporal's "
        "answer, reserved by a long poll or by an eager start in flight (each takes one). With temporalio's 100, at 25 "
        "declarations/s the slots ran out, eager starts fell back to the task queue and those units waited there "
        "(bench/FINDINGS.md 2.6).",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_WORKFLOW_TASK_SLOTS"),
    )
    local_activity_slots: int = Field(
        default=100,
        ge=1,
        le=2000,
        description="Local activities (recording a task's effects) running at once.",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_LOCAL_ACTIVITY_SLOTS"),
    )
    nonsticky_poll_ratio: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Share of the workflow-task long polls on the task queue itself (new units' first tasks that "
        "were not started eagerly, units not in the cache); the rest poll this worker's sticky queue.",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_NONSTICKY_POLL_RATIO"),
    )
    activity_task_polls: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Long polls the worker keeps open for activity tasks.",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_ACTIVITY_TASK_POLLS"),
    )
    sandbox: SandboxMode = Field(
        default="off",
        description="How workflow code runs: `off` (no sandbox; determinism is checked by the replay and lifecycle "
        "tests, which run strict), `shared-imports` (non-deterministic calls refused, modules imported once: about "
        "1.5x the CPU of `off` per new or evicted unit), `strict` (temporalio's sandbox as shipped, about 3x). "
        "bench/worker_cost.py and bench/path.py measure them (README, Speed on declaration day).",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_SANDBOX"),
    )
    metrics_bind: str | None = Field(
        default=None,
        description="host:port for the Temporal worker's Prometheus metrics (slots, task latencies, sticky cache) at "
        "/metrics; unset: none. bench/path.py sets it to print the worker's slot use.",
        validation_alias=AliasChoices("GREENFAB_TEMPORAL_METRICS_BIND"),
    )
    rules_dir: Path = Field(default=REPO_RULES, validation_alias=AliasChoices("GREENFAB_RULES_DIR"))
