"""Every refusal the lifecycle's pure core can give, each provoked on a unit built in memory with an explicit clock.

The last test reads the refusal codes out of the lifecycle module, so a new code without a case here fails it.
Each case also checks that a refused action leaves the unit as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import get_args

import pytest

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain import lifecycle as lifecycle_module
from services.workflow.domain.lifecycle import ActionRefused, Lifecycle
from services.workflow.domain.state import (
    EvaluationFacts,
    ExpertItem,
    Task,
    TaskAction,
    TaskClaim,
    TaskKind,
    UnitCommand,
    UnitState,
    VetoBrief,
)
from services.workflow.policy_loader import load_policy

POLICY = load_policy(Path(__file__).resolve().parents[2] / "rules")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
E = "91110115MA04C2UX1E"
DAXING = Actor(role="district", subject="daxing-wang", scope="大兴区")
DAXING_2 = Actor(role="district", subject="daxing-zhao", scope="大兴区")
SHUNYI = Actor(role="district", subject="shunyi-liu", scope="顺义区")
BUREAU = Actor(role="bureau", subject="bureau-li")
EXPERT = Actor(role="expert", subject="expert-chen")
ENTERPRISE = Actor(role="enterprise", subject=E, scope=E)


def unit(
    state: str = "listed", designation: Designation = Designation.MUNICIPAL_GREEN_FACTORY, **extra: object
) -> Lifecycle:
    s = UnitState(
        workflow_id=f"unit-{E}-{designation.value}", uscc=E, district="大兴区", designation=designation,
        enterprise_name="北京示例", state=state, listed_on=date(2025, 1, 1), **extra,
    )  # fmt: skip
    return Lifecycle(s, POLICY)


def evaluation(**extra: object) -> EvaluationFacts:
    facts: dict[str, object] = {"total": Decimal("88"), "passed": True, "in_pool": True, "latest_grade": 4}
    return EvaluationFacts(
        submission_id="s-1", correlation_id="c-1", enterprise_name="北京示例", **(facts | extra),
    )  # fmt: skip


def with_task(life: Lifecycle, kind: str, role: str, decisions: list[str], **extra: object) -> Task:
    task = Task(
        id=f"{life.state.workflow_id}.t{len(life.state.tasks) + 1}", kind=kind, title_zh=kind, role=role,
        district="大兴区" if role == "district" else None, opened_at=NOW, decisions=decisions, clause="003",
        **extra,
    )  # fmt: skip
    life.state.tasks.append(task)
    return task


def review_unit(**ev: object) -> tuple[Lifecycle, Task]:
    life = unit("under_review")
    life.state.evaluation = evaluation(**ev)
    return life, with_task(life, "review", "bureau", ["approve", "reject"])


def refused(code: str, status: int, attempt: Callable[[Lifecycle], object], life: Lifecycle) -> ActionRefused:
    before = life.state.model_copy(deep=True)
    with pytest.raises(ActionRefused) as caught:
        attempt(life)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value
    assert life.state == before, "a refused action changes nothing"
    assert caught.value.message_zh and caught.value.message_en, "both languages name the reason"
    return caught.value


def act(task: Task, decision: str, actor: Actor, **extra: object) -> Callable[[Lifecycle], object]:
    return lambda life: life.act(TaskAction(task_id=task.id, decision=decision, actor=actor, **extra), NOW)


def command(name: str, actor: Actor, **extra: object) -> Callable[[Lifecycle], object]:
    return lambda life: life.command(UnitCommand(command=name, actor=actor, **extra), NOW)


# ----- tasks -------------------------------------------------------------------------------------


def test_an_unknown_task_is_not_found() -> None:
    life = unit()
    refused("task_not_found", 404, lambda lc: lc.claim(TaskClaim(task_id="unit-x.t9", actor=BUREAU), NOW), life)


def test_a_closed_task_takes_no_decision() -> None:
    life = unit()
    task = with_task(life, "district_report", "bureau", ["start_review", "no_action"], status="done")
    refused("task_closed", 409, act(task, "start_review", BUREAU), life)


def test_a_task_for_another_role_is_refused_and_a_district_task_for_another_district() -> None:
    life = unit("awaiting_recommendation")
    life.state.evaluation = evaluation()
    task = with_task(life, "recommend", "district", ["recommend", "decline"])
    assert refused("wrong_role", 403, act(task, "recommend", EXPERT), life).message_zh.startswith("该事项须由")
    assert "大兴区" in refused("wrong_district", 403, act(task, "recommend", SHUNYI), life).message_zh


def test_a_task_claimed_by_a_colleague_cannot_be_decided_or_released_by_another() -> None:
    life = unit("awaiting_recommendation")
    life.state.evaluation = evaluation()
    task = with_task(
        life, "recommend", "district", ["recommend", "decline"], status="claimed", claimed_by="daxing-wang"
    )
    assert "daxing-wang" in refused("task_claimed", 409, act(task, "recommend", DAXING_2), life).message_zh
    life.state.tasks[0].status, life.state.tasks[0].claimed_by = "open", None
    release = TaskClaim(task_id=task.id, release=True, actor=DAXING)
    refused("not_claimed_by_you", 409, lambda lc: lc.claim(release, NOW), life)


def test_a_decision_the_task_does_not_offer_is_refused() -> None:
    life = unit()
    task = with_task(life, "district_report", "bureau", ["start_review", "no_action"])
    refused("bad_decision", 422, act(task, "revoke", BUREAU), life)


def test_a_decision_that_needs_a_reason_is_refused_without_one() -> None:
    life = unit()
    task = with_task(life, "district_report", "bureau", ["start_review", "no_action"])
    refused("reason_required", 422, act(task, "no_action", BUREAU, reason="   "), life)


def test_a_revoking_decision_names_a_ground_from_the_rulebook() -> None:
    life = unit("under_recheck")
    task = with_task(life, "review_listed", "bureau", ["keep", "revoke"])
    error = refused("ground_required", 422, act(task, "revoke", BUREAU, reason="造假", ground="dislike"), life)
    assert "falsified" in error.message_en


@pytest.mark.parametrize("points", [None, Decimal("-1"), Decimal("4.01")])
def test_expert_points_outside_the_item_are_refused(points: Decimal | None) -> None:
    life = unit("under_review")
    item = ExpertItem(id="GF-9", name_zh="专家项", max=Decimal("4"))
    task = with_task(life, "expert_score", "expert", ["score"], item=item)
    refused("bad_points", 422, act(task, "score", EXPERT, reason="依据", points=points), life)


def test_review_waits_for_the_experts() -> None:
    life, task = review_unit()
    with_task(life, "expert_score", "expert", ["score"], item=ExpertItem(id="GF-9", name_zh="专家项", max=Decimal(4)))
    refused("experts_pending", 409, act(task, "approve", BUREAU), life)


def test_review_cannot_approve_a_binding_veto_a_failed_or_a_provisional_result() -> None:
    veto = VetoBrief(code="stoppage", clause="003 第十一条（一）", evidence="停产 12 个月")
    life, task = review_unit(vetoes=[veto])
    assert "003 第十一条（一）" in refused("vetoed", 409, act(task, "approve", BUREAU), life).message_zh
    life, task = review_unit(passed=False)
    refused("not_passed", 409, act(task, "approve", BUREAU), life)
    life, task = review_unit(provisional=True)
    refused("provisional", 409, act(task, "approve", BUREAU), life)


def test_an_in_principle_rule_not_met_needs_a_reason() -> None:
    life = unit("awaiting_recommendation")
    life.state.evaluation = evaluation(in_pool=False)
    task = with_task(life, "recommend", "district", ["recommend", "decline"])
    assert "003 第八条" in refused("reason_required", 422, act(task, "recommend", DAXING), life).message_zh


# ----- unit commands -----------------------------------------------------------------------------


def test_only_the_enterprise_itself_withdraws_and_only_the_bureau_commands() -> None:
    life = unit()
    other = Actor(role="enterprise", subject="91110108MA01XK3T2Q", scope="91110108MA01XK3T2Q")
    refused("wrong_role", 403, command("withdraw", other), life)
    refused("wrong_role", 403, command("start_review", DAXING, reason="检查"), life)


def test_grading_is_not_a_title() -> None:
    life = unit("graded", Designation.ANNUAL_GRADING)
    refused("wrong_designation", 409, command("revoke", BUREAU, ground="falsified", reason="造假"), life)


def test_a_unit_without_a_title_has_none_to_revoke() -> None:
    life = unit("publicity")
    assert (
        "公示"
        in refused("no_title", 409, command("revoke", BUREAU, ground="falsified", reason="造假"), life).message_zh
    )


def test_revocation_needs_a_ground_and_a_reason() -> None:
    life = unit()
    refused("ground_required", 422, command("revoke", BUREAU, reason="造假"), life)
    refused("reason_required", 422, command("revoke", BUREAU, ground="falsified", reason=" "), life)


def test_a_second_review_is_refused_while_one_is_open() -> None:
    refused("already_reviewing", 409, command("start_review", BUREAU, reason="检查"), unit("under_recheck"))


def test_a_national_outcome_needs_a_recommended_unit_and_its_workflow() -> None:
    life = unit()
    refused("not_recommended", 409, command("record_national", BUREAU, source="national-x", outcome="listed"), life)
    life = unit(national="recommended")
    refused("not_recommended", 409, command("record_national", BUREAU), life)


def test_only_a_municipal_green_factory_not_yet_recommended_goes_to_the_nation() -> None:
    refused("not_eligible", 409, command("recommend_national", BUREAU), unit(national="recommended"))
    refused("not_eligible", 409, command("recommend_national", BUREAU), unit(designation=Designation.BEAUTIFUL_FACTORY))


def test_a_grade_below_the_national_floor_needs_a_reason() -> None:
    life = unit()
    life.state.evaluation = evaluation(latest_grade=3)
    assert "四级" in refused("reason_required", 422, command("recommend_national", BUREAU), life).message_zh


def test_a_listed_unit_is_not_listed_again() -> None:
    refused("already_listed", 409, lambda lc: lc.auto_list(NOW, BUREAU, "国家级名单"), unit())


def test_what_cannot_be_applied_is_refused_whole_by_a_trial() -> None:
    life = unit()

    def broken(rehearsal: Lifecycle) -> None:
        rehearsal.state.enterprise_name = "改了"
        raise OverflowError("date value out of range")

    error = refused("cannot_apply", 422, lambda lc: lc.trial(broken), life)
    assert "OverflowError" in error.message_en or "out of range" in error.message_en


def test_every_refusal_code_of_the_lifecycle_has_a_case_here() -> None:
    package = Path(lifecycle_module.__file__).parent
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(package.glob("*.py")))
    codes = set(re.findall(r'ActionRefused\(\s*\d+,\s*"([a-z_]+)"', source))
    here = Path(__file__).read_text(encoding="utf-8")
    tested = set(re.findall(r'refused\("([a-z_]+)"', here))
    assert len(codes) >= 20, "the pattern still finds the lifecycle's refusals"
    assert codes <= tested, f"refusal codes without a case: {sorted(codes - tested)}"


def test_every_kind_of_task_has_what_its_decision_does() -> None:
    assert set(Lifecycle._ON_DECISION) == set(get_args(TaskKind))
