"""Notify's NATS subscribers: each event becomes its deliveries, and the dispatcher is woken."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from faststream.nats import NatsBroker

from contracts import subjects
from contracts.envelope import Envelope
from contracts.messages import DeadLettered, DeadlineEvent, TaskEvent, UnitChanged
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from greenfab.messaging import durable_subscription
from services.notify import domain, handlers
from services.notify.domain import Draft, Links, Template


def register(
    broker: NatsBroker,
    db: Database,
    max_deliveries: int,
    templates: Mapping[str, Template],
    links: Links,
    wake: Callable[[], None],
) -> None:
    # Events handled at once share transactions (greenfab/group_commit.py); each is acked after its commit.
    events = GroupCommit(db, handlers.record_events)

    async def deliver(event: Envelope, drafts: list[Draft]) -> None:
        if await events(handlers.Event(event.id, drafts, event.model_dump(mode="json"))):
            wake()

    @broker.subscriber(
        **durable_subscription(subjects.UNIT_CHANGED, subjects.CONSUMER_NOTIFY_UNITS, max_deliveries),
        title="notify/unit.changed",
        description="Tells the enterprise of every change to its unit.",
    )
    async def on_unit_changed(event: UnitChanged) -> None:
        await deliver(event, domain.for_unit_changed(event, templates, links))

    @broker.subscriber(
        **durable_subscription(subjects.DEADLINE_EVENTS, subjects.CONSUMER_NOTIFY_DEADLINES, max_deliveries),
        title="notify/deadline",
        description="Reminds whoever must act (enterprise, district, bureau): before, on the day, when missed.",
    )
    async def on_deadline(event: DeadlineEvent) -> None:
        await deliver(event, domain.for_deadline(event, templates, links))

    @broker.subscriber(
        **durable_subscription(subjects.TASK_EVENTS, subjects.CONSUMER_NOTIFY_TASKS, max_deliveries),
        title="notify/task",
        description="Tells staff of a new task in their inbox, and the bureau of an escalated one.",
    )
    async def on_task(event: TaskEvent) -> None:
        await deliver(event, domain.for_task(event, templates, links))

    @broker.subscriber(
        **durable_subscription(subjects.DEAD_LETTERS_ALL, subjects.CONSUMER_NOTIFY_DEAD_LETTERS, max_deliveries),
        title="notify/deadletter",
        description="Tells the bureau of every message that failed every try, and what was marked failed.",
    )
    async def on_dead_letter(event: DeadLettered) -> None:
        await deliver(event, domain.for_dead_letter(event, links, templates))
