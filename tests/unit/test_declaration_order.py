"""D-LATEST: a unit is decided by the declaration the enterprise made last, whatever order scoring finishes them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from contracts.schemes import Designation
from services.workflow.domain.lifecycle import Lifecycle
from services.workflow.domain.state import EvaluationFacts, UnitState
from services.workflow.policy_loader import load_policy

POLICY = load_policy(Path(__file__).resolve().parents[2] / "rules")
E = "91110115MA04C2UX1E"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
MADE = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)


def grading_unit() -> Lifecycle:
    state = UnitState(
        workflow_id=f"unit-{E}-{Designation.ANNUAL_GRADING.value}", uscc=E, district="大兴区",
        designation=Designation.ANNUAL_GRADING, enterprise_name="北京示例", state="new",
    )  # fmt: skip
    return Lifecycle(state, POLICY)


def graded(n: int, level: int, name: str = "北京示例") -> EvaluationFacts:
    """The evaluation of the ``n``-th declaration the enterprise made (n seconds after the first)."""
    return EvaluationFacts(
        submission_id=f"s-{n}", correlation_id=f"c-{n}", enterprise_name=name, total=Decimal(60 + 10 * level),
        level=level, passed=True, submitted_at=MADE + timedelta(seconds=n),
    )  # fmt: skip


def test_an_earlier_declarations_evaluation_arriving_last_is_recorded_not_applied() -> None:
    life = grading_unit()
    life.on_evaluation(graded(2, level=3, name="北京示例（新）"), NOW)
    life.on_evaluation(graded(1, level=4, name="北京示例（旧）"), NOW + timedelta(seconds=1))
    s = life.state
    assert s.evaluation is not None and s.evaluation.submission_id == "s-2" and s.evaluation.level == 3
    assert s.enterprise_name == "北京示例（新）"
    last = s.history[-1]
    assert last.submission_id == "s-1" and not last.state_changed
    assert "以最新申报为准" in last.reason and "2026-12-04 09:30:01" in last.reason  # Beijing time
    assert s.submissions == ["s-2", "s-1"]
    # Redelivered, it is still seen once.
    steps = len(s.history)
    life.on_evaluation(graded(1, level=4), NOW + timedelta(seconds=2))
    assert len(s.history) == steps


def test_declarations_arriving_in_order_each_apply_and_the_last_decides() -> None:
    life = grading_unit()
    for n, level in ((1, 4), (2, 3), (3, 5)):
        life.on_evaluation(graded(n, level), NOW + timedelta(seconds=n))
    assert life.state.evaluation is not None and life.state.evaluation.submission_id == "s-3"
    assert not any("以最新申报为准" in t.reason for t in life.state.history)


def test_units_recorded_before_the_rule_apply_evaluations_as_they_arrive() -> None:
    life = grading_unit()
    life.orders_declarations = False  # what the workflow sets for a history without the patch
    life.on_evaluation(graded(2, level=3), NOW)
    life.on_evaluation(graded(1, level=4), NOW + timedelta(seconds=1))
    assert life.state.evaluation is not None and life.state.evaluation.submission_id == "s-1"


def test_evaluations_without_a_submission_time_keep_the_arrival_order() -> None:
    # Messages published before scoring sent submitted_at: nothing to order by, so nothing is held back.
    life = grading_unit()
    first, second = graded(2, level=3), graded(1, level=4)
    first.submitted_at = second.submitted_at = None
    life.on_evaluation(first, NOW)
    life.on_evaluation(second, NOW + timedelta(seconds=1))
    assert life.state.evaluation is not None and life.state.evaluation.submission_id == "s-1"


def test_a_declaration_under_another_name_leaves_the_units_name_and_says_how_to_rename() -> None:
    # 003 第十四条: a name changes by a rename the district forwards; another enterprise's name in a declaration
    # must not put this unit on the published list under that name.
    life = grading_unit()
    life.on_evaluation(graded(1, level=3, name="北京示例"), NOW)
    life.on_evaluation(graded(2, level=4, name="北京别家新能源科技有限公司"), NOW + timedelta(seconds=1))
    s = life.state
    assert s.enterprise_name == "北京示例"
    assert s.evaluation is not None and s.evaluation.submission_id == "s-2", "the declaration itself still counts"
    note = next(t for t in s.history if t.submission_id == "s-2" and "不一致" in t.reason)
    assert "北京别家新能源科技有限公司" in note.reason and "更名" in note.reason and "第十四条" in note.clause


def test_a_unit_recorded_before_the_name_rule_takes_the_declared_name_as_it_did() -> None:
    life = grading_unit()
    life.keeps_registered_name = False  # what the workflow sets for a history without the patch
    life.on_evaluation(graded(1, level=3, name="北京示例"), NOW)
    life.on_evaluation(graded(2, level=4, name="北京示例（更名后）"), NOW + timedelta(seconds=1))
    assert life.state.enterprise_name == "北京示例（更名后）"
