"""The operators' views as pure functions: search-attribute upserts and summaries (issue 15.3)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts.schemes import Designation
from services.workflow import search_attributes as sa
from services.workflow import views
from services.workflow.domain.state import Obligation, UnitState
from services.workflow.policy_loader import load_policy
from services.workflow.settings import REPO_RULES

POLICY = load_policy(REPO_RULES)


def unit(**changes: object) -> UnitState:
    base = UnitState(
        workflow_id="w", uscc="91110115MA04C2UX1E", district="大兴区",
        designation=Designation.ANNUAL_GRADING, enterprise_name="示例",
    )  # fmt: skip
    return base.model_copy(update=changes)


def test_upserts_only_what_changed_and_unsets_what_is_gone() -> None:
    s = unit(state="graded", level=2)
    first = sa.updates(s, TypedSearchAttributes.empty)
    names = {u.key.name for u in first}
    assert names == {"GreenfabUscc", "GreenfabDistrict", "GreenfabScheme", "GreenfabState", "GreenfabLevel"}
    current = TypedSearchAttributes([SearchAttributePair(u.key, u.value) for u in first])
    assert sa.updates(s, current) == []
    gone = sa.updates(unit(state="graded", level=None), current)
    assert [(u.key.name, u.value) for u in gone] == [("GreenfabLevel", None)]


def test_the_enterprise_is_waited_on_for_a_deadline_no_task_carries() -> None:
    ob = Obligation(key="k", deadline="diagnosis", owner="enterprise", opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                    due_day=date(2027, 1, 1))  # fmt: skip
    assert sa.waiting_on(unit(obligations=[ob])) == ["enterprise"]


def test_a_timer_summary_names_the_deadline_and_its_clause_within_temporals_limit() -> None:
    ob = Obligation(key="k", deadline="rename", owner="enterprise", opened_at=datetime(2026, 1, 1, tzinfo=UTC),
                    due_day=date(2026, 1, 31))  # fmt: skip
    text = views.timer_summary(POLICY, ("upcoming-7", ob), None)
    assert text is not None and text.startswith("更名申请截止前7天提醒（2026-01-31）· name-change application")
    assert text.endswith("003 第十四条")
    assert views.timer_summary(POLICY, None, None) is None
    assert len(views.fit("评" * 500).encode()) <= views.SUMMARY_BYTES
