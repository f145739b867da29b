"""Scoring's use cases: evaluate a received declaration once, store it, announce it; rescore with experts' points."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.messages import EvaluationCompleted, RescoreReply, RescoreRequest, SubmissionReceived
from contracts.schemes import Scheme
from greenfab.db import Database
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import UnknownEdition
from services.scoring.tables import StoredEvaluation
from services.scoring.worker import EngineCrashed, EnginePool

log = logging.getLogger(__name__)

ACTOR = Actor(role="system", subject="scoring")


async def _evaluate(pool: EnginePool, event: SubmissionReceived) -> tuple[Evaluation | None, str | None]:
    try:
        return await pool.evaluate(event.scheme, event.declared_on, event.data), None
    except InputError as exc:
        return None, f"输入有误：{exc.message_zh} / invalid input: {exc}"
    except UnknownEdition as exc:
        return None, f"无适用的评价规则 / no rulebook: {exc}"
    except ValidationError as exc:
        return None, f"评价结果无效 / invalid result: {exc}"
    except EngineCrashed as exc:
        return None, f"规则引擎故障 / engine crashed: {exc}"


async def score_submission(
    db: Database,
    pool: EnginePool,
    event: SubmissionReceived,
    publish: Callable[[EvaluationCompleted], Awaitable[None]],
    keep_version: Callable[[Evaluation], Awaitable[None]] | None = None,
) -> EvaluationCompleted:
    """Score once per submission id; a redelivery republishes the stored answer with the same message id.

    ``keep_version`` stores what the evaluation's rulebook version hashes, so it can be replayed exactly.
    """
    async with db.session() as s:
        stored = await s.get(StoredEvaluation, event.submission_id)
    if stored is None:
        evaluation, error = await _evaluate(pool, event)
        stored = StoredEvaluation(
            submission_id=event.submission_id,
            scheme=event.scheme.value,
            uscc=event.uscc,
            result=evaluation.model_dump(mode="json") if evaluation else None,
            error=error,
            rulebook_version=evaluation.rulebook_version if evaluation else None,
            declared_on=event.declared_on,
            data=event.data,
            district=event.district,
            enterprise_name=event.enterprise_name,
        )
        if evaluation is not None and keep_version is not None:
            await keep_version(evaluation)
        async with db.session() as s:
            s.add(stored)
            await s.commit()
        if error:
            log.warning("declaration %s not scored: %s", event.submission_id, error)
    return await _announce(event, stored, publish)


async def fail_submission(
    db: Database, event: SubmissionReceived, reason: str, publish: Callable[[EvaluationCompleted], Awaitable[None]]
) -> EvaluationCompleted:
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
    return await _announce(event, stored, publish)


async def _announce(
    event: SubmissionReceived, stored: StoredEvaluation, publish: Callable[[EvaluationCompleted], Awaitable[None]]
) -> EvaluationCompleted:
    answer = EvaluationCompleted(
        id=f"evaluation-{event.submission_id}",
        correlation_id=event.correlation_id,
        actor=ACTOR,
        submission_id=event.submission_id,
        scheme=event.scheme,
        uscc=event.uscc,
        enterprise_name=event.enterprise_name,
        district=event.district,
        evaluation=Evaluation.model_validate(stored.result) if stored.result else None,
        error=stored.error,
        evaluator_uscc=evaluator if isinstance(evaluator := event.data.get("evaluator_uscc"), str) else None,
    )
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
        return RescoreReply(error=f"输入有误 / invalid input: {exc}")
    except EngineCrashed as exc:
        return RescoreReply(error=f"规则引擎故障 / engine crashed: {exc}")
    return RescoreReply(evaluation=evaluation)
