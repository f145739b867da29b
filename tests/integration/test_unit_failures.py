"""No input wedges a unit, and a unit whose workflow fails is named and listed, on real servers.

A date in year 9999 used to make the deadline arithmetic raise inside the workflow, Temporal retried
the task for ever and every read of the unit answered 503 after 30 s. Now such a date is refused at
each door (intake's route, the NATS consumer), and one that reaches the workflow anyway (a signal sent
straight to Temporal) is dropped with a recorded fault while the unit carries on. An action the
workflow cannot apply is refused by its validator. And the staff API tells "Temporal is away" (503,
Retry-After) apart from "this unit's workflow is failing" (500, named, in the bureau's list).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Worker

from contracts import subjects
from contracts.envelope import Actor
from contracts.messages import NoticeReceived
from contracts.schemes import Designation
from greenfab.messaging import publish
from services.workflow.domain.state import NoticeFacts, Task, TaskAction, UnitState
from services.workflow.model import LifecycleInput
from services.workflow.workflows import UnitLifecycleWorkflow
from tests.conftest import uscc
from tests.support.broken_workflow import BROKEN, BrokenLifecycle
from tests.support.desk import Desk, desk, eventually
from tests.support.servers import Nats
from tests.support.streams import stream_messages
from tests.support.temporal import temporal_dev_server

DAXING = "大兴区"
DISTRICT_STAFF = Actor(role="district", subject="daxing-wang", scope=DAXING)


@pytest.fixture
async def d(temporal_dev: str, nats: Nats, tmp_path: Path) -> AsyncIterator[Desk]:
    async with desk(temporal_dev, nats, tmp_path) as the_desk:
        yield the_desk


async def listed(d: Desk, code: str) -> str:
    body = {"uscc": code, "district": DAXING, "enterprise_name": "北京示例有限公司", "reason": "国家级绿色工厂名单"}
    r = await d.staff("POST", "/v1/units/auto-listings", "bureau", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["workflow_id"])


def name_change(code: str, observed_on: str) -> dict[str, Any]:
    return {"kind": "district_report", "uscc": code, "finding": "name_change", "observed_on": observed_on,
            "details": "营业执照名称已变更"}  # fmt: skip


async def test_a_date_in_year_9999_is_refused_at_every_door_and_never_freezes_a_unit(d: Desk, nats: Nats) -> None:
    e = uscc(301)
    wid = await listed(d, e)

    # 1. Intake's route: refused by field, naming the plausible range.
    r = await d.notice(name_change(e, "9999-12-31"), "district", DAXING)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert (error["path"], error["code"]) == ("$.district_report.observed_on", "date_out_of_range")
    assert "1949-10-01" in error["message_en"] and "9999-12-31" in error["message_en"]
    rename = {"kind": "rename", "uscc": e, "old_name": "甲", "new_name": "乙", "completed_on": "9999-12-01"}
    assert (await d.notice(rename, "enterprise", e)).status_code == 422

    # 2. Straight onto NATS: the workflow's consumer refuses it (dead-lettered), the unit never sees it.
    forged = NoticeReceived(
        correlation_id="c-9999", actor=DISTRICT_STAFF, notice_id="n-9999-nats", uscc=e, district=DAXING,
        notice=name_change(e, "9999-12-31"),
    )  # fmt: skip
    await publish(d.workflow.broker, subjects.NOTICE_RECEIVED, forged)
    letters = await stream_messages(nats.url, subjects.DEAD_LETTERS.name, at_least=1, timeout=30)
    assert any("date_out_of_range" in x["error"] for x in letters), letters

    # 3. Straight to Temporal, past every check: the workflow drops each with a fault and carries on.
    handle = d.temporal.get_workflow_handle(wid)
    for notice_id, data in (
        ("n-9999-report", name_change(e, "9999-12-31")),
        ("n-9999-edge", name_change(e, "9999-12-01")),  # due 9999-12-31: only its alarm overflows
    ):
        facts = NoticeFacts(notice_id=notice_id, correlation_id=notice_id, kind=data["kind"], data=data,
                            filed_at=datetime.now(UTC), actor=DISTRICT_STAFF)  # fmt: skip
        await handle.signal(UnitLifecycleWorkflow.notice_received, facts)

    async def faulted() -> dict[str, Any] | None:
        r = await d.staff("GET", f"/v1/units/{wid}", "bureau", timeout=10)
        assert r.status_code == 200, r.text  # read at once, never a 503 after 30 s
        return r.json() if len(r.json()["faults"]) == 2 else None

    unit = await eventually(faulted, "both faults recorded")
    assert unit["state"] == "listed" and unit["deadlines"] == []
    assert [f["input"] for f in unit["faults"]] == [
        "区级报告通知 n-9999-report",
        "区级报告通知 n-9999-edge",
    ]
    assert all("OverflowError" in f["error"] for f in unit["faults"])
    assert "无法处理" in unit["timeline"][-1]["reason"] and unit["timeline"][-1]["state"] == "listed"
    # The unit is not failing, and it still takes what it can apply.
    assert (await d.staff("GET", "/v1/units/failing", "bureau")).json() == []
    r = await d.staff("POST", f"/v1/units/{wid}/actions", "bureau", json={"command": "start_review", "reason": "复核"})
    assert r.status_code == 200 and r.json()["state"] == "under_recheck", r.text


async def test_an_action_the_workflow_cannot_apply_is_refused_by_its_validator(d: Desk) -> None:
    # A unit carried into a new run without the evaluation its open task needs (as a buggy earlier
    # version could have left it): deciding the task would fail inside the workflow, for ever.
    e = uscc(302)
    wid = f"unit-{e}-municipal-green-factory"
    now = datetime.now(UTC)
    task = Task(id=f"{wid}.t1", kind="recommend", title_zh="区级推荐", role="district", district=DAXING,
                opened_at=now, decisions=["recommend", "decline"], clause="003 第八条")  # fmt: skip
    state = UnitState(
        workflow_id=wid, uscc=e, district=DAXING, designation=Designation.MUNICIPAL_GREEN_FACTORY,
        enterprise_name="北京示例", state="awaiting_recommendation", task_seq=1, tasks=[task],
    )  # fmt: skip
    await d.temporal.start_workflow(
        UnitLifecycleWorkflow.run,
        LifecycleInput(uscc=e, district=DAXING, designation=Designation.MUNICIPAL_GREEN_FACTORY,
                       enterprise_name="北京示例", policy=d.workflow.policy, state=state),
        id=wid,
        task_queue=d.workflow.settings.task_queue,
    )  # fmt: skip
    handle = d.temporal.get_workflow_handle(wid)
    action = TaskAction(task_id=task.id, decision="recommend", reason="区级培育对象", actor=DISTRICT_STAFF)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(UnitLifecycleWorkflow.act, action)
    details = getattr(err.value.cause, "details", ())
    assert details and details[0]["code"] == "cannot_apply", details
    r = await d.staff("GET", f"/v1/units/{wid}", "district", DAXING, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "awaiting_recommendation" and r.json()["faults"] == []


async def test_temporal_away_and_a_failing_unit_are_told_apart(nats: Nats, tmp_path: Path) -> None:
    with temporal_dev_server() as server:
        async with desk(server.address, nats, tmp_path) as d:
            e = uscc(303)
            healthy = await d.evaluated(uscc(304), DAXING)
            await d.projected(healthy)
            wid = f"unit-{e}-municipal-green-factory"
            queue = f"broken-{uuid.uuid4().hex[:6]}"
            async with Worker(d.temporal, task_queue=queue, workflows=[BrokenLifecycle]):
                await d.temporal.start_workflow("UnitLifecycleWorkflow", {}, id=wid, task_queue=queue)

                async def listed_failing() -> list[dict[str, Any]] | None:
                    r = await d.staff("GET", "/v1/units/failing", "bureau")
                    assert r.status_code == 200, r.text
                    return [u for u in r.json() if u["workflow_id"] == wid] or None

                [failing] = await eventually(listed_failing, "the failing unit in the bureau's list", 90)
                assert failing["uscc"] == e and BROKEN in (failing["error"] or "")
                assert any("WorkflowTaskFailed" in p for p in failing["problems"]) and failing["attempts"] >= 2

                r = await d.staff("GET", f"/v1/units/{wid}", "bureau", timeout=20)
                assert r.status_code == 500, r.text
                assert r.json()["type"] == "urn:greenfab:problem:unit-workflow-failing" and BROKEN in r.json()["detail"]
                assert "retry-after" not in r.headers
                assert (await d.staff("GET", f"/v1/units/{wid}", "enterprise", uscc(305))).status_code == 404
                assert (await d.staff("GET", "/v1/units/failing", "district", DAXING)).status_code == 403
                assert (await d.staff("GET", f"/v1/units/{healthy}", "bureau")).status_code == 200

            # Now Temporal itself goes away: every unit answers 503 with Retry-After, and nothing is "failing".
            server.kill()
            away = await d.staff("GET", f"/v1/units/{healthy}", "bureau", timeout=60)
            assert away.status_code == 503, away.text
            assert away.json()["type"] == "urn:greenfab:problem:engine-unavailable" and away.headers["retry-after"]
