"""Intake's NATS subscribers: scoring's answers are attached to their declarations."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from pydantic import ValidationError

from contracts import subjects
from contracts.http import DeclareReply, DeclareRequest, Problem, StatusRequest
from contracts.messages import DeadLettered, EvaluationCompleted
from greenfab.auth import AuthError, can_read_enterprise, read_token
from greenfab.bodies import BodyError, parse_json
from greenfab.db import Database
from greenfab.group_commit import GroupCommit
from greenfab.http import ProblemError, field_errors
from greenfab.messaging import DeadLetterHooks, durable_subscription
from services.intake import handlers
from services.intake.submissions import Submissions

log = logging.getLogger(__name__)
M = TypeVar("M", DeclareRequest, StatusRequest)


def register(broker: NatsBroker, db: Database, max_deliveries: int, dead_letters: DeadLetterHooks) -> None:
    # The evaluations a fetch delivers are attached in one transaction; each is acked after it.
    evaluations = GroupCommit(db, handlers.record_evaluations)

    @broker.subscriber(
        **durable_subscription(subjects.EVALUATION_COMPLETED, subjects.CONSUMER_INTAKE_EVALUATIONS, max_deliveries),
        title="intake/evaluation.completed",
        description="Stores scoring's answer with its declaration so GET returns it.",
        decoder=_evaluation,
    )
    async def on_evaluation(event: EvaluationCompleted) -> None:
        # A ReceivedEvaluation (the decoder's): pydantic passes an instance through without validating it again.
        await evaluations(cast("handlers.ReceivedEvaluation", event))

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


def register_requests(broker: NatsBroker, db: Database, submissions: Submissions, secret: str) -> None:
    """Core NATS request/reply: any front end declares over NATS and reads the result back, with the HTTP API's
    answers (the request and reply bodies are in contracts.requests, and so in the AsyncAPI document)."""

    @broker.subscriber(
        subjects.INTAKE_DECLARE,
        title="intake/declare",
        description="Request: DeclareRequest (token, declaration | scheme + form). Reply: DeclareReply, always: "
        "a body that is not JSON gets the 400 problem, NaN or Infinity a 422 naming the field.",
        decoder=_raw,
    )
    async def on_declare(body: bytes) -> dict[str, Any]:
        return await _always_answered("declare", declare(submissions, secret, body))

    @broker.subscriber(
        subjects.INTAKE_STATUS,
        title="intake/status",
        description="Request: StatusRequest (token, declaration_id). Reply: DeclareReply, as GET "
        "/v1/declarations/{id} answers: 200 with the declaration and, once scored, its evaluation; 404 for one "
        "absent or not the caller's.",
        decoder=_raw,
    )
    async def on_status(body: bytes) -> dict[str, Any]:
        return await _always_answered("status", status(db, secret, body))


async def _always_answered(what: str, work: Awaitable[DeclareReply]) -> dict[str, Any]:
    """The reply as JSON; an unexpected failure is answered 500, since the caller must get an answer, never a
    timeout."""
    try:
        reply = await work
    except Exception:
        log.exception("%s over NATS failed", what)
        reply = DeclareReply(status=500, problem=Problem(status=500, title="服务器内部错误 / Internal error"))
    return reply.model_dump(mode="json")


async def _evaluation(msg: StreamMessage[Any]) -> handlers.ReceivedEvaluation:
    """The evaluation.completed's head read and its evaluation's text kept, not read (handlers.ReceivedEvaluation)."""
    return handlers.ReceivedEvaluation.read(bytes(msg.body))


async def _raw(msg: StreamMessage[Any]) -> bytes:
    """The request's bytes as sent: parsed by greenfab.bodies, like an HTTP body, not by the broker."""
    return bytes(msg.body)


def _refused(problem: Problem) -> DeclareReply:
    return DeclareReply(status=problem.status, problem=problem)


def _request(model: type[M], raw: bytes) -> M | DeclareReply:
    """``raw`` parsed as ``model`` (strict JSON, like an HTTP body), or the refusal naming what is wrong."""
    try:
        return model.model_validate(parse_json(raw))
    except BodyError as exc:
        return _refused(exc.problem)
    except ValidationError as exc:
        errors = field_errors(list(exc.errors()))
        return _refused(Problem(status=422, title="请求内容有误 / Invalid request", errors=errors))


async def status(db: Database, secret: str, raw: bytes) -> DeclareReply:
    request = _request(StatusRequest, raw)
    if isinstance(request, DeclareReply):
        return request
    try:
        who = read_token(secret, f"Bearer {request.token}")
    except AuthError as exc:
        return _refused(Problem(status=exc.status, title=exc.message_zh, detail=exc.message_en))
    row = await handlers.get_declaration(db, request.declaration_id)
    if row is None or not can_read_enterprise(who, row.uscc, row.district):
        # As over HTTP: the same answer for "absent" and "not yours", so ids cannot be probed.
        detail = f"no declaration {request.declaration_id} visible to you"
        return _refused(Problem(status=404, title="未找到该申报 / Not found", detail=detail))
    return DeclareReply(status=200, declaration=handlers.to_public(row))


async def declare(submissions: Submissions, secret: str, raw: bytes) -> DeclareReply:
    request = _request(DeclareRequest, raw)
    if isinstance(request, DeclareReply):
        return request
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
