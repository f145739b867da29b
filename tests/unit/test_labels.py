"""Chinese text people read names ids by their Chinese labels (contracts/labels.py), never the raw id.

One representative case of each kind: a role (a refusal), a decision (a refusal, the audit record), a deadline
(the console's unit page), a scheme (the audit record), a designation (a notice refusal), a notice kind (the
unit's timeline, hence the enterprise's inbox), a service and a message kind (the bureau's dead-letter notice),
a system actor (timelines, `greenfab history`); and the lifecycle policy's own texts and clauses.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from contracts import labels
from contracts.envelope import Actor
from contracts.messages import UnitBrief
from contracts.notices import Objection, refusal
from contracts.schemes import Designation
from services.audit.domain.entries import entry_of
from services.workflow.domain.lifecycle import ActionRefused, Lifecycle
from services.workflow.domain.policy import Policy
from services.workflow.domain.state import NoticeFacts, Obligation, Task, TaskAction, UnitState
from services.workflow.policy_loader import load_policy
from services.workflow.staff.units import detail
from services.workflow.views import clause

ROOT = Path(__file__).resolve().parents[2]
POLICY: Policy = load_policy(ROOT / "rules")
E = "91110115MA04C2UX1E"
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
BUREAU = Actor(role="bureau", subject="bureau-li")
AUDITOR = Actor(role="auditor", subject="audit-wang")
DISTRICT = Actor(role="district", subject="dx-zhang", scope="大兴区")
# An English word in Chinese text: two or more ASCII letters in a row, except a decision id (D-PUBLICITY) or
# a clause number; the USCC and ids in brackets are checked case by case below.
ENGLISH = re.compile(r"(?<![A-Z-])(?!D-)[A-Za-z]{2,}")


def unit(state: str = "awaiting_recommendation") -> Lifecycle:
    s = UnitState(
        workflow_id=f"unit-{E}-municipal-green-factory", uscc=E, district="大兴区",
        designation=Designation.MUNICIPAL_GREEN_FACTORY, enterprise_name="北京示例", state=state,
    )  # fmt: skip
    return Lifecycle(s, POLICY)


def recommend_task(life: Lifecycle) -> Task:
    spec = POLICY.tasks["recommend"]
    task = Task(
        id="t-1", kind="recommend", title_zh=spec.title_zh, role="district", district="大兴区",
        decisions=list(spec.decisions), clause=spec.basis, opened_at=NOW,
    )  # fmt: skip
    life.state.tasks.append(task)
    return task


def refused(call: object) -> ActionRefused:
    try:
        assert callable(call)
        call()
    except ActionRefused as exc:
        return exc
    raise AssertionError("not refused")


def test_a_task_refused_to_the_wrong_role_names_the_role_in_chinese() -> None:
    life = unit()
    task = recommend_task(life)
    exc = refused(lambda: life.check_action(TaskAction(task_id=task.id, decision="recommend", actor=AUDITOR)))
    assert exc.message_zh == "该事项须由区工业主管部门办理"
    assert "role district" in exc.message_en, "the English half keeps the id"


def test_a_wrong_decision_lists_the_decisions_by_their_chinese_names_with_the_value_to_send() -> None:
    life = unit()
    task = recommend_task(life)
    exc = refused(lambda: life.check_action(TaskAction(task_id=task.id, decision="approve", actor=DISTRICT)))
    assert exc.message_zh == "决定须为 推荐（recommend）、不予推荐（decline） 之一"
    assert labels.decision_zh("decline", "rename") == "不予转报", "the same id reads as the task means it"


def test_a_notice_on_a_unit_without_a_title_names_its_kind_in_chinese() -> None:
    life = unit("not_recommended")
    notice = NoticeFacts(
        notice_id="n-1", correlation_id="c", kind="district_report", filed_at=NOW, actor=DISTRICT,
        data={"kind": "district_report", "finding": "name_change", "observed_on": "2026-10-01", "details": "更名"},
    )  # fmt: skip
    life.on_notice(notice, NOW)
    reason = life.state.history[-1].reason
    assert reason.startswith("收到区级报告通知，但单位未持有称号") and "district_report" not in reason
    from services.workflow.workflows import _notice_zh

    assert _notice_zh(notice) == "区级报告通知 n-1", "how a notice that cannot be applied is named on the record"


def test_an_objection_out_of_publicity_names_the_list_in_chinese() -> None:
    notice = Objection(
        kind="objection", uscc=E, designation=Designation.MUNICIPAL_GREEN_FACTORY, reason="数据有误，请核实"
    )
    brief = UnitBrief(workflow_id=f"unit-{E}-municipal-green-factory", designation="municipal-green-factory",
                      district="大兴区", state="listed")  # fmt: skip
    found = refusal(notice, BUREAU, [brief])
    assert found is not None and found.status == 409
    assert found.message_zh == "该单位的市级绿色工厂当前不在公示期，不受理异议"
    assert "municipal-green-factory" in found.message_en


def test_the_audit_record_names_schemes_and_decisions_in_chinese() -> None:
    base = {"id": "m-1", "occurred_at": "2026-11-02T02:00:00+00:00", "actor": {"role": "enterprise", "subject": E}}
    received = entry_of({**base, "type": "submission.received", "scheme": "grading", "submission_id": "s-1"})
    assert received.summary_zh == "申报已受理：工厂绿色分级评价（s-1）"
    decided = entry_of({**base, "id": "m-2", "type": "task", "change": "closed", "kind": "review",
                        "title_zh": "市级评审", "decision": "approve"})  # fmt: skip
    assert decided.summary_zh == "待办事项办结：市级评审，决定：通过"
    renamed = entry_of({**base, "id": "m-3", "type": "task", "change": "closed", "kind": "rename",
                        "title_zh": "更名申请转报", "decision": "decline"})  # fmt: skip
    assert renamed.summary_zh.endswith("决定：不予转报")


def test_who_acted_reads_in_chinese_and_a_system_step_names_its_service() -> None:
    from services.audit.cli import _who
    from services.console.web import TEMPLATES

    assert labels.actor_zh("system", "workflow") == "系统（流程服务）"
    assert labels.actor_zh("system", "greenfab-scoring") == "系统（评分服务）"
    assert labels.actor_zh("bureau", "bureau-li") == "市经济和信息化局 bureau-li"
    assert TEMPLATES.env.globals["actor_zh"] is labels.actor_zh
    record = type("R", (), {"actor_role": "system", "actor_subject": "workflow"})()
    assert _who(record) == "系统（流程服务）", "greenfab history's 操作人 column"


def test_unknown_ids_are_shown_as_they_are_rather_than_hidden() -> None:
    assert labels.zh(labels.ROLE_ZH, "robot") == "robot" and labels.zh_with_id(labels.DECISION_ZH, "大兴区") == "大兴区"
    assert labels.message_zh("greenfab.task.opened") == "待办事项" and labels.message_zh("x.y") == "x.y"
    assert (
        labels.record_zh("declaration 0f3c") == "申报 0f3c" and labels.record_zh("something else") == "something else"
    )
    assert labels.workflow_zh(f"unit-{E}-annual-grading") == f"绿色分级流程（unit-{E}-annual-grading）"


def test_the_staff_api_names_each_running_deadline_in_chinese() -> None:
    life = unit()
    due = Obligation(
        key="k", deadline="district-recommendation", owner="district", opened_at=NOW, due_day=date(2026, 12, 2)
    )
    life.state.obligations.append(due)
    [shown] = detail(life.state, POLICY).deadlines
    assert (shown.deadline, shown.deadline_zh) == ("district-recommendation", "区工业主管部门推荐")


def test_the_unit_page_shows_deadlines_owners_and_system_steps_in_chinese() -> None:
    """The console's unit page (its table and its timeline picture), from the staff API's answer."""
    import httpx
    from fastapi.testclient import TestClient

    from greenfab.auth import Principal, issue_token
    from services.console.app import build_app
    from services.console.client import Services
    from services.console.settings import ConsoleSettings

    wid = f"unit-{E}-municipal-green-factory"
    body = {
        "workflow_id": wid, "uscc": E, "enterprise_name": "北京示例", "district": "大兴区",
        "designation": "municipal-green-factory", "state": "awaiting_recommendation", "state_zh": "待区级推荐",
        "level": None, "listed_on": None, "national": "none", "banned_until": None, "publicity_ends_on": None,
        "deadlines": [{"deadline": "district-recommendation", "deadline_zh": "区工业主管部门推荐", "owner": "district",
                       "due_on": "2026-12-30", "task_id": "t-1"}],
        "submissions": [],
        "timeline": [{"seq": 1, "at": "2026-11-02T02:00:00Z", "state": "awaiting_recommendation",
                      "state_zh": "待区级推荐", "reason": "评价完成", "clause": "003 第八条",
                      "actor": {"role": "system", "subject": "workflow"}, "task_id": None, "submission_id": None}],
    }  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/v1/units/{wid}":
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    secret = secrets.token_urlsafe(48)
    config = ConsoleSettings(auth_secret=secret, signin="dev", cookie_secure=False)
    with TestClient(build_app(config, Services(config, transport=httpx.MockTransport(answer)))) as c:
        c.cookies.set("greenfab_session", issue_token(secret, Principal(role="bureau", subject="li")))
        page = c.get(f"/units/{wid}")
    assert page.status_code == 200, page.text
    text = page.text
    assert '<th scope="row">区工业主管部门推荐</th>' in text and "期限：区工业主管部门推荐" in text
    assert "办理方：区工业主管部门" in text and "系统（流程服务）" in text
    assert "district-recommendation" not in text and "办理方：district" not in text and "系统 workflow" not in text


def test_the_lifecycle_policy_texts_and_clauses_are_chinese() -> None:
    """Every text of rules/lifecycle people read (names, titles, steps, consequences, clauses) has no English
    word in it: a decision id may stand, in brackets or alone, as may a {field} the code fills."""
    data = yaml.safe_load((ROOT / "rules" / "lifecycle" / "lifecycle.yaml").read_text(encoding="utf-8"))
    shown = ("name_zh", "title_zh", "text_zh", "consequence_zh", "basis")
    found = []
    for section in ("deadlines", "thresholds", "bans", "revocation_grounds", "tasks", "steps"):
        for key, entry in data[section].items():
            for field in shown:
                text = re.sub(r"\{\w+\}", "", str(entry.get(field, "")))
                if ENGLISH.search(text):
                    found.append(f"{section}.{key}.{field}: {entry[field]}")
    assert found == []


def test_a_deadline_clause_is_its_reference_even_after_a_chinese_description() -> None:
    assert clause(POLICY.deadlines["publicity"]) == "003 第八条"
    assert clause(POLICY.deadlines["expert-scoring"]) == "D-EXPERT"
    assert "D-PUBLICITY: 5" not in POLICY.deadlines["publicity"].basis
    assert POLICY.deadlines["publicity"].basis.endswith("公示期为5个工作日（D-PUBLICITY）")
