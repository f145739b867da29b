"""Intake's NATS subscribers: scoring's answers are attached to their declarations."""

from __future__ import annotations

from faststream.nats import NatsBroker

from contracts import subjects
from contracts.messages import EvaluationCompleted
from greenfab.db import Database
from greenfab.messaging import durable_subscription
from services.intake import handlers


def register(broker: NatsBroker, db: Database, max_deliveries: int) -> None:
    @broker.subscriber(
        **durable_subscription(subjects.EVALUATION_COMPLETED, subjects.CONSUMER_INTAKE_EVALUATIONS, max_deliveries),
        title="intake/evaluation.completed",
        description="Stores scoring's answer with its declaration so GET returns it.",
    )
    async def on_evaluation(event: EvaluationCompleted) -> None:
        await handlers.record_evaluation(db, event)
