"""The staff HTTP API (/v1): task inboxes and actions, units' state and timeline, registers, public lists.

Routers per concern (tasks, units, registers, public lists), each route a few lines over a use case in
services/workflow/staff. Reads come from the projections (fast, no Temporal query per row) except a
unit's timeline, which is read live from its workflow. Every change goes through a workflow update whose
validator decides; a refusal comes back as a problem document naming why, and nothing changes. Temporal
being away (503, Retry-After) is told apart from a unit whose workflow is failing (500, named, listed).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from greenfab.db import Database
from greenfab.http import problem_response, service_app
from services.workflow.api import public, registers, tasks, units
from services.workflow.domain.policy import Policy
from services.workflow.staff.context import Staff
from services.workflow.staff.engine import (
    RETRY_AFTER_S,
    UnitFailingError,
    engine_away_problem,
    failing_problem,
)


def engine_away(exc: RPCError | WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
    """503 with Retry-After: Temporal did not answer; the detail says whether anything may have changed."""
    response = problem_response(engine_away_problem(exc))
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def build_app(db: Database, client: Callable[[], Client], secret: str, policy: Policy, task_queue: str) -> FastAPI:
    """``client`` gives the Temporal client once the service has connected it."""
    app = service_app(
        title="greenfab staff API",
        version="2.0.0",
        description="Task inboxes and actions for district, bureau and expert staff; units' lifecycle and "
        "timeline; the bureau's registers; the public lists. 绿色制造单位管理接口。",
        secret=secret,
    )
    app.state.staff = Staff(db, client, policy, task_queue)

    @app.exception_handler(RPCError)
    async def _rpc(_: Request, exc: RPCError) -> JSONResponse:
        return engine_away(exc)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(_: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
        return engine_away(exc)

    @app.exception_handler(UnitFailingError)
    async def _failing(_: Request, exc: UnitFailingError) -> JSONResponse:
        return problem_response(failing_problem(exc.failure))

    for module in (tasks, units, registers, public):
        app.include_router(module.router)
    return app
