"""The workflow service's NATS subscribers: evaluations and notices start or signal unit workflows."""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker
from temporalio.client import Client

from contracts import subjects
from contracts.messages import (
    DeadlineEvent,
    EvaluationCompleted,
    NoticeReceived,
    TaskEvent,
    UnitChanged,
    UnitLookupReply,
    UnitLookupRequest,
)
from greenfab.db import Database
from greenfab.messaging import durable_subscription, stream_ref
from services.workflow import handlers
from services.workflow.domain.policy import Policy
from services.workflow.staff import lookup


def register(
    broker: NatsBroker,
    db: Database,
    client: Callable[[], Client],
    task_queue: str,
    policy: Policy,
    max_deliveries: int,
) -> None:
    """``client`` gives the Temporal client, which exists only once the service has started."""
    for subject, schema, what in (
        (subjects.UNIT_CHANGED, UnitChanged, "Every step of a unit's lifecycle: actor, reason and clause."),
        (subjects.DEADLINE_EVENTS, DeadlineEvent, "deadline.upcoming (7 and 1 days before), .due, .missed."),
        (subjects.TASK_EVENTS, TaskEvent, "task.opened, .claimed, .released, .escalated, .closed, .cancelled."),
    ):
        broker.publisher(
            subject, stream=stream_ref(subject), schema=schema, title=f"workflow/{subject}", description=what
        )

    @broker.subscriber(
        **durable_subscription(subjects.EVALUATION_COMPLETED, subjects.CONSUMER_WORKFLOW_EVALUATIONS, max_deliveries),
        title="workflow/evaluation.completed",
        description="Signal-with-starts the unit's lifecycle workflow (id from USCC and designation).",
    )
    async def on_evaluation(event: EvaluationCompleted) -> None:
        await handlers.on_evaluation(client(), db, task_queue, policy, event)

    @broker.subscriber(
        **durable_subscription(subjects.NOTICE_RECEIVED, subjects.CONSUMER_WORKFLOW_NOTICES, max_deliveries),
        title="workflow/submission.notice",
        description="Rename, major adjustment, objection, district report, diagnosis, renovation → the existing "
        "unit workflows they concern (a notice never starts one); a notice about no unit, or from someone who may "
        "not file it, is refused and dead-lettered.",
    )
    async def on_notice(event: NoticeReceived) -> None:
        await handlers.on_notice(client(), db, event)

    register_requests(broker, db)


def register_requests(broker: NatsBroker, db: Database) -> None:
    """Core NATS request/reply: other services ask which units an enterprise has."""

    @broker.subscriber(
        subjects.WORKFLOW_UNITS,
        title="workflow/units (request/reply)",
        description="Request: UnitLookupRequest (a USCC). Reply: UnitLookupReply, the enterprise's units with "
        "their designation, district and state (from the projection). Intake asks before it accepts a notice.",
    )
    async def on_units(body: UnitLookupRequest) -> UnitLookupReply:
        return await lookup.answer(db, body)
