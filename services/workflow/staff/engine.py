"""The staff API's side of Temporal: a refusal, an engine that is away, and a unit whose workflow is failing.

Three different answers for three different situations. A refusal is the domain saying no (its own
status and code). Temporal away is 503 with Retry-After: nothing changed, try again shortly. A unit
whose workflow task keeps failing is not a matter of waiting: it is named, with Temporal's own failure
message, and listed for the bureau (``failing_units``) until someone repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.http import FieldError, Problem
from greenfab.http import ProblemError
from services.workflow.domain.state import UnitState
from services.workflow.workflows import REFUSED, UnitLifecycleWorkflow

RETRY_AFTER_S = 5
# Temporal (server 1.28+) marks a workflow whose tasks keep failing with this search attribute, once the
# dynamic config system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute is set (greenfab up does).
REPORTED_PROBLEMS = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")
_TASK_OUTCOMES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


@dataclass(frozen=True)
class UnitFailure:
    """Why a unit's workflow cannot move on: its workflow task fails every time it is tried."""

    workflow_id: str
    attempts: int | None
    problems: list[str]
    error: str | None
    since: datetime | None


class UnitFailingError(Exception):
    """The unit's workflow is failing (not Temporal being away): answered 500 naming the failure."""

    def __init__(self, failure: UnitFailure) -> None:
        super().__init__(failure.error or "workflow task failing")
        self.failure = failure


def refusal(exc: Exception) -> ProblemError:
    """An update's refusal as a problem: the domain's status, code and both languages."""
    cause = exc.cause if isinstance(exc, WorkflowUpdateFailedError) else exc
    if isinstance(cause, ApplicationError) and cause.type == REFUSED and cause.details:
        d = cause.details[0]
        error = FieldError(path="$", code=d["code"], message_zh=d["message_zh"], message_en=d["message_en"])
        return ProblemError(int(d["status"]), f"{d['message_zh']} / {d['message_en']}", d["message_en"], [error])
    return ProblemError(409, "操作未完成 / Action not carried out", str(cause or exc))


def engine_away_problem(exc: RPCError | WorkflowUpdateRPCTimeoutOrCancelledError) -> Problem:
    """Temporal did not answer (after the client's own retries): whether anything may have changed.

    A refused connection reached nothing; a call that timed out may have been carried out.
    """
    refused = isinstance(exc, RPCError) and exc.status == RPCStatusCode.UNAVAILABLE
    detail = (
        f"Temporal is unavailable ({exc}); nothing was changed, try again shortly"
        if refused
        else f"Temporal did not answer in time ({exc}); read the task or unit before trying again"
    )
    return Problem(
        type="urn:greenfab:problem:engine-unavailable",
        status=503,
        title="工作流引擎暂不可用 / Workflow engine unavailable",
        detail=detail,
    )


def failing_problem(failure: UnitFailure) -> Problem:
    tried = f"tried {failure.attempts} times" if failure.attempts else "failing"
    return Problem(
        type="urn:greenfab:problem:unit-workflow-failing",
        status=500,
        title="该单位的工作流处理出错，需运维修复 / This unit's workflow is failing",
        detail=f"{failure.workflow_id}: its workflow task is {tried}: {failure.error or 'see Temporal'}; "
        "nothing was changed. The bureau sees it in GET /v1/units/failing until it is repaired.",
        errors=[
            FieldError(
                path="$",
                code="unit_workflow_failing",
                message_zh="该单位的工作流处理出错，已列入故障单位清单，请联系运维",
                message_en=failure.error or "the unit's workflow task is failing",
            )
        ],
    )


async def diagnose(client: Client, wid: str) -> UnitFailure | None:
    """The unit's failure if its workflow task is failing (not merely waiting for a worker), else None."""
    description = await client.get_workflow_handle(wid).describe()
    raw = description.raw_description
    pending = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
    problems = list(description.typed_search_attributes.get(REPORTED_PROBLEMS) or [])
    if not problems and (pending is None or pending.attempt < 2):
        return None
    error = await _last_task_failure(client, wid, description.run_id)
    if error is None and not problems:
        return None  # retried because a worker died (timed out), not because the task fails
    since = pending.original_scheduled_time.ToDatetime() if pending is not None else None
    return UnitFailure(wid, pending.attempt if pending else None, problems, error, since)


async def _last_task_failure(client: Client, wid: str, run_id: str | None) -> str | None:
    """The message of the newest workflow-task failure, if the newest workflow-task outcome is one."""
    request = GetWorkflowExecutionHistoryReverseRequest(namespace=client.namespace, maximum_page_size=50)
    request.execution.workflow_id = wid
    if run_id:
        request.execution.run_id = run_id
    response = await client.workflow_service.get_workflow_execution_history_reverse(request)
    for event in response.history.events:
        if event.event_type not in _TASK_OUTCOMES:
            continue
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            return f"{failure.application_failure_info.type or 'Error'}: {failure.message}"
        return None
    return None


async def snapshot(client: Client, wid: str) -> UnitState | None:
    """The unit as its workflow holds it; None if there is no such workflow.

    When the query fails, ask why: a failing workflow raises UnitFailingError, anything else (Temporal
    away, no worker answering in time) propagates as the RPCError it is.
    """
    handle = client.get_workflow_handle(wid)
    try:
        state: UnitState = await handle.query(UnitLifecycleWorkflow.snapshot)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        if exc.status == RPCStatusCode.UNAVAILABLE:
            raise  # Temporal itself is away: nothing to ask it about the unit
        failure = await _diagnosed(client, wid)
        if failure is not None:
            raise UnitFailingError(failure) from exc
        raise
    return state


async def ensure_not_failing(client: Client, wid: str) -> None:
    """Refuse an action on a unit whose workflow is failing before sending it: it could not be applied."""
    failure = await _diagnosed(client, wid)
    if failure is not None:
        raise UnitFailingError(failure)


async def _diagnosed(client: Client, wid: str) -> UnitFailure | None:
    try:
        return await diagnose(client, wid)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def failing(client: Client, limit: int) -> list[tuple[str, UnitFailure]]:
    """Unit workflows Temporal reports failing, with each one's failure (newest first, at most ``limit``)."""
    query = f"WorkflowType = '{UnitLifecycleWorkflow.__name__}' AND TemporalReportedProblems IS NOT NULL"
    found: list[tuple[str, UnitFailure]] = []
    async for execution in client.list_workflows(query, limit=limit):
        failure = await _diagnosed(client, execution.id)
        if failure is not None:
            found.append((execution.id, failure))
    return found
