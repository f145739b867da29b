"""Scoring's NATS subscriber."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsBroker
from pydantic import ValidationError

from contracts import subjects
from contracts.evaluation import EvaluationHead
from contracts.messages import (
    DeadLettered,
    EvaluationCompleted,
    RescoreReply,
    RescoreRequest,
    RulebookPublished,
    SubmissionReceived,
)
from greenfab.db import Database
from greenfab.messaging import DeadLetterHooks, durable_subscription, publish, publish_json, stream_ref
from services.scoring import handlers
from services.scoring.rulebooks import Rulebooks
from services.scoring.worker import EnginePool


def register(
    broker: NatsBroker,
    db: Database,
    pool: EnginePool,
    max_deliveries: int,
    dead_letters: DeadLetterHooks,
    rules: Rulebooks | None = None,
) -> Callable[[RulebookPublished], Awaitable[None]]:
    """Subscribe scoring's handlers; returns how to announce a published rulebook edition."""
    broker.publisher(
        subjects.EVALUATION_COMPLETED,
        stream=stream_ref(subjects.EVALUATION_COMPLETED),
        schema=EvaluationCompleted,
        title="scoring/evaluation.completed",
        description="A declaration's evaluation, or why it could not be scored.",
    )

    broker.publisher(
        subjects.RULEBOOK_PUBLISHED,
        stream=stream_ref(subjects.RULEBOOK_PUBLISHED),
        schema=RulebookPublished,
        title="scoring/evaluation.rulebook.published",
        description="The bureau published a rulebook edition (who, why, version); the audit service records it.",
    )

    async def _publish(event: handlers.Announcement) -> None:
        await publish_json(broker, subjects.EVALUATION_COMPLETED, event.body, event.id, event.correlation_id)

    async def _announce(event: RulebookPublished) -> None:
        await publish(broker, subjects.RULEBOOK_PUBLISHED, event)

    async def _keep(evaluation: EvaluationHead) -> None:
        if rules is not None:
            await rules.keep(db, evaluation)

    @broker.subscriber(
        **durable_subscription(subjects.SUBMISSION_RECEIVED, subjects.CONSUMER_SCORING_SUBMISSIONS, max_deliveries),
        title="scoring/submission.received",
        description="Scores each declaration once against the rulebook in force on its date.",
    )
    async def on_submission(event: SubmissionReceived) -> None:
        await handlers.score_submission(db, pool, event, _publish, _keep)

    async def submission_failed(letter: DeadLettered) -> str | None:
        # Whatever made every try fail (the engine, a bug, bad data), the declaration is answered as failed.
        try:
            event = SubmissionReceived.model_validate_json(letter.data)
        except ValidationError:
            return None  # not a submission at all: nothing to mark; staff see the dead letter
        tries = letter.deliveries
        reason = f"评价失败：重试 {tries} 次均出错 / scoring failed after {tries} tries: {letter.error[:300]}"
        await handlers.fail_submission(db, event, reason, _publish)
        return f"declaration {event.submission_id}"

    dead_letters[subjects.CONSUMER_SCORING_SUBMISSIONS] = submission_failed

    @broker.subscriber(
        subjects.SCORING_RESCORE,
        title="scoring/rescore (request/reply)",
        description="Request: RescoreRequest (a stored declaration, experts' points). Reply: RescoreReply.",
    )
    async def on_rescore(body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = RescoreRequest.model_validate(body)
        except ValidationError as exc:
            return RescoreReply(error=f"invalid request: {exc}").model_dump(mode="json")
        return (await handlers.rescore(db, pool, request)).model_dump(mode="json")

    return _announce
