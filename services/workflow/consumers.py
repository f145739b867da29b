"""The workflow service's NATS subscribers: evaluations and notices start or signal unit workflows."""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker, PullSub
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
from contracts.schemes import SCHEME_DESIGNATION, workflow_id
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from greenfab.messaging import durable_subscription, stream_ref
from services.workflow import handlers
from services.workflow.domain.policy import Policy
from services.workflow.staff import lookup
from services.workflow.unit_order import UnitLocks


def register(
    broker: NatsBroker,
    db: Database,
    client: Callable[[], Client],
    task_queue: str,
    policy: Policy,
    max_deliveries: int,
    evaluation_workers: int = 64,
) -> None:
    """``client`` gives the Temporal client, which exists only once the service has started;
    ``evaluation_workers`` bounds the evaluations handed to Temporal at once."""
    for subject, schema, what in (
        (subjects.UNIT_CHANGED, UnitChanged, "Every step of a unit's lifecycle: actor, reason and clause."),
        (subjects.DEADLINE_EVENTS, DeadlineEvent, "deadline.upcoming (7 and 1 days before), .due, .missed."),
        (subjects.TASK_EVENTS, TaskEvent, "task.opened, .claimed, .released, .escalated, .closed, .cancelled."),
    ):
        broker.publisher(
            subject, stream=stream_ref(subject), schema=schema, title=f"workflow/{subject}", description=what
        )

    units = UnitLocks()
    copies = GroupCommit(db, handlers.keep_copies)

    # Concurrent, not a batch: faststream's batch consumer fetches 16 and waits for all 16 before it fetches
    # again, so one slow Temporal start held the other 15 (4-6 starts/s under load, bench/FINDINGS.md 2.2).
    # Each message is still acked only after its handler returned, i.e. after Temporal recorded it.
    @broker.subscriber(
        **durable_subscription(subjects.EVALUATION_COMPLETED, subjects.CONSUMER_WORKFLOW_EVALUATIONS, max_deliveries)
        | {"max_workers": evaluation_workers, "pull_sub": PullSub(batch_size=min(evaluation_workers, 32), timeout=1.0)},
        title="workflow/evaluation.completed",
        description="Starts the unit's lifecycle workflow (id from USCC and designation) with the evaluation in "
        "its input, or signals it if it runs; many units at once, one message at a time per unit.",
    )
    async def on_evaluation(event: EvaluationCompleted) -> None:
        # Taken before any await, so messages about one unit reach its workflow in delivery order.
        async with units.hold(workflow_id(event.uscc, SCHEME_DESIGNATION[event.scheme])):
            await handlers.on_evaluation(client(), db, task_queue, policy, event, copies)

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
