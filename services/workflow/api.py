"""The staff HTTP API (/v1): task inboxes and actions, units' state and timeline, registers, public lists.

Reads come from the projections (fast, no Temporal query per row) except a unit's timeline,
which is read live from its workflow. Every change goes through a workflow update whose validator
decides; a refusal comes back as a problem document naming why, and nothing changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import col, or_, select
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.envelope import utcnow
from contracts.evaluation import Evaluation
from contracts.http import FieldError, Problem
from contracts.schemes import Designation, workflow_id
from contracts.staff import (
    AutoListingCreate,
    CallCreate,
    CallPublic,
    EvaluatorBanCreate,
    EvaluatorBanPublic,
    ListedUnit,
    PoolEntryCreate,
    PoolEntryPublic,
    PublishedGrade,
    TaskDecision,
    TaskDetail,
    TaskPublic,
    TimelineEntry,
    UnitAction,
    UnitDetail,
    UnitRow,
)
from greenfab.auth import Principal, can_read_enterprise
from greenfab.db import Database
from greenfab.http import CurrentPrincipal, ProblemError, problem_response, problem_responses, service_app
from services.workflow.domain.lifecycle import HOLDS_TITLE, STATE_ZH
from services.workflow.domain.policy import Policy, add_years
from services.workflow.domain.state import TaskAction, TaskClaim, UnitCommand, UnitState
from services.workflow.model import AutoListing, LifecycleInput
from services.workflow.tables import (
    EvaluationCopy,
    EvaluatorBan,
    OpenCallRow,
    PoolEntry,
    TaskProjection,
    UnitProjection,
)
from services.workflow.workflows import REFUSED, UnitLifecycleWorkflow

PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503)
RETRY_AFTER_S = 5
STAFF = ("district", "bureau", "expert", "auditor")


def _task_public(row: TaskProjection) -> dict[str, Any]:
    return {
        "task_id": row.task_id,
        "workflow_id": row.workflow_id,
        "uscc": row.uscc,
        "enterprise_name": row.enterprise_name,
        "district": row.unit_district,
        "designation": row.designation,
        "kind": row.kind,
        "title_zh": row.title_zh,
        "role": row.role,
        "status": row.status,
        "claimed_by": row.claimed_by,
        "escalated": row.escalated,
        "opened_at": row.opened_at,
        "due_at": row.due_at,
        "decisions": row.decisions,
        "decision": row.decision,
        "reason": row.reason,
        "decided_by": row.decided_by,
        "clause": row.clause,
        "context": row.context,
    }


def _may_see_task(who: Principal, row: TaskProjection) -> bool:
    if who.role in ("bureau", "auditor"):
        return True
    if who.role == "district":
        return row.unit_district == who.scope
    if who.role == "expert":
        return row.role == "expert"
    return False


def _refused(exc: Exception) -> ProblemError:
    """An update's refusal as a problem: the domain's status, code and both languages."""
    cause = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else exc
    if isinstance(cause, ApplicationError) and cause.type == REFUSED and cause.details:
        d = cause.details[0]
        error = FieldError(path="$", code=d["code"], message_zh=d["message_zh"], message_en=d["message_en"])
        return ProblemError(int(d["status"]), f"{d['message_zh']} / {d['message_en']}", d["message_en"], [error])
    return ProblemError(409, "操作未完成 / Action not carried out", str(cause or exc))


def engine_away(exc: RPCError | WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
    """Temporal did not answer (after the client's own retries): 503, and whether anything may have changed.

    A refused connection reached nothing; a call that timed out may have been carried out.
    """
    refused = isinstance(exc, RPCError) and exc.status == RPCStatusCode.UNAVAILABLE
    detail = (
        f"Temporal is unavailable ({exc}); nothing was changed, try again shortly"
        if refused
        else f"Temporal did not answer in time ({exc}); read the task or unit before trying again"
    )
    title = "工作流引擎暂不可用 / Workflow engine unavailable"
    response = problem_response(Problem(status=503, title=title, detail=detail))
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

    @app.exception_handler(RPCError)
    async def _rpc(_: Request, exc: RPCError) -> JSONResponse:
        return engine_away(exc)

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(_: Request, exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> JSONResponse:
        return engine_away(exc)

    router = APIRouter(prefix="/v1", responses=PROBLEMS)

    def require(who: Principal, *roles: str) -> None:
        if who.role not in roles:
            raise ProblemError(403, "无权操作 / Not allowed", f"this needs one of the roles {', '.join(roles)}")

    async def task_row(task_id: str, who: Principal) -> TaskProjection:
        async with db.session() as s:
            row = await s.get(TaskProjection, task_id)
        if row is None or not _may_see_task(who, row):
            raise ProblemError(404, "未找到该事项 / Not found", f"no task {task_id} visible to you")
        return row

    # ----- tasks ---------------------------------------------------------------------------

    @router.get("/tasks", response_model=list[TaskPublic])
    async def inbox(
        who: CurrentPrincipal,
        status: Annotated[str, Query(pattern="^(active|open|claimed|done|cancelled|all)$")] = "active",
        kind: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        """The caller's inbox: a district sees its district's tasks, the bureau its own and every escalated
        one, experts the expert tasks; most urgent first. ``status=active`` is open or claimed."""
        require(who, *STAFF)
        query = select(TaskProjection)
        if who.role == "district":
            query = query.where(TaskProjection.role == "district", TaskProjection.task_district == who.scope)
        elif who.role == "bureau":
            query = query.where(or_(TaskProjection.role == "bureau", col(TaskProjection.escalated).is_(True)))
        elif who.role == "expert":
            query = query.where(TaskProjection.role == "expert")
        if status == "active":
            query = query.where(col(TaskProjection.status).in_(("open", "claimed")))
        elif status != "all":
            query = query.where(TaskProjection.status == status)
        if kind:
            query = query.where(TaskProjection.kind == kind)
        query = query.order_by(col(TaskProjection.due_at).asc(), col(TaskProjection.opened_at).asc()).limit(limit)
        async with db.session() as s:
            return [_task_public(r) for r in (await s.exec(query)).all()]

    @router.get("/tasks/{task_id}", response_model=TaskDetail)
    async def task_detail(task_id: str, who: CurrentPrincipal) -> dict[str, Any]:
        """A task with the evaluation behind it: every item's points, status and explanation."""
        row = await task_row(task_id, who)
        evaluation = None
        sid = row.context.get("submission_id")
        if isinstance(sid, str):
            async with db.session() as s:
                copy = await s.get(EvaluationCopy, sid)
            if copy is not None and copy.result is not None:
                evaluation = Evaluation.model_validate(copy.result)
        return {**_task_public(row), "evaluation": evaluation}

    async def update_task(row: TaskProjection, call: Callable[[Any], Any]) -> dict[str, Any]:
        handle = client().get_workflow_handle(row.workflow_id)
        try:
            await call(handle)
        except (WorkflowUpdateFailedError, ApplicationError) as exc:
            raise _refused(exc) from exc
        async with db.session() as s:
            fresh = await s.get(TaskProjection, row.task_id)
        assert fresh is not None
        return _task_public(fresh)

    @router.post("/tasks/{task_id}/claim", response_model=TaskPublic)
    async def claim(task_id: str, who: CurrentPrincipal) -> dict[str, Any]:
        """Claim a task so colleagues see who is on it."""
        row = await task_row(task_id, who)
        claim = TaskClaim(task_id=task_id, actor=who.actor())
        return await update_task(row, lambda h: h.execute_update(UnitLifecycleWorkflow.claim, claim))

    @router.post("/tasks/{task_id}/release", response_model=TaskPublic)
    async def release(task_id: str, who: CurrentPrincipal) -> dict[str, Any]:
        """Give a claimed task back to the pool."""
        row = await task_row(task_id, who)
        claim = TaskClaim(task_id=task_id, release=True, actor=who.actor())
        return await update_task(row, lambda h: h.execute_update(UnitLifecycleWorkflow.claim, claim))

    @router.post("/tasks/{task_id}/decision", response_model=TaskPublic)
    async def decide(task_id: str, body: TaskDecision, who: CurrentPrincipal) -> dict[str, Any]:
        """Complete a task with a decision (and the reason a rule requires). Refused decisions change nothing."""
        row = await task_row(task_id, who)
        action = TaskAction(task_id=task_id, actor=who.actor(), **body.model_dump())
        return await update_task(row, lambda h: h.execute_update(UnitLifecycleWorkflow.act, action))

    # ----- units ---------------------------------------------------------------------------

    @router.get("/units", response_model=list[UnitRow])
    async def list_units(
        who: CurrentPrincipal,
        state: Annotated[str | None, Query(max_length=40)] = None,
        designation: Annotated[Designation | None, Query()] = None,
        district: Annotated[str | None, Query(max_length=20)] = None,
        level: Annotated[int | None, Query(ge=1, le=5)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        """Units the caller may see, most recently changed first; filtered by state, designation, district, level."""
        query = select(UnitProjection).order_by(col(UnitProjection.updated_at).desc()).limit(limit)
        if who.role == "enterprise":
            query = query.where(UnitProjection.uscc == who.scope)
        elif who.role == "district":
            query = query.where(UnitProjection.district == who.scope)
        elif who.role not in ("bureau", "auditor", "expert"):
            raise ProblemError(403, "无权查看 / Not allowed")
        if state:
            query = query.where(UnitProjection.state == state)
        if designation is not None:
            query = query.where(UnitProjection.designation == designation.value)
        if district:
            query = query.where(UnitProjection.district == district)
        if level is not None:
            query = query.where(UnitProjection.level == level)
        async with db.session() as s:
            rows = (await s.exec(query)).all()
        return [
            {
                **r.model_dump(
                    include={"uscc", "enterprise_name", "district", "designation", "listed_on", "national", "level"}
                ),
                "workflow_id": r.workflow_id,
                "state": r.state,
                "state_zh": STATE_ZH.get(r.state, r.state),
            }
            for r in rows
        ]

    async def snapshot(wid: str, who: Principal) -> UnitState:
        not_found = ProblemError(404, "未找到该单位 / Not found", f"no unit {wid} visible to you")
        try:
            state: UnitState = await client().get_workflow_handle(wid).query(UnitLifecycleWorkflow.snapshot)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise not_found from exc
            raise
        if not can_read_enterprise(who, state.uscc, state.district):
            raise not_found
        return state

    @router.get("/units/{workflow_id}", response_model=UnitDetail)
    async def read_unit(workflow_id: str, who: CurrentPrincipal) -> UnitDetail:
        """A unit's current state, running deadlines and whole timeline, read live from its workflow."""
        s = await snapshot(workflow_id, who)
        return UnitDetail(
            workflow_id=s.workflow_id,
            uscc=s.uscc,
            enterprise_name=s.enterprise_name,
            district=s.district,
            designation=s.designation.value,
            state=s.state,
            state_zh=STATE_ZH.get(s.state, s.state),
            level=s.level,
            listed_on=s.listed_on,
            national=s.national,
            banned_until=s.banned_until,
            publicity_ends_on=s.publicity_ends_on,
            deadlines=[
                {"deadline": o.deadline, "owner": o.owner, "due_on": o.due_day.isoformat(), "task_id": o.task_id}
                for o in s.obligations
            ],
            submissions=s.submissions,
            timeline=[
                TimelineEntry(
                    **t.model_dump(
                        include={"seq", "at", "state", "reason", "clause", "actor", "task_id", "submission_id"}
                    ),
                    state_zh=STATE_ZH.get(t.state, t.state),
                )
                for t in s.history
            ],
        )

    @router.post("/units/{workflow_id}/actions", response_model=UnitDetail)
    async def unit_action(workflow_id: str, body: UnitAction, who: CurrentPrincipal) -> UnitDetail:
        """recommend_national, start_review, revoke (bureau) or withdraw (the enterprise itself)."""
        await snapshot(workflow_id, who)
        command = UnitCommand(actor=who.actor(), **body.model_dump())
        try:
            await client().get_workflow_handle(workflow_id).execute_update(UnitLifecycleWorkflow.command, command)
        except (WorkflowUpdateFailedError, ApplicationError) as exc:
            raise _refused(exc) from exc
        return await read_unit(workflow_id, who)

    @router.post("/units/auto-listings", status_code=201, response_model=UnitDetail)
    async def auto_list(body: AutoListingCreate, who: CurrentPrincipal) -> UnitDetail:
        """003 第十条: a unit on the national green-factory list with its plant in Beijing joins the municipal list."""
        require(who, "bureau")
        wid = workflow_id(body.uscc, Designation.MUNICIPAL_GREEN_FACTORY)
        try:
            await client().start_workflow(
                UnitLifecycleWorkflow.run,
                LifecycleInput(
                    uscc=body.uscc,
                    district=body.district,
                    designation=Designation.MUNICIPAL_GREEN_FACTORY,
                    enterprise_name=body.enterprise_name,
                    policy=policy,
                    auto_list=AutoListing(actor=who.actor(), reason=body.reason),
                ),
                id=wid,
                task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.ALREADY_EXISTS:
                raise ProblemError(
                    409, "该单位已有市级绿色工厂记录 / Unit exists", f"{wid} is already running"
                ) from exc
            raise
        return await read_unit(wid, who)

    # ----- the bureau's and districts' registers ---------------------------------------------

    @router.post("/calls", status_code=201, response_model=CallPublic)
    async def open_call(body: CallCreate, who: CurrentPrincipal) -> dict[str, Any]:
        """Open a call (征集通知, 003 第八条); declarations outside every call are refused."""
        require(who, "bureau")
        row = OpenCallRow(id=uuid.uuid4().hex[:16], opened_by=who.subject, **body.model_dump())
        async with db.session() as s:
            s.add(row)
            await s.commit()
        return row.model_dump()

    @router.get("/calls", response_model=list[CallPublic])
    async def list_calls() -> list[dict[str, Any]]:
        """Every call, newest first (public, 003 第八条)."""
        async with db.session() as s:
            rows = (await s.exec(select(OpenCallRow).order_by(col(OpenCallRow.opens_on).desc()))).all()
        return [r.model_dump() for r in rows]

    @router.post("/pool", status_code=201, response_model=PoolEntryPublic)
    async def add_to_pool(body: PoolEntryCreate, who: CurrentPrincipal) -> dict[str, Any]:
        """A district adds a unit to its cultivation pool (003 第六条)."""
        require(who, "district")
        assert who.scope is not None
        async with db.session() as s:
            existing = await s.get(PoolEntry, body.uscc)
            if existing is not None and existing.district != who.scope:
                raise ProblemError(409, "该单位已在其他区培育名单 / In another pool", f"in {existing.district}'s pool")
            row = existing or PoolEntry(district=who.scope, added_by=who.subject, **body.model_dump())
            s.add(row)
            await s.commit()
        return row.model_dump()

    @router.get("/pool", response_model=list[PoolEntryPublic])
    async def list_pool(who: CurrentPrincipal) -> list[dict[str, Any]]:
        """A district's pool (the bureau and auditors see every district's)."""
        require(who, "district", "bureau", "auditor")
        query = select(PoolEntry).order_by(col(PoolEntry.added_at).desc())
        if who.role == "district":
            query = query.where(PoolEntry.district == who.scope)
        async with db.session() as s:
            return [r.model_dump() for r in (await s.exec(query)).all()]

    @router.post("/evaluator-bans", status_code=201, response_model=EvaluatorBanPublic)
    async def ban_evaluator(body: EvaluatorBanCreate, who: CurrentPrincipal) -> dict[str, Any]:
        """003 第十八条: the evaluator's reports are refused for three years from today."""
        require(who, "bureau")
        today = policy.local_day(utcnow())
        years = policy.bans.evaluator_years.value
        row = EvaluatorBan(since=today, until=add_years(today, years), banned_by=who.subject, **body.model_dump())
        async with db.session() as s:
            await s.merge(row)
            await s.commit()
        return row.model_dump()

    @router.get("/evaluator-bans", response_model=list[EvaluatorBanPublic])
    async def list_bans() -> list[dict[str, Any]]:
        """Evaluators whose reports are refused (public)."""
        async with db.session() as s:
            return [r.model_dump() for r in (await s.exec(select(EvaluatorBan))).all()]

    # ----- public lists (003 第十九条) ---------------------------------------------------------

    @router.get("/public/listed", response_model=list[ListedUnit])
    async def public_listed(
        designation: Annotated[Designation | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        """Units on the municipal lists now (readable by anyone)."""
        query = select(UnitProjection).where(col(UnitProjection.state).in_(tuple(HOLDS_TITLE)))
        if designation is not None:
            query = query.where(UnitProjection.designation == designation.value)
        async with db.session() as s:
            rows = (await s.exec(query.order_by(col(UnitProjection.listed_on).desc()))).all()
        return [r.model_dump() for r in rows]

    @router.get("/public/grades", response_model=list[PublishedGrade])
    async def public_grades() -> list[dict[str, Any]]:
        """Published factory green grades (readable by anyone)."""
        query = select(UnitProjection).where(
            UnitProjection.designation == Designation.ANNUAL_GRADING.value, col(UnitProjection.graded_on).is_not(None)
        )
        async with db.session() as s:
            return [r.model_dump() for r in (await s.exec(query.order_by(col(UnitProjection.uscc)))).all()]

    app.include_router(router)
    return app
