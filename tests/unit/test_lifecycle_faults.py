"""The lifecycle's pure core with an explicit clock: an input it cannot apply is refused whole, never half-applied."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts.envelope import Actor
from contracts.schemes import Designation
from services.workflow.domain.lifecycle import ActionRefused, Lifecycle
from services.workflow.domain.state import Fault, NoticeFacts, Task, TaskAction, UnitState, checkpoint
from services.workflow.policy_loader import load_policy

POLICY = load_policy(Path(__file__).resolve().parents[2] / "rules")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
DISTRICT = Actor(role="district", subject="daxing-wang", scope="大兴区")
BUREAU = Actor(role="bureau", subject="bureau-li")
E = "91110115MA04C2UX1E"


def listed() -> Lifecycle:
    state = UnitState(
        workflow_id=f"unit-{E}-municipal-green-factory", uscc=E, district="大兴区",
        designation=Designation.MUNICIPAL_GREEN_FACTORY, enterprise_name="北京示例", state="listed",
        listed_on=date(2025, 1, 1),
    )  # fmt: skip
    return Lifecycle(state, POLICY)


def report(observed_on: str, notice_id: str = "n-1") -> NoticeFacts:
    data = {"kind": "district_report", "finding": "name_change", "observed_on": observed_on, "details": "更名"}
    return NoticeFacts(notice_id=notice_id, correlation_id="c", kind="district_report", data=data, filed_at=NOW,
                       actor=DISTRICT)  # fmt: skip


@pytest.mark.parametrize("observed_on", ["9999-12-31", "9999-12-01"])  # overflows at once, or only at its alarm
def test_a_notice_that_cannot_be_applied_leaves_the_unit_as_it_was_and_is_recorded(observed_on: str) -> None:
    life = listed()
    before = life.state.model_copy(deep=True)
    result = life.apply_whole(NOW, "通知 district_report n-1", lambda: life.on_notice(report(observed_on), NOW))
    assert isinstance(result, Fault) and "OverflowError" in result.error
    after = life.state
    assert after.tasks == before.tasks and after.obligations == before.obligations and after.notices == before.notices
    assert after.faults == [result] and after.history[-1].reason.startswith("无法处理 通知 district_report n-1")
    assert after.history[-1].state == "listed" and not after.history[-1].state_changed
    effects = life.drain()
    assert [type(e).__name__ for e in effects] == ["Transitioned"], "only the fault's note leaves the workflow"
    assert life.next_alarm() is None


def test_the_same_notice_with_a_plausible_day_is_applied() -> None:
    life = listed()
    assert life.apply_whole(NOW, "通知", lambda: life.on_notice(report("2026-11-01"), NOW)) is None
    assert [t.kind for t in life.state.tasks] == ["district_report"] and not life.state.faults


def test_a_refusal_passes_through_with_the_state_restored() -> None:
    life = listed()

    def refuse() -> None:
        life.state.enterprise_name = "changed"
        raise ActionRefused(409, "no", "否", "no")

    with pytest.raises(ActionRefused):
        life.apply_whole(NOW, "x", refuse)
    assert life.state.enterprise_name == "北京示例" and not life.state.faults


def test_a_trial_refuses_what_could_not_be_applied_and_changes_nothing() -> None:
    life = listed()
    # An open recommend task with no evaluation behind it: deciding it cannot be carried out.
    task = Task(id=f"{life.state.workflow_id}.t1", kind="recommend", title_zh="区级推荐", role="district",
                district="大兴区", opened_at=NOW, decisions=["recommend", "decline"], clause="003 第八条")  # fmt: skip
    life.state.tasks.append(task)
    life.state.state = "awaiting_recommendation"
    before = life.state.model_copy(deep=True)
    action = TaskAction(task_id=task.id, decision="recommend", reason="推荐", actor=DISTRICT)
    life.check_action(action)  # the cheap checks pass
    with pytest.raises(ActionRefused) as err:
        life.trial(lambda copy: copy.act(action, NOW))
    assert err.value.code == "cannot_apply" and err.value.status == 422
    assert life.state == before and life.drain() == []


def test_a_checkpoint_is_not_reached_by_later_changes() -> None:
    life = listed()
    life.apply_whole(NOW, "通知", lambda: life.on_notice(report("2026-11-01"), NOW))  # a task, an obligation
    saved = checkpoint(life.state)
    frozen = saved.model_dump()
    task = life.state.tasks[0]
    life.act(TaskAction(task_id=task.id, decision="start_review", actor=BUREAU), NOW)  # mutates, appends, closes
    life.on_time(datetime(2027, 6, 1, tzinfo=UTC))  # fires and removes alarms
    assert life.state.model_dump() != frozen
    assert saved.model_dump() == frozen
