"""The lifecycle (003 chapters 3–4) end to end on Temporal's time-skipping server, real NATS and SQLite.

Each test drives a unit with signals and staff updates, skips days or years, and checks the
workflow's state, what it announced on JetStream, and the projections inboxes read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.messages import SubmissionReceived
from contracts.schemes import Designation, Scheme
from greenfab.db import Database, create_tables, make_engine
from greenfab.messaging import ensure_streams, make_broker, request
from services.scoring import consumers as scoring_consumers
from services.scoring import handlers as scoring_handlers
from services.scoring.tables import ScoringBase
from services.scoring.worker import EnginePool
from services.workflow.domain.policy import add_years
from services.workflow.tables import TaskProjection, UnitProjection
from tests.support.lifecycle import (
    BUREAU,
    DISTRICT,
    DISTRICT_STAFF,
    EXPERT,
    OTHER_DISTRICT,
    Bench,
    Unit,
    bench,
    enterprise,
    expert_item,
    facts,
    today,
    veto,
)
from tests.support.servers import Nats

ROOT = Path(__file__).resolve().parents[2]
USCC = "91110115MA04C2UX1E"
USCC_B = "91110108551385082Q"


@pytest.fixture
async def b(env: WorkflowEnvironment, nats: Nats, tmp_path: Path) -> AsyncIterator[Bench]:
    async with bench(env, nats, tmp_path) as the_bench:
        yield the_bench


async def refused(unit: Unit, code: str, kind: str, decision: str, actor: object, **extra: object) -> None:
    """The action is refused with ``code`` and the unit is unchanged."""
    before = await unit.state()
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await unit.act(kind, decision, actor, **extra)  # type: ignore[arg-type]
    assert err.value.cause is not None
    details = getattr(err.value.cause, "details", ())
    assert details and details[0]["code"] == code, details
    assert (await unit.state()) == before, "a refused action changes nothing"


async def listed_unit(b: Bench, uscc: str = USCC) -> Unit:
    unit = await b.start(uscc, auto_list=True)
    await unit.wait_state("listed")
    return unit


async def test_happy_path_declare_recommend_review_publicise_list(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    task = await unit.task("recommend")
    assert task.role == "district" and task.district == "大兴区" and task.due_at is not None

    await refused(unit, "wrong_district", "recommend", "recommend", OTHER_DISTRICT)
    await refused(unit, "wrong_role", "recommend", "recommend", BUREAU)
    await refused(unit, "wrong_role", "recommend", "recommend", enterprise(USCC))
    await refused(unit, "reason_required", "recommend", "decline", DISTRICT_STAFF)
    await refused(unit, "bad_decision", "recommend", "approve", DISTRICT_STAFF)

    claimed = await unit.claim(task.id, DISTRICT_STAFF)
    assert claimed.status == "claimed" and claimed.claimed_by == "daxing-wang"
    colleague = DISTRICT_STAFF.model_copy(update={"subject": "daxing-liu"})
    await refused(unit, "task_claimed", "recommend", "recommend", colleague)

    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await unit.wait_state("under_review")
    closed = next(t for t in (await unit.state()).tasks if t.id == task.id)
    with pytest.raises(WorkflowUpdateFailedError):
        await unit.claim(closed.id, DISTRICT_STAFF)  # a closed task cannot be claimed again

    await unit.act("review", "approve", BUREAU)
    s = await unit.wait_state("publicity")
    assert s.publicity_ends_on is not None and s.publicity_ends_on >= today() + timedelta(days=4)

    await b.skip(3)
    assert (await unit.state()).state == "publicity", "publicity lasts five working days"
    await b.skip(10)
    s = await unit.wait_state("listed")
    assert s.listed_on is not None

    states = [t.state for t in s.history]
    assert states == ["awaiting_recommendation", "under_review", "publicity", "listed"]
    assert [t.actor.role for t in s.history] == ["system", "district", "bureau", "system"]
    assert all(t.clause for t in s.history)

    events = await b.events(unit.handle.id)
    assert [e["state"] for e in events if e["type"] == "unit.changed"] == states
    changes = [(e["kind"], e["change"]) for e in events if e["type"] == "task"]
    assert changes == [
        ("recommend", "opened"),
        ("recommend", "claimed"),
        ("recommend", "closed"),
        ("review", "opened"),
        ("review", "closed"),
    ]
    async with b.db.session() as db:
        row = await db.get(UnitProjection, unit.handle.id)
        recommend = await db.get(TaskProjection, task.id)
    assert row is not None and row.state == "listed" and row.listed_on == s.listed_on
    assert recommend is not None and recommend.status == "done" and recommend.decided_by == "daxing-wang"


async def test_deadline_reminders_fire_once_each_then_the_task_escalates(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    task = await unit.task("recommend")
    await b.skip(40)
    s = await unit.wait(lambda s: any(t.escalated for t in s.tasks), "escalation")
    await b.skip(60)  # nothing fires twice, however long it waits

    deadline_events = [e for e in await b.events(unit.handle.id) if e["type"] == "deadline"]
    labels = [(e["kind"], e["offset_days"]) for e in deadline_events]
    assert labels == [("upcoming", 7), ("upcoming", 1), ("due", 0), ("missed", 0)]
    assert {e["deadline"] for e in deadline_events} == {"district-recommendation"}
    assert {e["owner"] for e in deadline_events} == {"district"}
    assert all(e["task_id"] == task.id for e in deadline_events)
    escalations = [e for e in await b.events(unit.handle.id) if e["type"] == "task" and e["change"] == "escalated"]
    assert len(escalations) == 1

    # Escalated: the bureau may now act on the district's task.
    await unit.act("recommend", "recommend", BUREAU)
    s = await unit.wait_state("under_review")
    assert s.history[-1].actor.role == "bureau"


async def test_an_objection_pauses_listing_until_the_bureau_resolves_it(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1"))
    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await unit.act("review", "approve", BUREAU)
    await unit.wait_state("publicity")
    await unit.notice(
        "objection", enterprise(USCC_B), designation="municipal-green-factory", reason="能耗数据与实际不符"
    )
    await unit.wait_state("objection_review")
    await b.skip(20)
    assert (await unit.state()).state == "objection_review", "no listing while an objection is open"
    await refused(unit, "reason_required", "resolve_objection", "dismiss", BUREAU)
    await unit.act("resolve_objection", "dismiss", BUREAU, reason="经核查，能耗数据与计量记录一致")
    s = await unit.wait_state("listed")
    assert "异议" in s.history[-1].reason


async def test_a_veto_found_at_review_blocks_approval(b: Bench) -> None:
    ev = facts("sub-1", vetoes=[veto("dishonest_debtor", "003 第十一条（六）")], passed=False)
    unit = await b.start(USCC, first=ev)
    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await refused(unit, "vetoed", "review", "approve", BUREAU)
    await refused(unit, "reason_required", "review", "reject", BUREAU)
    await unit.act("review", "reject", BUREAU, reason="存在失信被执行人记录（003 第十一条（六））")
    s = await unit.wait_state("rejected")
    assert not any(t.active for t in s.tasks)


async def test_in_principle_rules_need_a_recorded_reason(b: Bench) -> None:
    ev = facts("sub-1", in_pool=False, latest_grade=2, vetoes=[veto("grade_below_3", "003 第八条", True)])
    unit = await b.start(USCC, first=ev)
    await refused(unit, "reason_required", "recommend", "recommend", DISTRICT_STAFF)
    await unit.act("recommend", "recommend", DISTRICT_STAFF, reason="新设企业，尚未纳入培育名单，经区局调研推荐")
    await refused(unit, "reason_required", "review", "approve", BUREAU)
    await unit.act("review", "approve", BUREAU, reason="产线改造已完成，按原则性要求例外通过")
    s = await unit.wait_state("publicity")
    assert any("例外通过" in t.reason for t in s.history)


async def test_experts_score_the_discretionary_items_and_scoring_recomputes_the_total(
    env: WorkflowEnvironment, nats: Nats, tmp_path: Path
) -> None:
    """Real scoring: the beautiful-factory example is provisional; experts score its items; the total is recomputed."""
    example = json.loads((ROOT / "examples" / "beautiful-factory-declaration.json").read_text(encoding="utf-8"))
    pool = EnginePool(ROOT / "rules")
    scoring_db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}"))
    await create_tables(scoring_db.engine, ScoringBase.metadata)
    broker = make_broker([nats.url], "test-scoring", 5)
    scoring_consumers.register(broker, scoring_db, pool, 5, {})
    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    received = SubmissionReceived(
        id="msg-bf", correlation_id="corr-bf", actor=enterprise(USCC), submission_id="sub-bf",
        scheme=Scheme.BEAUTIFUL_FACTORY, uscc=USCC, enterprise_name=example["enterprise_name"],
        district="大兴区", declared_on=date.fromisoformat(example["declared_on"]), data=example["data"],
    )  # fmt: skip

    async def no_publish(_: scoring_handlers.Announcement) -> None:
        return None

    scored = await scoring_handlers.score_submission(scoring_db, pool, received, no_publish)
    assert scored.evaluation is not None and scored.evaluation.provisional
    pending = [i for i in scored.evaluation.items if i.status == "needs_expert"]
    assert pending

    async def ask_scoring(subject: str, body: BaseModel) -> dict[str, Any]:
        return await request(broker, subject, body)

    try:
        async with bench(env, nats, tmp_path, ask_scoring) as b:
            ev = facts(
                "sub-bf", total=scored.evaluation.total, provisional=True, passed=None,
                expert_items=[expert_item(i.id, str(i.max)) for i in pending],
            )  # fmt: skip
            unit = await b.start(USCC, Designation.BEAUTIFUL_FACTORY, first=ev)
            await unit.act("recommend", "recommend", DISTRICT_STAFF)
            await refused(unit, "experts_pending", "review", "approve", BUREAU)
            first = pending[0]
            too_many = first.max + 1
            await refused(unit, "bad_points", "expert_score", "score", EXPERT, points=too_many, reason="超出满分")
            await refused(unit, "wrong_role", "expert_score", "score", BUREAU, points=0, reason="非专家")
            for item in pending:
                await unit.act("expert_score", "score", EXPERT, points=item.max, reason="现场核查，效果良好")
            s = await unit.wait(lambda s: s.evaluation is not None and not s.evaluation.provisional, "the rescore")
            expected = scored.evaluation.total + sum((i.max for i in pending), Decimal(0))
            assert s.evaluation is not None and s.evaluation.total == expected
            assert "重新计算" in s.history[-1].reason
            await unit.act("review", "approve", BUREAU)
            await unit.wait_state("publicity")
    finally:
        await broker.stop()
        await scoring_db.close()
        pool.close()


async def test_rename_on_time_and_late(b: Bench) -> None:
    unit = await listed_unit(b)
    day = today()
    await unit.notice("rename", enterprise(USCC), old_name="北京示例新能源科技有限公司",
                      new_name="北京示例绿能科技有限公司", completed_on=str(day - timedelta(days=10)))  # fmt: skip
    on_time = await unit.task("rename")
    assert on_time.context["late_days"] == 0
    await unit.act("rename", "forward", DISTRICT_STAFF)
    await unit.act("approve_rename", "approve", BUREAU)
    s = await unit.wait(lambda s: s.enterprise_name == "北京示例绿能科技有限公司", "the new name")
    assert s.state == "listed"

    await unit.notice("rename", enterprise(USCC), old_name="北京示例绿能科技有限公司",
                      new_name="北京示例零碳科技有限公司", completed_on=str(day - timedelta(days=45)))  # fmt: skip
    late = await unit.task("rename")
    assert late.context["late_days"] == 15
    s = await unit.state()
    assert "逾期 15 天" in s.history[-1].reason and "第十四条" in s.history[-1].clause


async def test_a_district_reported_name_change_sets_a_rename_deadline_that_is_reminded_and_followed_up(
    b: Bench,
) -> None:
    unit = await listed_unit(b)
    await unit.notice("district_report", DISTRICT_STAFF, finding="name_change",
                      observed_on=str(today()), details="营业执照名称已变更")  # fmt: skip
    await unit.task("district_report")
    await b.skip(32)
    s = await unit.wait(lambda s: any(t.kind == "followup" for t in s.tasks), "a follow-up task")
    rename = [e for e in await b.events(unit.handle.id) if e["type"] == "deadline" and e["deadline"] == "rename"]
    assert [(e["kind"], e["owner"]) for e in rename] == [
        ("upcoming", "enterprise"), ("upcoming", "enterprise"), ("due", "enterprise"), ("missed", "enterprise"),
    ]  # fmt: skip
    assert s.state == "listed"


async def test_major_adjustment_revocation_allows_an_immediate_new_declaration(b: Bench) -> None:
    unit = await listed_unit(b)
    first_run = (await unit.handle.describe()).run_id
    await unit.notice("major_adjustment", enterprise(USCC), adjustment="relocation",
                      completed_on=str(today() - timedelta(days=5)), description="厂区迁址至亦庄")  # fmt: skip
    await unit.wait_state("under_recheck")
    await refused(unit, "ground_required", "review_listed", "revoke", BUREAU, reason="迁址后不再具备原评价条件")
    await unit.act("review_listed", "revoke", BUREAU, ground="major_adjustment", reason="迁址后不再具备原评价条件")
    s = await unit.wait_state("revoked")
    assert s.banned_until is None
    await unit.evaluate(facts("sub-2"))
    s = await unit.wait_state("awaiting_recommendation")
    assert s.cycle == 1 and "sub-2" in s.submissions
    assert (await unit.handle.describe()).run_id != first_run or s.cycle == 1


async def test_a_failed_review_bans_declarations_for_two_years(b: Bench) -> None:
    unit = await listed_unit(b)
    await unit.command("start_review", BUREAU, reason="年度动态管理复核")
    await unit.act("review_listed", "revoke", BUREAU, ground="review_failed", reason="复核评价结果不合格")
    s = await unit.wait_state("revoked")
    assert s.banned_until == add_years(today(), 2)
    await unit.evaluate(facts("sub-2"))
    s = await unit.wait(lambda s: "sub-2" in s.submissions, "the early declaration")
    assert s.state == "declaration_refused" and "第十五条" in s.history[-1].clause
    await b.skip(2 * 366 + 1)
    await unit.evaluate(facts("sub-3", call=None))
    s = await unit.wait(lambda s: "sub-3" in s.submissions, "the later declaration")
    assert "第十五条" not in s.history[-1].clause, "after two years the ban no longer applies"


async def test_a_banned_evaluators_report_is_refused(b: Bench) -> None:
    ev = facts("sub-1", evaluator_uscc=USCC_B, evaluator_banned_until=today() + timedelta(days=900))
    unit = await b.start(USCC, first=ev)
    s = await unit.wait_state("declaration_refused")
    assert "第十八条" in s.history[-1].clause and USCC_B in s.history[-1].reason
    assert not s.tasks


async def test_withdrawal_of_a_national_title_raises_a_request_to_miit(b: Bench) -> None:
    unit = await listed_unit(b)
    with pytest.raises(WorkflowUpdateFailedError):
        await unit.command("withdraw", enterprise(USCC_B))  # another enterprise
    await unit.command("withdraw", enterprise(USCC), reason="企业转型，自行申请撤销")
    s = await unit.wait_state("revoked")
    assert s.revoked_ground == "withdrawn" and s.banned_until is None
    task = await unit.task("miit_request")
    assert task.role == "bureau"


async def test_national_recommendation_runs_as_its_own_workflow_and_reports_back(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1", latest_grade=4))
    await unit.act("recommend", "recommend", DISTRICT_STAFF)
    await unit.act("review", "approve", BUREAU)
    await unit.wait_state("publicity")
    await b.skip(10)
    await unit.wait_state("listed")
    with pytest.raises(WorkflowUpdateFailedError):
        await unit.command("recommend_national", DISTRICT_STAFF)  # the bureau recommends (第九条)
    await unit.command("recommend_national", BUREAU)
    with pytest.raises(WorkflowUpdateFailedError):
        await unit.command("recommend_national", BUREAU)  # once

    national = b.follow(USCC, Designation.NATIONAL_RECOMMENDATION)
    s = await national.wait_state("national_recommended")
    assert s.district == DISTRICT and s.enterprise_name == (await unit.state()).enterprise_name
    await refused(national, "wrong_role", "national_outcome", "listed", DISTRICT_STAFF)
    await national.act("national_outcome", "listed", BUREAU, reason="工业和信息化部2026年度绿色工厂名单")
    await national.wait_state("national_listed")
    listed = await unit.wait(lambda s: s.national == "listed", "the municipal unit records MIIT's outcome")
    assert listed.history[-1].actor == BUREAU and listed.history[-1].clause == "003 第九条"

    # A municipal title revoked while the national one is held raises the request to MIIT (第十三条).
    await unit.command("revoke", BUREAU, ground="falsified", reason="材料造假")
    await unit.task("miit_request")
    events = await b.events(national.handle.id)
    steps = [(e["state"], e["reason"]) for e in events if e["type"] == "unit.changed"]
    assert [state for state, _ in steps] == ["national_recommended", "national_listed", "national_listed"]
    told = steps[-1][1]
    assert "登记国家级评定结果" in told and "市级绿色工厂流程" in told, "the municipal workflow was told"
    assert "record_national" not in told, "the command by its Chinese name, not its id"
    assert {e["designation"] for e in events} == {"national-recommendation"}
    async with b.db.session() as db:
        row = await db.get(UnitProjection, national.handle.id)
    assert row is not None and row.state == "national_listed" and row.national == "listed"


async def grade_path_start(b: Bench) -> tuple[Unit, Unit]:
    title = await listed_unit(b)
    grading = await b.start(
        USCC, Designation.ANNUAL_GRADING, first=facts("g-1", level=2, total="62.0", call=None, holds_title=True)
    )
    await grading.wait_state("grade_path")
    return title, grading


async def test_grade_below_three_recovers_within_the_path(b: Bench) -> None:
    title, grading = await grade_path_start(b)
    s = await grading.state()
    assert sorted(o.deadline for o in s.obligations) == ["diagnosis", "re-evaluation", "renovation"]
    await b.skip(200)
    await grading.notice("diagnosis", enterprise(USCC), completed_on=str(today()), summary="完成绿色诊断")
    await grading.wait(lambda s: s.grade_path is not None and s.grade_path.diagnosed, "diagnosis recorded")
    await b.skip(300)
    await grading.evaluate(facts("g-2", level=3, total="74.0", call=None, holds_title=True))
    s = await grading.wait_state("graded")
    assert s.grade_path is None and not s.obligations
    assert (await title.state()).state == "listed"
    diagnosis = [e for e in await b.events(grading.handle.id) if e["type"] == "deadline"]
    assert [e["kind"] for e in diagnosis] == [], "diagnosis was on time: no reminder was due yet"


async def test_grade_still_below_three_after_three_years_revokes_the_title(b: Bench) -> None:
    title, grading = await grade_path_start(b)
    await b.skip(3 * 366 + 2)
    s = await title.wait_state("revoked")
    revoked = next(t for t in s.history if t.state == "revoked")
    assert s.revoked_ground == "grade_path" and s.banned_until is None and "第十六条" in revoked.clause
    path = ("diagnosis", "renovation", "re-evaluation")
    events = [e for e in await b.events(grading.handle.id) if e["type"] == "deadline" and e["deadline"] in path]
    by_deadline: dict[str, list[str]] = {}
    for e in events:
        by_deadline.setdefault(e["deadline"], []).append(e["kind"])
    expected = ["upcoming", "upcoming", "due", "missed"]
    assert by_deadline == {"diagnosis": expected, "renovation": expected, "re-evaluation": expected}
    assert {e["owner"] for e in events} == {"enterprise"}
    followups = [t for t in (await grading.state()).tasks if t.kind == "followup"]
    assert [t.context["deadline"] for t in followups] == ["diagnosis", "renovation"]
    assert all(t.status == "cancelled" for t in followups), "the path ended: its follow-ups are closed"


async def test_a_notice_the_unit_cannot_apply_is_a_recorded_fault_and_the_unit_waits_on(b: Bench) -> None:
    unit = await listed_unit(b)
    await unit.notice("district_report", DISTRICT_STAFF, finding="name_change", observed_on="9999-12-31",
                      details="营业执照名称已变更")  # fmt: skip
    s = await unit.wait(lambda s: bool(s.faults), "the fault")
    assert s.state == "listed" and not s.tasks and not s.obligations
    assert "OverflowError" in s.faults[0].error and "无法处理" in s.history[-1].reason
    await b.skip(40)  # its timers still run: nothing was half-applied
    await unit.notice("district_report", DISTRICT_STAFF, finding="name_change", observed_on=str(today()),
                      details="营业执照名称已变更")  # fmt: skip
    await unit.task("district_report")
    assert len((await unit.state()).faults) == 1


async def test_a_disputed_district_waits_for_the_bureau_before_any_district_recommends(b: Bench) -> None:
    unit = await b.start(USCC, first=facts("sub-1", declared_district=DISTRICT, pool_district="顺义区", in_pool=False))
    confirm = await unit.task("confirm_district")
    assert confirm.role == "bureau" and confirm.decisions == [DISTRICT, "顺义区"]
    assert not any(t.kind == "recommend" for t in (await unit.state()).tasks)
    await refused(unit, "wrong_role", "confirm_district", "顺义区", DISTRICT_STAFF)
    await refused(unit, "bad_decision", "confirm_district", "海淀区", BUREAU)
    await unit.act("confirm_district", "顺义区", BUREAU, reason="厂区位于顺义区")
    recommend = await unit.task("recommend")
    s = await unit.state()
    assert s.district == "顺义区" and recommend.district == "顺义区" and recommend.context["in_pool"] is True
    await refused(unit, "wrong_district", "recommend", "recommend", DISTRICT_STAFF)
    shunyi = DISTRICT_STAFF.model_copy(update={"subject": "shunyi-li", "scope": "顺义区"})
    await unit.act("recommend", "recommend", shunyi)
    await unit.wait_state("under_review")
