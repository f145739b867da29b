"""Refusals in the page with nothing changed (wrong district, an auditor, another enterprise), an expired
session sending the person to sign in and back, bad input kept beside its field, and every page's
accessibility at 1280 and 390 px."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from greenfab.auth import Principal, issue_token
from greenfab_cli.stack import auth_secret
from tests.browser.conftest import Console
from tests.browser.helpers import ROOT
from tests.conftest import uscc
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser
VICTIM = uscc(7101)
OTHER = uscc(7102)


@pytest.fixture(scope="module")
def waiting_unit(stack: Stack) -> dict[str, Any]:
    """A green-factory unit of 顺义区 waiting on its district's recommendation (set up through the APIs)."""
    with stack.client("workflow", "bureau", None) as bureau:
        r = bureau.post("/v1/calls", json={"scheme": "green-factory", "title": "拒绝场景征集", "opens_on": "2025-01-01",
                                           "closes_on": "2030-12-31"})  # fmt: skip
        assert r.status_code == 201, r.text
    body = json.loads((ROOT / "examples" / "green-factory-declaration.json").read_text(encoding="utf-8"))
    body |= {"uscc": VICTIM, "enterprise_name": "北京受测示例有限公司", "district": "顺义区"}
    with stack.client("intake", "enterprise", VICTIM) as intake:
        r = intake.post("/v1/declarations", json=body)
        assert r.status_code == 202, r.text
        declaration_id = r.json()["id"]
    with stack.client("workflow", "district", "顺义区") as district:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            tasks = [t for t in district.get("/v1/tasks").json()["items"] if t["uscc"] == VICTIM]
            if tasks:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("no recommend task")
    return {"task": tasks[0], "declaration_id": declaration_id, "wid": tasks[0]["workflow_id"]}


def unchanged(stack: Stack, unit: dict[str, Any]) -> None:
    with stack.client("workflow", "bureau", None) as api:
        task = api.get(f"/v1/tasks/{unit['task']['task_id']}").json()
        state = api.get(f"/v1/units/{unit['wid']}").json()
    assert task["status"] == "open" and task["claimed_by"] is None and task["decision"] is None
    assert state["state"] == "awaiting_recommendation" and len(state["timeline"]) == 1


def test_the_wrong_district_sees_a_refusal_and_nothing_changes(
    stack: Stack, open_console: Any, waiting_unit: dict[str, Any]
) -> None:
    haidian: Console = open_console("wrong-district")
    haidian.sign_in("district", "海淀区", "haidian-zhao")
    page = haidian.goto("/tasks")
    assert "北京受测示例有限公司" not in page.inner_text("main")
    page = haidian.goto(f"/tasks/{waiting_unit['task']['task_id']}")
    # Another district's task and unit: refused (403, as the README states), and nothing of them shown.
    assert "该事项不在您的办理范围内" in page.inner_text("main") and page.get_by_role("alert").is_visible()
    haidian.check("wrong-district-task")
    page = haidian.goto(f"/units/{waiting_unit['wid']}")
    assert "该单位不属于您所在的区" in page.inner_text("main") and "北京受测示例有限公司" not in page.inner_text("main")
    unchanged(stack, waiting_unit)


def test_an_auditor_reads_everything_and_every_action_is_refused_in_place(
    stack: Stack, open_console: Any, waiting_unit: dict[str, Any]
) -> None:
    auditor: Console = open_console("auditor")
    auditor.sign_in("auditor", subject="auditor-zhang")
    page = auditor.goto(f"/tasks/{waiting_unit['task']['task_id']}")
    assert "91.76" in page.inner_text("main") and "不能办理" in page.inner_text("main")
    page.get_by_label("推荐", exact=True).check()
    page.get_by_label("理由").fill("审计人员试图办理")
    page.get_by_role("button", name="提交决定").click()
    alert = page.get_by_role("alert").inner_text()
    assert "未能完成" in alert and "未作任何更改" in alert
    # Who may act is named in Chinese in the refusal, not by the role's id ("须由district办理").
    assert "该事项须由区工业主管部门办理" in alert and "district" not in alert
    assert page.get_by_label("理由").input_value() == "审计人员试图办理"
    auditor.check("auditor-refused", ("desktop", "phone"))
    page.get_by_role("button", name="认领").click()
    assert "未能完成" in page.get_by_role("alert").inner_text()
    page = auditor.goto(f"/units/{waiting_unit['wid']}")
    assert "审计记录" in page.inner_text("main") and "待区级推荐" in page.inner_text("main")
    # The running deadline, its owner and the system's own steps by their Chinese names, in the table and the picture,
    # and the audit record (folded away in <details>, so read as text content) names the scheme.
    main = page.locator("main").text_content() or ""
    assert "区工业主管部门推荐" in main and "系统（流程服务）" in main and "申报已受理：绿色工厂" in main
    assert "district-recommendation" not in page.content() and "系统 workflow" not in main
    auditor.check("auditor-unit")
    page = auditor.goto("/calls")
    assert "审计人员只读" in page.inner_text("main") and page.get_by_role("button", name="发布").count() == 0
    unchanged(stack, waiting_unit)


def test_an_enterprise_cannot_read_or_act_on_another_enterprises_unit(
    stack: Stack, open_console: Any, waiting_unit: dict[str, Any]
) -> None:
    other: Console = open_console("other-enterprise")
    other.sign_in("enterprise", OTHER)
    page = other.goto(f"/units/{waiting_unit['wid']}")
    assert "未找到该单位" in page.inner_text("main")
    page = other.goto(f"/declarations/{waiting_unit['declaration_id']}")
    assert "未找到该申报" in page.inner_text("main")
    other.check("other-enterprise-declaration")
    page = other.goto(f"/notices/new?kind=rename&uscc={VICTIM}")
    page.get_by_label("原名称").fill("北京受测示例有限公司")
    page.get_by_label("新名称").fill("北京冒名顶替有限公司")
    page.get_by_label("工商变更完成日期").fill("2026-11-01")
    page.get_by_role("button", name="提交").click()
    alert = page.get_by_role("alert").inner_text()
    assert "只有该单位本身可以提交" in alert and "未作任何更改" in alert
    assert page.get_by_label("新名称").input_value() == "北京冒名顶替有限公司"
    other.check("other-enterprise-rename", ("desktop", "phone"))
    unchanged(stack, waiting_unit)


def test_an_expired_session_goes_to_sign_in_and_back(stack: Stack, open_console: Any) -> None:
    person: Console = open_console("expired")
    expired = issue_token(
        auth_secret(stack.data_dir), Principal(role="bureau", subject="bureau-li"), ttl=timedelta(seconds=-5)
    )
    person.context.add_cookies([{"name": "greenfab_session", "value": expired, "url": stack.url("console")}])
    page = person.goto("/registry?district=顺义区")
    assert "/signin" in page.url and "登录已过期" in page.inner_text("main")
    person.check("signin-expired", ("desktop", "phone"))
    page.get_by_label("身份").select_option("bureau")
    page.get_by_label("姓名或工号").fill("bureau-li")
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert page.url.endswith("/registry?district=%E9%A1%BA%E4%B9%89%E5%8C%BA") or "registry" in page.url
    assert page.get_by_role("heading", name="单位名录").is_visible()


def test_bad_input_is_kept_and_each_problem_is_beside_its_field(open_console: Any) -> None:
    bureau: Console = open_console("bad-input")
    bureau.sign_in("bureau", subject="bureau-li")
    page = bureau.goto("/calls")
    page.get_by_label("申报类型").select_option("green-factory")
    page.get_by_label("通知名称").fill("")
    page.get_by_label("开始日期").fill("2026-12-31")
    page.get_by_role("button", name="发布").click()
    assert page.get_by_label("通知名称").get_attribute("aria-invalid") == "true"
    assert page.locator("#in-title-err").inner_text() == "必填"
    assert page.locator("#in-closes_on-err").inner_text() == "必填"
    assert page.get_by_label("开始日期").input_value() == "2026-12-31"
    bureau.check("calls-bad-input")
    enterprise: Console = open_console("bad-notice")
    enterprise.sign_in("enterprise", VICTIM)
    page = enterprise.goto("/notices/new?kind=major_adjustment")
    page.get_by_label("调整类型").select_option("relocation")
    page.get_by_label("完成日期").fill("2026-11-20")
    page.get_by_role("button", name="提交").click()
    assert page.get_by_label("调整内容").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("完成日期").input_value() == "2026-11-20"
    enterprise.check("notice-bad-input", ("desktop", "phone"))


PAGES: dict[tuple[str, str | None] | None, list[str]] = {
    None: ["/", "/signin", "/public/listed", "/public/grades", "/public/calls", "/no-such-page"],
    ("bureau", None): ["/dashboard", "/tasks", "/registry", "/registry?designation=annual-grading", "/pool", "/bans",
                       "/deliveries", "/deliveries?status=", "/inbox", "/calls"],
    ("enterprise", VICTIM): ["/my", "/declare", "/declare/grading", "/declare/green-factory",
                             "/declare/beautiful-factory", "/notices/new?kind=objection", "/inbox"],
    ("district", "顺义区"): ["/tasks?soon=1", "/pool", "/registry"],
    ("expert", None): ["/tasks"],
    ("auditor", None): ["/dashboard", "/registry", "/calls", "/pool", "/bans", "/deliveries?status=dead"],
}  # fmt: skip


@pytest.mark.parametrize("who", list(PAGES), ids=lambda w: w[0] if w else "public")
def test_every_page_is_accessible_and_fits_a_phone(open_console: Any, who: tuple[str, str | None] | None) -> None:
    console: Console = open_console(f"pages-{who[0] if who else 'public'}")
    if who:
        console.sign_in(who[0], who[1], f"{who[0]}-demo")
    for path in PAGES[who]:
        console.goto(path)
        console.check(path.strip("/").replace("/", "-") or "home", ("desktop", "phone"))


def test_the_keyboard_reaches_the_skip_link_first_and_focus_is_visible(open_console: Any) -> None:
    console: Console = open_console("keyboard")
    page = console.goto("/public/listed")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
