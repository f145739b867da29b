"""Audit's NATS subscribers: every stored subject except the dead letters, each message onto the chain."""

from __future__ import annotations

from typing import Any

from faststream.nats import NatsBroker

from contracts import subjects
from greenfab.messaging import durable_subscription
from services.audit.handlers import Chain

FEEDS = (
    (f"{subjects.PREFIX}.submission.>", subjects.CONSUMER_AUDIT_SUBMISSIONS, "declarations and notices accepted"),
    (f"{subjects.PREFIX}.evaluation.>", subjects.CONSUMER_AUDIT_EVALUATIONS, "evaluations (rulebook, input hash)"),
    (subjects.UNIT_CHANGED, subjects.CONSUMER_AUDIT_UNITS, "every lifecycle step (actor, reason, clause)"),
    (subjects.TASK_EVENTS, subjects.CONSUMER_AUDIT_TASKS, "staff tasks and their decisions"),
    (subjects.DEADLINE_EVENTS, subjects.CONSUMER_AUDIT_DEADLINES, "deadlines approaching, due and missed"),
)


def register(broker: NatsBroker, chain: Chain, max_deliveries: int) -> None:
    for subject, durable, what in FEEDS:

        async def on_message(message: dict[str, Any]) -> None:
            await chain.append(message)

        options = durable_subscription(subject, durable, max_deliveries)
        broker.subscriber(**options, title=f"audit/{durable}", description=f"Records {what}.")(on_message)
