"""Routes: task inboxes and the actions on a task (claim, release, decide)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from contracts.paging import Page
from contracts.staff import TaskDecision, TaskDetail, TaskPublic
from greenfab.http import CurrentPrincipal
from greenfab.paging import Paging
from services.workflow.api.deps import PROBLEMS, UNIT_PROBLEMS, StaffDep, TaskId
from services.workflow.staff import tasks

router = APIRouter(prefix="/v1", tags=["tasks"], responses=PROBLEMS)


@router.get("/tasks", response_model=Page[TaskPublic])
async def inbox(
    who: CurrentPrincipal,
    staff: StaffDep,
    paging: Paging,
    status: Annotated[str, Query(pattern="^(active|open|claimed|done|cancelled|all)$")] = "active",
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[TaskPublic]:
    """The caller's inbox: a district sees its district's tasks, the bureau its own and every escalated
    one, experts the expert tasks; most urgent first. ``status=active`` is open or claimed."""
    return paging.answer(await tasks.inbox(staff, who, status, kind, paging))


@router.get("/tasks/{task_id}", response_model=TaskDetail)
async def task_detail(task_id: TaskId, who: CurrentPrincipal, staff: StaffDep) -> TaskDetail:
    """A task with the evaluation behind it: every item's points, status and explanation."""
    return await tasks.detail(staff, task_id, who)


@router.post("/tasks/{task_id}/claim", response_model=TaskPublic, responses=UNIT_PROBLEMS)
async def claim(task_id: TaskId, who: CurrentPrincipal, staff: StaffDep) -> TaskPublic:
    """Claim a task so colleagues see who is on it."""
    return await tasks.claim(staff, task_id, who, release=False)


@router.post("/tasks/{task_id}/release", response_model=TaskPublic, responses=UNIT_PROBLEMS)
async def release(task_id: TaskId, who: CurrentPrincipal, staff: StaffDep) -> TaskPublic:
    """Give a claimed task back to the pool."""
    return await tasks.claim(staff, task_id, who, release=True)


@router.post("/tasks/{task_id}/decision", response_model=TaskPublic, responses=UNIT_PROBLEMS)
async def decide(task_id: TaskId, body: TaskDecision, who: CurrentPrincipal, staff: StaffDep) -> TaskPublic:
    """Complete a task with a decision (and the reason a rule requires). Refused decisions change nothing."""
    return await tasks.decide(staff, task_id, body, who)
