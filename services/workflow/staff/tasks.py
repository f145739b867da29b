"""Task inboxes and task actions: who sees which task, and every action as a validated workflow update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, or_, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from contracts.evaluation import Evaluation
from contracts.paging import Page
from contracts.staff import TaskDecision, TaskDetail, TaskPublic
from greenfab.auth import STAFF_ROLES, Principal, out_of_scope_status
from greenfab.http import ProblemError
from greenfab.paging import Key, Keyset, PageAsk
from services.workflow.domain.state import TaskAction, TaskClaim
from services.workflow.staff import engine
from services.workflow.staff.context import Staff
from services.workflow.tables import EvaluationCopy, TaskProjection
from services.workflow.workflows import UnitLifecycleWorkflow

# Most urgent first; tasks without a deadline after every dated one.
INBOX = Keyset(
    "tasks",
    (
        Key(col(TaskProjection.due_at), datetime, nullable=True),
        Key(col(TaskProjection.opened_at), datetime),
        Key(col(TaskProjection.task_id), str),
    ),
)


def require_role(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise ProblemError(403, "无权操作 / Not allowed", f"this needs one of the roles {', '.join(roles)}")


def public(row: TaskProjection) -> TaskPublic:
    # The row's bookkeeping columns (rev, task_district) are not part of the answer and are ignored.
    return TaskPublic(**row.model_dump(), district=row.unit_district)


def may_see(who: Principal, row: TaskProjection) -> bool:
    if who.role in ("bureau", "auditor"):
        return True
    if who.role == "district":
        return row.unit_district == who.scope
    if who.role == "expert":
        return row.role == "expert"
    return False


async def inbox(staff: Staff, who: Principal, status: str, kind: str | None, ask: PageAsk) -> Page[TaskPublic]:
    """A district sees its district's tasks, the bureau its own and every escalated one, experts the expert
    tasks; most urgent first. ``status``: active (open or claimed), open, claimed, done, cancelled or all."""
    require_role(who, *STAFF_ROLES)
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
    async with staff.db.session() as s:
        rows = (await s.exec(INBOX.select(query, ask, (status, kind)))).all()
    return INBOX.page(rows, ask, public, (status, kind))


async def visible(staff: Staff, task_id: str, who: Principal) -> TaskProjection:
    """The task if the caller may see it: 404 if there is none, 403 (staff) if it is another scope's."""
    require_role(who, *STAFF_ROLES)
    async with staff.db.session() as s:
        row = await s.get(TaskProjection, task_id)
    if row is None:
        raise ProblemError(404, "未找到该事项 / Not found", f"no task {task_id}")
    if not may_see(who, row):
        status = out_of_scope_status(who)
        if status == 404:
            raise ProblemError(404, "未找到该事项 / Not found", f"no task {task_id}")
        raise ProblemError(
            403,
            "该事项不在您的办理范围内 / Not yours",
            f"task {task_id} is not in your scope ({who.role} {who.scope or ''})".strip(),
        )
    return row


async def detail(staff: Staff, task_id: str, who: Principal) -> TaskDetail:
    """A task with the evaluation behind it: every item's points, status and explanation."""
    row = await visible(staff, task_id, who)
    evaluation = None
    sid = row.context.get("submission_id")
    if isinstance(sid, str):
        async with staff.db.session() as s:
            copy = await s.get(EvaluationCopy, sid)
        if copy is not None and copy.result is not None:
            evaluation = Evaluation.model_validate(copy.result)
    return TaskDetail(**public(row).model_dump(), evaluation=evaluation)


async def _update(staff: Staff, row: TaskProjection, update: Any, arg: TaskAction | TaskClaim) -> TaskPublic:
    client = staff.temporal()
    await engine.ensure_not_failing(client, row.workflow_id)
    try:
        await client.get_workflow_handle(row.workflow_id).execute_update(update, arg)
    except (WorkflowUpdateFailedError, ApplicationError) as exc:
        raise engine.refusal(exc) from exc
    async with staff.db.session() as s:
        fresh = await s.get(TaskProjection, row.task_id)
    assert fresh is not None
    return public(fresh)


async def claim(staff: Staff, task_id: str, who: Principal, release: bool) -> TaskPublic:
    row = await visible(staff, task_id, who)
    claim = TaskClaim(task_id=task_id, release=release, actor=who.actor())
    return await _update(staff, row, UnitLifecycleWorkflow.claim, claim)


async def decide(staff: Staff, task_id: str, body: TaskDecision, who: Principal) -> TaskPublic:
    row = await visible(staff, task_id, who)
    action = TaskAction(task_id=task_id, actor=who.actor(), **body.model_dump())
    return await _update(staff, row, UnitLifecycleWorkflow.act, action)
