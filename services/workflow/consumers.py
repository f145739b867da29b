"""The workflow service's NATS subscriber: scoring's answers start or signal unit workflows."""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker
from temporalio.client import Client

from contracts import subjects
from contracts.messages import DeadlineDue, EvaluationCompleted, UnitChanged
from greenfab.messaging import durable_subscription, stream_ref
from services.workflow import handlers
from services.workflow.model import Deadline


def register(
    broker: NatsBroker,
    client: Callable[[], Client],
    task_queue: str,
    deadlines: dict[str, Deadline],
    max_deliveries: int,
) -> None:
    """``client`` gives the Temporal client, which exists only once the service has started."""
    for subject, schema, what in (
        (subjects.UNIT_CHANGED, UnitChanged, "Every transition of a unit's lifecycle, with its reason and clause."),
        (subjects.DEADLINE_DUE, DeadlineDue, "A lifecycle deadline fell due."),
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
        await handlers.on_evaluation(client(), task_queue, deadlines, event)
