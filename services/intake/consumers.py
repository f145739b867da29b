"""Intake's NATS subscribers: scoring's answers are attached to their declarations."""

from __future__ import annotations

import logging
from typing import Any

from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from pydantic import ValidationError

from contracts import subjects
from contracts.http import DeclareReply, DeclareRequest, Problem
from contracts.messages import DeadLettered, EvaluationCompleted
from greenfab.auth import AuthError, read_token
from greenfab.bodies import BodyError, parse_json
from greenfab.db import Database
from greenfab.http import ProblemError, field_errors
from greenfab.messaging import DeadLetterHooks, durable_subscription
from services.intake import handlers
from services.intake.submissions import Submissions

log = logging.getLogger(__name__)


def register(broker: NatsBroker, db: Database, max_deliveries: int, dead_letters: DeadLetterHooks) -> None:
    @broker.subscriber(
        **durable_subscription(subjects.EVALUATION_COMPLETED, subjects.CONSUMER_INTAKE_EVALUATIONS, max_deliveries),
        title="intake/evaluation.completed",
        description="Stores scoring's answer with its declaration so GET returns it.",
    )
    async def on_evaluation(event: EvaluationCompleted) -> None:
        await handlers.record_evaluation(db, event)

    async def evaluation_failed(letter: DeadLettered) -> str | None:
        submission_id = _field(letter.data, "submission_id")
        reason = f"评价结果无法记录 / the evaluation could not be recorded: {letter.error[:300]}"
        if submission_id is None or not await handlers.mark_failed(db, submission_id, reason):
            return None
        return f"declaration {submission_id}"

    dead_letters[subjects.CONSUMER_INTAKE_EVALUATIONS] = evaluation_failed


def _field(data: str, name: str) -> str | None:
    try:
        value = parse_json(data)
    except BodyError:
        return None
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def register_requests(broker: NatsBroker, submissions: Submissions, secret: str) -> None:
    """Core NATS request/reply: any front end declares over NATS and gets the HTTP API's answer."""

    @broker.subscriber(
        subjects.INTAKE_DECLARE,
        title="intake/declare (request/reply)",
        description="Request: DeclareRequest (token, declaration | scheme + form). Reply: DeclareReply, always: "
        "a body that is not JSON gets the 400 problem, NaN or Infinity a 422 naming the field.",
        decoder=_raw,
    )
    async def on_declare(body: bytes) -> dict[str, Any]:
        try:
            reply = await declare(submissions, secret, body)
        except Exception:  # the caller must get an answer, never a timeout
            log.exception("declare over NATS failed")
            problem = Problem(status=500, title="服务器内部错误 / Internal error")
            reply = DeclareReply(status=500, problem=problem)
        return reply.model_dump(mode="json")


async def _raw(msg: StreamMessage[Any]) -> bytes:
    """The request's bytes as sent: parsed by greenfab.bodies, like an HTTP body, not by the broker."""
    return bytes(msg.body)


async def declare(submissions: Submissions, secret: str, raw: bytes) -> DeclareReply:
    try:
        body = parse_json(raw)
    except BodyError as exc:
        return DeclareReply(status=exc.problem.status, problem=exc.problem)
    try:
        request = DeclareRequest.model_validate(body)
    except ValidationError as exc:
        errors = field_errors(list(exc.errors()))
        return DeclareReply(
            status=422, problem=Problem(status=422, title="请求内容有误 / Invalid request", errors=errors)
        )
    try:
        who = read_token(secret, f"Bearer {request.token}")
        if request.form is not None and request.scheme is not None:
            answer, created = await submissions.declare_form(request.scheme, request.form, who, request.idempotency_key)
        elif request.declaration is not None:
            answer, created = await submissions.declare(request.declaration, who, request.idempotency_key)
        else:
            raise ProblemError(422, "请求内容有误 / Invalid request", "send `declaration`, or `scheme` with `form`")
    except AuthError as exc:
        return DeclareReply(
            status=exc.status, problem=Problem(status=exc.status, title=exc.message_zh, detail=exc.message_en)
        )
    except ProblemError as exc:
        return DeclareReply(status=exc.problem.status, problem=exc.problem)
    return DeclareReply(status=202 if created else 200, declaration=answer)
