"""Scoring's use cases: evaluate a received declaration once, store it, announce it; rescore with experts' points."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any, cast

from pydantic import ValidationError

from contracts.envelope import Actor
from contracts.evaluation import Evaluation, EvaluationHead
from contracts.messages import EvaluationCompleted, RescoreReply, RescoreRequest, SubmissionReceived
from contracts.schemes import Scheme
from greenfab.db import Database, JSONText
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import UnknownEdition
from services.scoring.tables import StoredEvaluation
from services.scoring.worker import EngineCrashed, EnginePool

log = logging.getLogger(__name__)

ACTOR = Actor(role="system", subject="scoring")


class Announcement:
    """An evaluation.completed message as it is published: its JSON, with the evaluation in it as the engine's
    worker wrote it. The service stores and forwards an evaluation without reading it (reading and writing it
    again cost the service's process up to 1.5 ms per green-factory evaluation, which its workers cannot share);
    ``message`` reads it when someone asks."""

    def __init__(self, head: EvaluationCompleted, evaluation_json: str | bytes | None) -> None:
        self.id = head.id
        self.correlation_id = head.correlation_id
        text = head.model_dump_json(exclude={"evaluation"})
        evaluation = evaluation_json.encode() if isinstance(evaluation_json, str) else evaluation_json
        self.body = f'{text[:-1]},"evaluation":'.encode() + (evaluation or b"null") + b"}"

    @cached_property
    def message(self) -> EvaluationCompleted:
        return EvaluationCompleted.model_validate_json(self.body)

    @property
    def evaluation(self) -> Evaluation | None:
        return self.message.evaluation


Publish = Callable[[Announcement], Awaitable[None]]


def head_of(text: str | bytes) -> EvaluationHead:
    """What scored an evaluation, read from the fields before its items: the worker writes the Evaluation's fields
    in order, so they come first, and ``,"items":`` cannot occur inside a JSON string (its quote would be
    escaped). Reading the items too cost 85 µs for a green-factory evaluation."""
    if isinstance(text, bytes):
        end = text.find(b',"items":')
        return EvaluationHead.model_validate_json(text[:end] + b"}" if end > 0 else text)
    end = text.find(',"items":')
    return EvaluationHead.model_validate_json(text[:end] + "}" if end > 0 else text)


async def _evaluate(
    pool: EnginePool, event: SubmissionReceived
) -> tuple[bytes | None, EvaluationHead | None, str | None]:
    """The worker's JSON of the evaluation (UTF-8 bytes, as it sent them) and what scored it (read off them), or
    why there is none."""
    try:
        text = await pool.evaluate_json(event.scheme, event.declared_on, event.data)
        return text, head_of(text), None
    except InputError as exc:
        return None, None, f"输入有误：{exc.message_zh} / invalid input: {exc}"
    except UnknownEdition as exc:
        return None, None, f"无适用的评价规则 / no rulebook: {exc}"
    except ValidationError as exc:
        return None, None, f"评价结果无效 / invalid result: {exc}"
    except EngineCrashed as exc:
        return None, None, f"规则引擎故障 / engine crashed: {exc}"


async def score_submission(
    db: Database,
    pool: EnginePool,
    event: SubmissionReceived,
    publish: Publish,
    keep_version: Callable[[EvaluationHead], Awaitable[None]] | None = None,
) -> Announcement:
    """Score once per submission id; a redelivery republishes the stored answer with the same message id.

    ``keep_version`` stores what the evaluation's rulebook version hashes, so it can be replayed exactly.
    """
    async with db.session() as s:
        stored = await s.get(StoredEvaluation, event.submission_id)
    if stored is not None:
        # Read and written again: a row stored by an older service gets the fields added since, as before.
        again = Evaluation.model_validate(stored.result).model_dump_json() if stored.result else None
        return await _announce(event, again, stored.error, publish)
    text, head, error = await _evaluate(pool, event)
    stored = StoredEvaluation(
        submission_id=event.submission_id,
        scheme=event.scheme.value,
        uscc=event.uscc,
        # The worker's JSON goes into the JSON column as it is (greenfab.db.JSONText), not parsed and re-encoded:
        # decoded once, for the column; the message is sent the worker's bytes as they are.
        result=cast("dict[str, Any]", JSONText(text.decode())) if text is not None else None,
        error=error,
        rulebook_version=head.rulebook_version if head else None,
        declared_on=event.declared_on,
        data=event.data,
        district=event.district,
        enterprise_name=event.enterprise_name,
    )
    if head is not None and keep_version is not None:
        await keep_version(head)
    async with db.session() as s:
        s.add(stored)
        await s.commit()
    if error:
        log.warning("declaration %s not scored: %s", event.submission_id, error)
    return await _announce(event, text, error, publish)


async def fail_submission(db: Database, event: SubmissionReceived, reason: str, publish: Publish) -> Announcement:
    """A submission scoring gave up on: answered as failed with ``reason`` (unless an answer is already stored,
    which is announced again), so its declaration and unit show the failure instead of waiting for ever."""
    async with db.session() as s:
        stored = await s.get(StoredEvaluation, event.submission_id)
        if stored is None:
            stored = StoredEvaluation(
                submission_id=event.submission_id,
                scheme=event.scheme.value,
                uscc=event.uscc,
                error=reason,
                declared_on=event.declared_on,
                data=event.data,
            )
            s.add(stored)
            await s.commit()
    text = Evaluation.model_validate(stored.result).model_dump_json() if stored.result else None
    return await _announce(event, text, stored.error, publish)


async def _announce(
    event: SubmissionReceived, evaluation_json: str | bytes | None, error: str | None, publish: Publish
) -> Announcement:
    head = EvaluationCompleted(
        id=f"evaluation-{event.submission_id}",
        correlation_id=event.correlation_id,
        actor=ACTOR,
        submission_id=event.submission_id,
        scheme=event.scheme,
        uscc=event.uscc,
        enterprise_name=event.enterprise_name,
        district=event.district,
        evaluation=None,
        error=error,
        evaluator_uscc=evaluator if isinstance(evaluator := event.data.get("evaluator_uscc"), str) else None,
        submitted_at=event.occurred_at,
    )
    answer = Announcement(head, evaluation_json)
    await publish(answer)
    return answer


async def rescore(db: Database, pool: EnginePool, request: RescoreRequest) -> RescoreReply:
    """The stored declaration scored again with the experts' points (the stored answer is not changed)."""
    async with db.session() as s:
        stored = await s.get(StoredEvaluation, request.submission_id)
    if stored is None or stored.data is None or stored.declared_on is None:
        return RescoreReply(error=f"no stored declaration {request.submission_id}")
    try:
        evaluation = await pool.evaluate(
            Scheme(stored.scheme), stored.declared_on, stored.data, expert_points=request.expert_points
        )
    except InputError as exc:
        return RescoreReply(error=f"输入有误：{exc.message_zh} / invalid input: {exc}")
    except EngineCrashed as exc:
        return RescoreReply(error=f"规则引擎故障 / engine crashed: {exc}")
    return RescoreReply(evaluation=evaluation)
