"""Notify's NATS subscribers."""

from __future__ import annotations

from faststream.nats import NatsBroker

from contracts import subjects
from contracts.messages import DeadlineEvent, UnitChanged
from greenfab.db import Database
from greenfab.messaging import durable_subscription
from services.notify import domain, handlers


def register(broker: NatsBroker, db: Database, max_deliveries: int) -> None:
    @broker.subscriber(
        **durable_subscription(subjects.UNIT_CHANGED, subjects.CONSUMER_NOTIFY_UNITS, max_deliveries),
        title="notify/unit.changed",
        description="Tells the enterprise of every change to its unit.",
    )
    async def on_unit_changed(event: UnitChanged) -> None:
        await handlers.record(db, event.id, domain.for_unit_changed(event))

    @broker.subscriber(
        **durable_subscription(subjects.DEADLINE_EVENTS, subjects.CONSUMER_NOTIFY_DEADLINES, max_deliveries),
        title="notify/deadline",
        description="Reminds whoever must act (enterprise, district, bureau): before, on the day, when missed.",
    )
    async def on_deadline(event: DeadlineEvent) -> None:
        await handlers.record(db, event.id, domain.for_deadline(event))
