"""The staff HTTP API (/v1): units' current state and timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.http import Problem, UnitState
from greenfab.auth import can_read_enterprise
from greenfab.db import Database
from greenfab.http import CurrentPrincipal, ProblemError, install_problem_handlers
from services.workflow.model import STATE_ZH, UnitSnapshot
from services.workflow.tables import UnitProjection
from services.workflow.workflows import UnitLifecycleWorkflow

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}} for code in (401, 403, 404, 422)
}


def build_app(db: Database, client: Callable[[], Client], secret: str) -> FastAPI:
    """``client`` gives the Temporal client once the service has connected it."""
    app = FastAPI(
        title="greenfab staff API",
        version="1.0.0",
        description="Units' lifecycle state and timeline for bureau, district, expert and auditor staff. "
        "绿色制造单位管理接口。",
    )
    install_problem_handlers(app)
    app.state.auth_secret = secret
    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    @router.get("/units", response_model=list[UnitState])
    async def list_units(who: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[UnitState]:
        """Units the caller may see, most recently changed first (from the projection)."""
        query = select(UnitProjection).order_by(col(UnitProjection.updated_at).desc()).limit(limit)
        if who.role == "enterprise":
            query = query.where(UnitProjection.uscc == who.scope)
        elif who.role == "district":
            query = query.where(UnitProjection.district == who.scope)
        elif who.role not in ("bureau", "auditor", "expert"):
            raise ProblemError(403, "无权查看 / Not allowed")
        async with db.session() as s:
            rows = (await s.exec(query)).all()
        return [
            UnitState(
                workflow_id=r.workflow_id,
                uscc=r.uscc,
                district=r.district,
                designation=r.designation,
                state=r.state,
                state_zh=STATE_ZH.get(r.state, r.state),
                submissions=[],
                history=[],
            )
            for r in rows
        ]

    @router.get("/units/{workflow_id}", response_model=UnitState)
    async def read_unit(workflow_id: str, who: CurrentPrincipal) -> UnitState:
        """A unit's current state and whole timeline, read live from its workflow."""
        not_found = ProblemError(404, "未找到该单位 / Not found", f"no unit {workflow_id} visible to you")
        try:
            snap: UnitSnapshot = await client().get_workflow_handle(workflow_id).query(UnitLifecycleWorkflow.snapshot)
        except RPCError as exc:
            raise not_found from exc
        if not can_read_enterprise(who, snap.uscc, snap.district):
            raise not_found
        return UnitState(**snap.model_dump(), state_zh=STATE_ZH.get(snap.state, snap.state))

    app.include_router(router)
    return app
