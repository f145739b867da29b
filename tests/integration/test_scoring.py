"""Scoring against real NATS and a real database: the engine in a worker process, crash and all."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.envelope import Actor
from contracts.evaluation import Evaluation
from contracts.messages import SubmissionReceived
from contracts.schemes import Scheme
from greenfab.messaging import make_broker, publish
from services.scoring.bootstrap import ScoringService
from services.scoring.domain.facts import InputError
from services.scoring.settings import ScoringSettings
from services.scoring.worker import EngineCrashed, EnginePool
from tests.conftest import SECRET
from tests.integration import crash
from tests.support.servers import Nats
from tests.support.streams import stream_messages

RULES = Path(__file__).resolve().parents[2] / "rules"


async def test_a_crashing_engine_fails_that_evaluation_and_keeps_serving() -> None:
    pool = EnginePool(RULES)
    try:
        with pytest.raises(EngineCrashed, match="crashed twice"):
            await pool.evaluate(Scheme.GRADING, date(2025, 10, 8), {}, fn=crash.die)
        result = await pool.evaluate(Scheme.GRADING, date(2025, 10, 8), {"plot_ratio": 2, "plot_ratio_requirement": 1})
        assert next(i for i in result.items if i.id == "GR-1").points == 2
    finally:
        pool.close()


async def test_a_crash_in_a_batch_fails_only_the_evaluation_that_crashed() -> None:
    """Concurrent evaluations go to the worker in one batch; one that kills it fails alone, the rest are scored,
    and a refusal answers only its own call."""
    pool = EnginePool(RULES)
    on = date(2025, 10, 8)
    good = {"plot_ratio": 2, "plot_ratio_requirement": 1}
    try:
        await pool.warm_up()
        calls = [pool.evaluate(Scheme.GRADING, on, dict(good), fn=crash.die_on_marker) for _ in range(6)]
        calls.insert(2, pool.evaluate(Scheme.GRADING, on, {**good, "crash": True}, fn=crash.die_on_marker))
        calls.insert(4, pool.evaluate(Scheme.GRADING, on, {**good, "plot_ratio": "lots"}, fn=crash.die_on_marker))
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(results[2], EngineCrashed)
        assert isinstance(results[4], InputError) and results[4].field == "plot_ratio"
        scored = [r for i, r in enumerate(results) if i not in (2, 4)]
        assert len(scored) == 6
        assert all(isinstance(r, Evaluation) and r.items[0].id == "GR-1" and r.items[0].points == 2 for r in scored)
    finally:
        pool.close()


def submission(n: int, data: dict[str, Any]) -> SubmissionReceived:
    return SubmissionReceived(
        id=f"msg-{n}",
        correlation_id=f"corr-{n}",
        actor=Actor(role="enterprise", subject="91110115MA04C2UX1E", scope="91110115MA04C2UX1E"),
        submission_id=f"sub-{n}",
        scheme=Scheme.GRADING,
        uscc="91110115MA04C2UX1E",
        enterprise_name="北京示例新能源科技有限公司",
        district="大兴区",
        declared_on=date(2025, 10, 8),
        data=data,
    )


async def evaluations(nats: Nats, expected: int) -> list[dict[str, Any]]:
    return await stream_messages(nats.url, subjects.EVALUATIONS.name, at_least=expected)


async def test_scoring_answers_each_submission_once_with_a_named_error_for_bad_input(
    nats: Nats, database_url: str
) -> None:
    service = ScoringService(
        ScoringSettings(nats_url=nats.url, database_url=database_url, auth_secret=SECRET, http_port=0)
    )
    await service.start()
    try:
        broker = make_broker([nats.url], "test", 5)
        await broker.connect()
        await publish(
            broker, subjects.SUBMISSION_RECEIVED, submission(1, {"plot_ratio": 1.5, "plot_ratio_requirement": 1})
        )
        await publish(
            broker, subjects.SUBMISSION_RECEIVED, submission(2, {"plot_ratio": "lots", "plot_ratio_requirement": 1})
        )
        # A redelivery of the first (same business id, new message id) republishes the stored answer.
        again = submission(1, {"plot_ratio": 1.5, "plot_ratio_requirement": 1}).model_copy(update={"id": "msg-1-again"})
        await publish(broker, subjects.SUBMISSION_RECEIVED, again)
        await broker.stop()
        answers = await evaluations(nats, 2)
    finally:
        await service.stop()
    assert len(answers) == 2, "the redelivered submission must not produce a second evaluation message"
    by_sub = {a["submission_id"]: a for a in answers}
    good = by_sub["sub-1"]
    assert good["id"] == "evaluation-sub-1" and good["correlation_id"] == "corr-1"
    # D-FLOOR: half the points at the requirement, linear to full at 2×: 1.5× scores 1.5 of 2.
    assert next(i for i in good["evaluation"]["items"] if i["id"] == "GR-1")["points"] == "1.50"
    bad = by_sub["sub-2"]
    assert bad["evaluation"] is None and "plot_ratio" in bad["error"]
