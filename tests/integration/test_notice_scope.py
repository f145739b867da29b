"""Notices and districts across the trust boundary: intake, NATS and the workflow, on real servers.

A notice never creates a unit nor sets or changes its district, whichever door it comes through
(intake's HTTP route, or a message put straight on NATS); a unit's district is the one its enterprise
declared in, and a disagreement with a district's cultivation pool is the bureau's decision. A district
cannot take another district's unit into its pool, nor report on it; an objection is about a unit in
publicity. Each test fails on the code before these rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from contracts import subjects
from contracts.envelope import Actor
from contracts.messages import EvaluationCompleted, NoticeReceived, UnitChanged
from contracts.schemes import Scheme
from greenfab.messaging import publish
from services.notify.domain import Links, for_unit_changed
from services.notify.template_loader import load_templates
from tests.conftest import uscc
from tests.support.desk import SCORING, Desk, desk, evaluation, eventually
from tests.support.servers import Nats
from tests.support.streams import stream_messages

DAXING, SHUNYI = "大兴区", "顺义区"


@pytest.fixture
async def d(temporal_dev: str, nats: Nats, tmp_path: Path) -> AsyncIterator[Desk]:
    async with desk(temporal_dev, nats, tmp_path) as the_desk:
        yield the_desk


def report(code: str, **extra: Any) -> dict[str, Any]:
    body = {"kind": "district_report", "uscc": code, "finding": "serious_dishonesty", "observed_on": "2026-11-01"}
    return {**body, "details": "列入严重失信主体名单", **extra}


def problem(r: Any, status: int, path: str, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {(e["path"], e["code"]) for e in r.json()["errors"]} >= {(path, code)}, r.json()


async def no_workflow(d: Desk, wid: str) -> None:
    with pytest.raises(RPCError) as err:
        await d.temporal.get_workflow_handle(wid).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND


async def dead_lettered(nats: Nats, subject: str, count: int) -> list[dict[str, Any]]:
    return await stream_messages(nats.url, subjects.DEAD_LETTERS.name, at_least=count, timeout=30)


async def test_a_notice_never_creates_a_unit_nor_sets_its_district(d: Desk, nats: Nats) -> None:
    e = uscc(101)
    wid = f"unit-{e}-municipal-green-factory"

    # Through intake: refused while the caller waits, naming the field; nothing is stored or sent.
    problem(await d.notice(report(e), "district", SHUNYI), 422, "$.uscc", "unit_not_found")
    objection = {
        "kind": "objection",
        "uscc": e,
        "designation": "municipal-green-factory",
        "reason": "申报数据与实际不符",
    }
    problem(await d.notice(objection, "evaluator", uscc(900)), 409, "$.uscc", "not_in_publicity")
    rename = {"kind": "rename", "uscc": e, "old_name": "甲", "new_name": "乙", "completed_on": "2026-11-01"}
    problem(await d.notice(rename, "enterprise", e), 422, "$.uscc", "unit_not_found")

    # Straight onto NATS, past intake: the workflow service refuses it (dead-lettered), starting nothing.
    forged = NoticeReceived(
        correlation_id="c-forged", actor=Actor(role="district", subject="shunyi-li", scope=SHUNYI),
        notice_id="n-forged-1", uscc=e, district=SHUNYI, notice=report(e),
    )  # fmt: skip
    await publish(d.workflow.broker, subjects.NOTICE_RECEIVED, forged)
    letters = await dead_lettered(nats, subjects.NOTICE_RECEIVED, 1)
    assert any("unit_not_found" in x["error"] and x["subject"] == subjects.NOTICE_RECEIVED for x in letters), letters
    await no_workflow(d, wid)

    # The enterprise declares in 大兴区: the unit is 大兴区's, and 顺义区 neither sees nor acts on it.
    await d.evaluated(e, DAXING)
    row = await d.projected(wid)
    assert row.district == DAXING
    recommend = await d.task(wid, "recommend")
    assert recommend.task_district == DAXING
    assert (await d.staff("GET", f"/v1/units/{wid}", "district", DAXING)).status_code == 200
    other = await d.staff("GET", f"/v1/units/{wid}", "district", SHUNYI)
    assert other.status_code == 403, other.text
    assert [t["task_id"] for t in (await d.staff("GET", "/v1/tasks", "district", SHUNYI)).json()["items"]] == []
    decision = {"decision": "recommend", "reason": "区级推荐"}
    taken = await d.staff("POST", f"/v1/tasks/{recommend.task_id}/decision", "district", SHUNYI, json=decision)
    assert taken.status_code == 403, taken.text

    # Now it exists: 顺义区 still may not report on it (another district's unit); 大兴区 may.
    problem(await d.notice(report(e), "district", SHUNYI), 403, "$.uscc", "other_district")
    assert (await d.notice(report(e), "district", DAXING)).status_code == 202

    async def reported() -> dict[str, Any] | None:
        unit = (await d.staff("GET", f"/v1/units/{wid}", "bureau")).json()
        return unit if any("收到区级报告通知" in step["reason"] for step in unit["timeline"]) else None

    unit = await eventually(reported, "the report reaches the unit")
    assert unit["district"] == DAXING and unit["timeline"][-1]["actor"]["scope"] == DAXING


async def test_an_invalid_uscc_never_starts_a_workflow(d: Desk, nats: Nats) -> None:
    bad = "aaaaaaaaaaaaaaaaaa"
    r = await d.notice(report(bad), "district", DAXING)
    problem(r, 422, "$.district_report.uscc", "uscc_invalid")
    wrong_check = uscc(102)[:-1] + ("0" if uscc(102)[-1] != "0" else "1")
    problem(await d.notice(report(wrong_check), "district", DAXING), 422, "$.district_report.uscc", "uscc_invalid")

    # Scoring's answer for a made-up code (as a forged or buggy publisher would send it) starts nothing.
    forged = EvaluationCompleted(
        correlation_id="c-bad", actor=SCORING, submission_id="sub-bad-uscc", scheme=Scheme.GREEN_FACTORY,
        uscc=bad, enterprise_name="某公司", district=DAXING, evaluation=evaluation(Scheme.GREEN_FACTORY),
    )  # fmt: skip
    await publish(d.workflow.broker, subjects.EVALUATION_COMPLETED, forged)
    letters = await dead_lettered(nats, subjects.EVALUATION_COMPLETED, 1)
    assert any("not a valid USCC" in x["error"] for x in letters), letters
    await no_workflow(d, f"unit-{bad}-municipal-green-factory")

    # Every staff route that takes a USCC or a unit id checks it too.
    pool = await d.staff("POST", "/v1/pool", "district", DAXING, json={"uscc": wrong_check, "enterprise_name": "某"})
    problem(pool, 422, "$.uscc", "uscc_invalid")
    listing = {"uscc": bad, "district": DAXING, "enterprise_name": "某", "reason": "国家级名单"}
    problem(await d.staff("POST", "/v1/units/auto-listings", "bureau", json=listing), 422, "$.uscc", "uscc_invalid")
    ban = {"evaluator_uscc": wrong_check, "ground": "falsification", "reason": "出具虚假报告"}
    problem(await d.staff("POST", "/v1/evaluator-bans", "bureau", json=ban), 422, "$.evaluator_uscc", "uscc_invalid")
    for path in (f"/v1/units/unit-{wrong_check}-annual-grading", f"/v1/tasks/unit-{wrong_check}-annual-grading.t1"):
        r = await d.staff("GET", path, "bureau")
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "uscc_invalid", r.text
    r = await d.staff("GET", "/v1/units/unit-123-annual-grading", "bureau")
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.workflow_id", r.text


async def test_a_district_cannot_pool_another_districts_unit(d: Desk) -> None:
    e = uscc(103)
    await d.evaluated(e, DAXING)
    await d.projected(f"unit-{e}-municipal-green-factory")
    entry = {"uscc": e, "enterprise_name": "北京示例新能源科技有限公司"}
    r = await d.staff("POST", "/v1/pool", "district", SHUNYI, json=entry)
    problem(r, 403, "$.uscc", "other_district")
    assert DAXING in r.json()["title"] and DAXING in r.json()["errors"][0]["message_zh"]
    assert (await d.staff("GET", "/v1/pool", "district", SHUNYI)).json()["items"] == []
    assert (await d.staff("POST", "/v1/pool", "district", DAXING, json=entry)).status_code == 201


async def test_a_declaration_and_a_pool_that_disagree_on_the_district_are_settled_by_the_bureau(d: Desk) -> None:
    e = uscc(104)
    wid = f"unit-{e}-municipal-green-factory"
    # 顺义区 cultivated the unit before it declared; it then declares in 大兴区.
    entry = {"uscc": e, "enterprise_name": "北京示例新能源科技有限公司"}
    assert (await d.staff("POST", "/v1/pool", "district", SHUNYI, json=entry)).status_code == 201
    await d.evaluated(e, DAXING)
    confirm = await d.task(wid, "confirm_district")
    assert confirm.role == "bureau" and confirm.decisions == [DAXING, SHUNYI]
    assert confirm.context["declared"] == DAXING and confirm.context["pool"] == SHUNYI
    assert [t.kind for t in await d.open_tasks(wid)] == ["confirm_district"], "no district recommends before it"
    for district in (DAXING, SHUNYI):
        assert (await d.staff("GET", "/v1/tasks", "district", district)).json()["items"] == []
    # A district cannot settle it; the bureau does, and the unit moves to the pool's district.
    r = await d.staff("POST", f"/v1/tasks/{confirm.task_id}/decision", "district", DAXING, json={"decision": DAXING})
    assert r.status_code == 403, r.text
    choice = {"decision": SHUNYI, "reason": "厂区实际位于顺义区，申报时误填"}
    r = await d.staff("POST", f"/v1/tasks/{confirm.task_id}/decision", "bureau", json=choice)
    assert r.status_code == 200, r.text
    recommend = await d.task(wid, "recommend")
    assert recommend.task_district == SHUNYI and recommend.unit_district == SHUNYI
    assert recommend.context["in_pool"] is True
    row = await d.projected(wid, lambda r: r.district == SHUNYI)
    assert row.state == "awaiting_recommendation"
    assert (await d.staff("GET", f"/v1/units/{wid}", "district", DAXING)).status_code == 403
    unit = (await d.staff("GET", f"/v1/units/{wid}", "district", SHUNYI)).json()
    assert any("厂区实际位于顺义区" in step["reason"] for step in unit["timeline"])
    assert [t["kind"] for t in (await d.staff("GET", "/v1/tasks", "district", SHUNYI)).json()["items"]] == ["recommend"]


async def test_an_objection_is_taken_only_during_publicity_from_anyone_signed_in(d: Desk, nats: Nats) -> None:
    e = uscc(105)
    wid = f"unit-{e}-municipal-green-factory"
    await d.evaluated(e, DAXING)
    objection = {
        "kind": "objection",
        "uscc": e,
        "designation": "municipal-green-factory",
        "reason": "能耗数据与实际不符",
    }
    problem(await d.notice(objection, "evaluator", uscc(901)), 409, "$.uscc", "not_in_publicity")
    recommend = await d.task(wid, "recommend")
    decided = await d.staff("POST", f"/v1/tasks/{recommend.task_id}/decision", "district", DAXING,
                            json={"decision": "recommend", "reason": "区级培育对象"})  # fmt: skip
    assert decided.status_code == 200, decided.text
    review = await d.task(wid, "review")
    approval = {"decision": "approve", "reason": "分级结果另行核实"}
    approved = await d.staff("POST", f"/v1/tasks/{review.task_id}/decision", "bureau", json=approval)
    assert approved.status_code == 200, approved.text
    await d.projected(wid, lambda r: r.state == "publicity")

    # The README's path, as the enterprise hears it: "市级评审中" once; the approval's reason is a note.
    steps = [e for e in await stream_messages(nats.url, subjects.LIFECYCLE.name) if e.get("workflow_id") == wid]
    titles = [
        draft.title
        for e in steps
        if e["type"] == "unit.changed"
        for draft in for_unit_changed(UnitChanged.model_validate(e), load_templates(), Links("portal", "staff"))
    ]
    assert titles == [
        "申报状态更新：待区级推荐",
        "申报状态更新：市级评审中",
        "办理记录：北京示例新能源科技有限公司（仍为市级评审中）",
        "申报状态更新：公示中",
    ], titles

    r = await d.notice(objection, "evaluator", uscc(901))
    assert r.status_code == 202, r.text
    await d.projected(wid, lambda r: r.state == "objection_review")
    # A district report from another district is refused even on a publicised unit.
    problem(await d.notice(report(e), "district", SHUNYI), 403, "$.uscc", "other_district")
