"""Results people can trust, on Temporal's time-skipping server (issue 11, D-HOLD).

A half-filled declaration never replaces a published grade: a result with missing inputs goes back
to the enterprise, one awaiting experts is held until they score, and a result without a level says
the true reason (the veto by clause).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.testing import WorkflowEnvironment

from contracts.messages import SubmissionReceived
from contracts.schemes import Designation, Scheme
from greenfab.db import Database, create_tables, make_engine
from greenfab.messaging import ensure_streams, make_broker, request
from services.scoring import consumers as scoring_consumers
from services.scoring import handlers as scoring_handlers
from services.scoring.tables import ScoringBase
from services.scoring.worker import EnginePool
from services.workflow.domain.state import EvaluationFacts, ExpertItem
from tests.support.lifecycle import DISTRICT_STAFF, EXPERT, Bench, bench, enterprise, facts, veto
from tests.support.servers import Nats

ROOT = Path(__file__).resolve().parents[2]
USCC = "91110115MA04C2UX1E"
MISSING = [f"GR-{n}（input_{n}）" for n in range(3, 22)]  # 19 items, as in the workbook that was half filled


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path) -> AsyncIterator[Bench]:
    async with bench(env, nats, tmp_path) as the_bench:
        yield the_bench


def grading(submission_id: str, **overrides: Any) -> EvaluationFacts:
    return facts(submission_id, call=None, passed=None, **overrides)


async def test_a_half_filled_grading_never_replaces_the_published_grade(b: Bench) -> None:
    unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=grading("g-1", level=3, total="74.0"))
    s = await unit.wait_state("graded")
    assert s.level == 3 and s.graded_on is not None
    await unit.evaluate(grading("g-2", level=None, total="21.5", provisional=True, missing_items=MISSING))
    s = await unit.wait(lambda s: len(s.history) == 2, "the return")
    returned = s.history[-1]
    assert s.state == "graded" and s.level == 3, "the published grade stands"
    assert "缺少输入" in returned.reason and "GR-21（input_21）" in returned.reason and "保持不变" in returned.reason
    assert "否决" not in returned.reason
    assert returned.submission_id == "g-2" and "D-HOLD" in returned.clause
    events = [e for e in await b.events(unit.handle.id) if e["type"] == "unit.changed"]
    assert [e["state"] for e in events] == ["graded", "graded"]


async def test_a_first_half_filled_grading_is_returned_unpublished(b: Bench) -> None:
    ev = grading("g-1", level=None, total="21.5", provisional=True, missing_items=MISSING)
    unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=ev)
    s = await unit.wait_state("returned")
    assert s.level is None and s.graded_on is None
    await unit.evaluate(grading("g-2", level=3, total="74.0"))
    s = await unit.wait_state("graded")
    assert s.level == 3


async def test_a_vetoed_grading_publishes_no_level_and_names_the_clause(b: Bench) -> None:
    unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=grading("g-1", level=3, total="74.0"))
    await unit.wait_state("graded")
    vetoed = grading("g-2", level=None, total="74.0", vetoes=[veto("dishonest_debtor", "003 第十一条（六）")])
    await unit.evaluate(vetoed)
    s = await unit.wait(lambda s: len(s.history) == 2, "the new grade")
    assert s.level is None and s.state == "graded"
    assert "无等级（否决：003 第十一条（六）" in s.history[-1].reason


async def test_a_title_declaration_with_missing_inputs_goes_back_to_the_enterprise(b: Bench) -> None:
    half = facts("sub-1", total="40.0", passed=None, provisional=True, missing_items=["GF-6-1（land_area）"])
    unit = await b.start(USCC, Designation.MUNICIPAL_GREEN_FACTORY, first=half)
    s = await unit.wait_state("returned")
    assert not [t for t in s.tasks if t.active], "no district is asked to recommend a half-filled declaration"
    assert "GF-6-1（land_area）" in s.history[-1].reason
    await unit.evaluate(facts("sub-2"))
    await unit.wait_state("awaiting_recommendation")
    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await unit.wait_state("under_review")


async def test_a_grading_awaiting_experts_is_held_until_they_score_then_published(
    env: WorkflowEnvironment, nats: Nats, tmp_path: Path
) -> None:
    """Real scoring: an industry without benchmarks sends the industry items to experts (D-IND)."""
    example = json.loads((ROOT / "examples" / "grading-declaration.json").read_text(encoding="utf-8"))
    data = {**example["data"], "industry_code": "C9999"}
    pool = EnginePool(ROOT / "rules")
    scoring_db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}"))
    await create_tables(scoring_db.engine, ScoringBase.metadata)
    broker = make_broker([nats.url], "test-scoring-grading", 5)
    scoring_consumers.register(broker, scoring_db, pool, 5, {})
    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    received = SubmissionReceived(
        id="msg-gr", correlation_id="corr-gr", actor=enterprise(USCC), submission_id="sub-gr",
        scheme=Scheme.GRADING, uscc=USCC, enterprise_name=example["enterprise_name"],
        district="大兴区", declared_on=date.fromisoformat(example["declared_on"]), data=data,
    )  # fmt: skip

    async def no_publish(_: scoring_handlers.Announcement) -> None:
        return None

    async def ask_scoring(subject: str, body: BaseModel) -> dict[str, Any]:
        return await request(broker, subject, body)

    scored = await scoring_handlers.score_submission(scoring_db, pool, received, no_publish)
    evaluation = scored.evaluation
    assert evaluation is not None and evaluation.level is None and evaluation.verdict_zh
    assert scored.message.submitted_at == received.occurred_at, "D-LATEST orders by when intake accepted it"
    pending = [i for i in evaluation.items if i.status == "needs_expert"]
    assert [i.id for i in pending] == ["GR-3", "GR-5", "GR-6", "GR-7", "GR-8", "GR-10", "GR-11", "GR-12"]
    try:
        async with bench(env, nats, tmp_path, ask_scoring) as b:
            ev = grading(
                "sub-gr", level=None, total=evaluation.total, provisional=True, verdict_zh=evaluation.verdict_zh,
                expert_items=[ExpertItem(id=i.id, name_zh=i.name_zh, max=i.max) for i in pending],
            )  # fmt: skip
            unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=ev)
            s = await unit.wait_state("expert_review")
            assert s.graded_on is None, "nothing is published while experts score"
            assert sorted(t.item.id for t in s.tasks if t.kind == "expert_score" and t.item) == sorted(
                i.id for i in pending
            )
            for item in pending:
                await unit.act("expert_score", "score", EXPERT, points=item.max * 4 / 5, reason="对标同行业核定")
            s = await unit.wait_state("graded")
            # 40.31 outside the industry items, and 80 % of their 49 points from the experts: 79.51.
            assert s.level == 3 and s.evaluation is not None and s.evaluation.total == Decimal("79.51")
            assert s.graded_on is not None
            assert "3级" in s.history[-1].reason
    finally:
        await broker.stop()
        await scoring_db.close()
        pool.close()


async def test_the_declaration_made_last_decides_whatever_order_its_evaluation_arrives_in(b: Bench) -> None:
    # D-LATEST: scoring finished the second declaration first; the first's evaluation arrives after it.
    from datetime import UTC, datetime, timedelta

    made = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    later = grading("g-2", level=3, total="74.0", submitted_at=made + timedelta(seconds=5))
    unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=later)
    s = await unit.wait_state("graded")
    assert s.level == 3
    await unit.evaluate(grading("g-1", level=4, total="86.0", submitted_at=made))
    s = await unit.wait(lambda s: len(s.history) == 2, "the earlier declaration recorded")
    assert s.state == "graded" and s.level == 3, "the later declaration's grade stands"
    superseded = s.history[-1]
    assert superseded.submission_id == "g-1" and "以最新申报为准" in superseded.reason
    assert "D-LATEST" in superseded.clause


async def test_a_declaration_under_another_name_leaves_the_units_name(b: Bench) -> None:
    # 003 第十四条: only a rename the district forwards changes the name on the published list.
    unit = await b.start(USCC, Designation.ANNUAL_GRADING, first=grading("n-1", level=3, total="74.0"))
    s = await unit.wait_state("graded")
    name = s.enterprise_name
    await unit.evaluate(grading("n-2", level=4, total="86.0", enterprise_name="北京别家新能源科技有限公司"))
    s = await unit.wait(lambda s: s.level == 4, "the second declaration graded")
    assert s.enterprise_name == name
    assert any(t.submission_id == "n-2" and "不一致" in t.reason for t in s.history)
