"""Units: lists from the projection, one unit read live from its workflow, unit-level actions, auto-listing,
and the units whose workflow is failing.

Scope: an enterprise reads its own units and hears 404 for any other, exactly as for a unit that does not
exist; a district reads its district's units and hears 403 for another district's (it may learn that a unit
is not its own, nothing more); bureau, auditors and experts read every unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from contracts.identifiers import parse_unit_id
from contracts.paging import Page
from contracts.schemes import Designation, workflow_id
from contracts.staff import (
    AutoListingCreate,
    DeadlinePublic,
    FailingUnit,
    FaultPublic,
    TimelineEntry,
    UnitAction,
    UnitDetail,
    UnitRow,
)
from greenfab.auth import STAFF_ROLES, Principal, can_read_enterprise, out_of_scope_status
from greenfab.http import ProblemError
from greenfab.paging import Key, Keyset, PageAsk
from services.workflow.domain.lifecycle import state_zh
from services.workflow.domain.policy import Policy
from services.workflow.domain.state import UnitCommand, UnitState
from services.workflow.model import AutoListing, LifecycleInput
from services.workflow.policy_editions import EDITIONS
from services.workflow.staff import engine
from services.workflow.staff.context import Staff
from services.workflow.staff.tasks import require_role
from services.workflow.tables import UnitProjection
from services.workflow.workflows import UnitLifecycleWorkflow

UNITS = Keyset(
    "units",
    (
        Key(col(UnitProjection.updated_at), datetime, descending=True),
        Key(col(UnitProjection.workflow_id), str, descending=True),
    ),
)


def _not_found(wid: str) -> ProblemError:
    return ProblemError(404, "未找到该单位 / Not found", f"no unit {wid} visible to you")


def _check_scope(who: Principal, wid: str, uscc: str, district: str) -> None:
    if can_read_enterprise(who, uscc, district):
        return
    if out_of_scope_status(who) == 404:
        raise _not_found(wid)
    raise ProblemError(403, "该单位不属于您所在的区 / Not in your district", f"{wid} is not in {who.scope}")


@dataclass(frozen=True)
class UnitFilter:
    """What a units list is narrowed to (None: any)."""

    state: str | None = None
    designation: Designation | None = None
    district: str | None = None
    level: int | None = None


def _row(r: UnitProjection) -> UnitRow:
    return UnitRow(**r.model_dump(), state_zh=state_zh(r.state))


async def list_units(staff: Staff, who: Principal, where: UnitFilter, ask: PageAsk) -> Page[UnitRow]:
    """Units the caller may see, most recently changed first."""
    query = select(UnitProjection)
    if who.role == "enterprise":
        query = query.where(UnitProjection.uscc == who.scope)
    elif who.role == "district":
        query = query.where(UnitProjection.district == who.scope)
    elif who.role not in ("bureau", "auditor", "expert"):
        raise ProblemError(403, "无权查看 / Not allowed")
    if where.state:
        query = query.where(UnitProjection.state == where.state)
    if where.designation is not None:
        query = query.where(UnitProjection.designation == where.designation.value)
    if where.district:
        query = query.where(UnitProjection.district == where.district)
    if where.level is not None:
        query = query.where(UnitProjection.level == where.level)
    filters = (where.state, where.designation, where.district, where.level)
    async with staff.db.session() as s:
        rows = (await s.exec(UNITS.select(query, ask, filters))).all()
    return UNITS.page(rows, ask, _row, filters)


async def readable(staff: Staff, who: Principal, wid: str) -> UnitState:
    """The unit's state, read live, if the caller may read it.

    The scope is checked on the projection before Temporal is asked, so a caller outside the unit's
    scope learns nothing of its workflow's health either.
    """
    parsed = parse_unit_id(wid)
    if parsed is None or who.role not in ("enterprise", *STAFF_ROLES):
        raise _not_found(wid)
    uscc, _ = parsed
    if who.role == "enterprise" and who.scope != uscc:
        raise _not_found(wid)
    async with staff.db.session() as s:
        row = await s.get(UnitProjection, wid)
    if row is not None:
        _check_scope(who, wid, row.uscc, row.district)
    state = await engine.snapshot(staff.temporal(), wid)
    if state is None:
        raise _not_found(wid)
    _check_scope(who, wid, state.uscc, state.district)
    return state


def detail(s: UnitState, policy: Policy) -> UnitDetail:
    """The unit as the staff API shows it; each deadline also by its Chinese name (from the policy in force)."""
    names = {key: d.name_zh for key, d in policy.deadlines.items()}
    return UnitDetail(
        **s.model_dump(
            include={"workflow_id", "uscc", "enterprise_name", "district", "state", "level", "listed_on"}
            | {"national", "banned_until", "publicity_ends_on", "submissions"}
        ),
        designation=s.designation.value,
        state_zh=state_zh(s.state),
        deadlines=[
            DeadlinePublic(
                deadline=o.deadline,
                deadline_zh=names.get(o.deadline, ""),
                owner=o.owner,
                due_on=o.due_day,
                task_id=o.task_id,
            )
            for o in s.obligations
        ],
        timeline=[TimelineEntry(**t.model_dump(), state_zh=state_zh(t.state)) for t in s.history],
        faults=[FaultPublic(**f.model_dump()) for f in s.faults],
    )


async def read(staff: Staff, who: Principal, wid: str) -> UnitDetail:
    """A unit's current state, running deadlines, whole timeline and any input it could not apply."""
    return detail(await readable(staff, who, wid), staff.policy)


async def act(staff: Staff, who: Principal, wid: str, body: UnitAction) -> UnitDetail:
    """recommend_national, start_review, revoke (bureau) or withdraw (the enterprise itself)."""
    await readable(staff, who, wid)
    command = UnitCommand(actor=who.actor(), **body.model_dump())
    try:
        await staff.temporal().get_workflow_handle(wid).execute_update(UnitLifecycleWorkflow.command, command)
    except (WorkflowUpdateFailedError, ApplicationError) as exc:
        raise engine.refusal(exc) from exc
    return await read(staff, who, wid)


async def auto_list(staff: Staff, who: Principal, body: AutoListingCreate) -> UnitDetail:
    """003 第十条: a unit on the national green-factory list with its plant in Beijing joins the municipal list."""
    require_role(who, "bureau")
    wid = workflow_id(body.uscc, Designation.MUNICIPAL_GREEN_FACTORY)
    unit = LifecycleInput(
        uscc=body.uscc,
        district=body.district,
        designation=Designation.MUNICIPAL_GREEN_FACTORY,
        enterprise_name=body.enterprise_name,
        policy_ref=EDITIONS.add(staff.policy),
        newest_code=True,  # this code starts it: no patch marker per run (workflows.py, OLDER_PATCHES)
        auto_list=AutoListing(actor=who.actor(), reason=body.reason),
    )
    try:
        await staff.temporal().start_workflow(
            UnitLifecycleWorkflow.run,
            unit,
            id=wid,
            task_queue=staff.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError as exc:
        raise ProblemError(
            409,
            "该单位已有市级绿色工厂记录 / Unit exists",
            f"{wid} already exists: read it with GET /v1/units/{wid}",
        ) from exc
    return await read(staff, who, wid)


async def failing_units(staff: Staff, who: Principal, limit: int) -> list[FailingUnit]:
    """Units whose workflow Temporal reports failing, with the failure, for the bureau to have repaired."""
    require_role(who, "bureau", "auditor")
    found = await engine.failing(staff.temporal(), limit)
    async with staff.db.session() as s:
        rows = {wid: await s.get(UnitProjection, wid) for wid, _ in found}
    out = []
    for wid, failure in found:
        row = rows[wid]
        parsed = parse_unit_id(wid)
        out.append(
            FailingUnit(
                workflow_id=wid,
                uscc=parsed[0] if parsed else (row.uscc if row else ""),
                designation=parsed[1].value if parsed else (row.designation if row else ""),
                enterprise_name=row.enterprise_name if row else None,
                district=row.district if row else None,
                state=row.state if row else None,
                problems=failure.problems,
                attempts=failure.attempts,
                error=failure.error,
                since=failure.since,
            )
        )
    return out
