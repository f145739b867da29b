"""The green-factory walkthrough in the browser, with nothing typed in a terminal.

The bureau opens a call; the district puts the unit in its pool; the enterprise declares through
the form (a mistake first: shown beside its field, everything typed kept) and uploads evidence;
the district recommends; the bureau reviews (approval without the reason 第八条 needs is refused
in place) and approves with a reason; an objection is filed and resolved; five working days of
publicity pass (on the time-skipping server) and the unit is on the public list.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Console, TimeServer
from tests.browser.helpers import (
    PDF,
    example,
    fill_form,
    form_definition,
    has_row,
    has_text,
    reload_until,
    typed_values,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser
USCC = "91110113MA001N9R6P"
NAME = "北京示例食品饮料有限公司"
OBJECTOR = "91110108MA01XK3T2Q"


def task_state(stack: Stack, task_id: str) -> dict[str, Any]:
    with stack.client("workflow", "bureau", None) as api:
        return dict(api.get(f"/v1/tasks/{task_id}").json())


def test_green_factory_walkthrough_in_the_browser(
    stack: Stack, time_server: TimeServer, open_console: Any, tmp_path: Any
) -> None:
    today = stack_today()
    bureau: Console = open_console("bureau")
    bureau.sign_in("bureau", subject="bureau-li")
    page = bureau.goto("/calls")
    page.get_by_label("申报类型").select_option("green-factory")
    page.get_by_label("通知名称").fill("2026年北京市绿色工厂征集通知")
    page.get_by_label("开始日期").fill("2025-01-01")
    page.get_by_label("截止日期").fill((today + timedelta(days=365)).isoformat())
    page.get_by_role("button", name="发布").click()
    assert "2026年北京市绿色工厂征集通知" in page.inner_text("main")
    bureau.check("calls", ("desktop", "phone"))

    district: Console = open_console("district")
    district.sign_in("district", "顺义区", "shunyi-wang")
    page = district.goto("/pool")
    page.get_by_label("统一社会信用代码").fill(USCC)
    page.get_by_label("单位名称").fill(NAME)
    page.get_by_role("button", name="纳入").click()
    assert USCC in page.inner_text("main")
    district.check("pool")

    # The enterprise declares through the form generated from intake's form definition.
    enterprise: Console = open_console("enterprise")
    enterprise.sign_in("enterprise", USCC)
    page = enterprise.goto("/declare")
    enterprise.check("declare-choose")
    page.get_by_role("link", name="北京市绿色工厂").click()
    declaration = example("green-factory-declaration.json")
    values = typed_values(form_definition(stack.url("intake"), "green-factory"), declaration["data"])
    page.get_by_label("申报单位").fill(NAME)
    page.get_by_label("所在区").fill("顺义")
    page.get_by_label("申报日期").fill(declaration["declared_on"])
    fill_form(page, values)
    page.locator('[name="自评价总分"]').fill("八十六点五分")  # a slip of the pen
    page.get_by_role("button", name="提交申报").click()
    assert page.get_by_role("alert").is_visible()
    score_field = page.locator('[name="自评价总分"]')
    assert score_field.get_attribute("aria-invalid") == "true"
    error_id = score_field.get_attribute("aria-describedby").split()[-1]  # type: ignore[union-attr]
    assert page.locator(f"#{error_id}").inner_text().strip(), "the problem is written beside the field"
    assert page.get_by_label("申报单位").input_value() == NAME, "what was typed is kept"
    assert page.locator('[name="绩效数据/总建筑物建筑面积"]').input_value() == values["绩效数据/总建筑物建筑面积"]
    enterprise.check("declare-error", ("desktop", "phone"))
    with httpx.Client(base_url=stack.url("intake"), headers=bearer(stack, "enterprise", USCC)) as api:
        assert api.get("/v1/declarations").json()["items"] == [], "a refused form stores nothing"

    score_field.fill(str(declaration["data"]["self_evaluation_total"]))
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_url("**/declarations/*")
    reload_until(page, has_text("评分结果"), "the evaluation")
    assert "91.76" in page.inner_text("main")
    enterprise.check("declaration", ("desktop", "phone"))
    pdf = tmp_path / "计量器具配备清单.pdf"
    pdf.write_bytes(PDF)
    # The form lists no evidence: the rulebook's items are offered by id and (shortened) name.
    page.get_by_label("指标").select_option(label="GF-1-16 依据GB 17167…")
    page.get_by_label("文件（PDF、JPEG、PNG、xlsx、docx，20 MB 以内）").set_input_files(str(pdf))
    page.get_by_role("button", name="上传").click()
    assert "计量器具配备清单.pdf" in page.inner_text("main")

    # The district recommends from its inbox.
    page = district.goto("/tasks")
    reload_until(page, has_row(NAME, "区级推荐"), "the district's recommend task")
    district.check("inbox", ("desktop", "phone"))
    page.get_by_role("button", name=f"认领 区级推荐 {NAME}").click()
    assert "已认领" in page.inner_text("main")
    page.locator("tr", has_text=NAME).get_by_role("link", name="区级推荐").click()
    assert "91.76" in page.inner_text("main") and "计量器具配备清单.pdf" in page.inner_text("main")
    district.check("task-recommend", ("desktop", "phone"))
    page.get_by_label("推荐", exact=True).check()
    page.get_by_role("button", name="提交决定").click()
    assert "已提交决定" in page.inner_text("main")

    # The bureau reviews: approval without the reason 第八条 asks for is refused in place.
    page = bureau.goto("/tasks")
    reload_until(page, has_row(NAME, "市级评审"), "the bureau's review task")
    page.locator("tr", has_text=NAME).get_by_role("link", name="市级评审").click()
    task_id = page.url.rsplit("/", 1)[-1]
    page.get_by_label("通过", exact=True).check()
    page.get_by_role("button", name="提交决定").click()
    refusal = page.get_by_role("alert")
    assert "未能完成" in refusal.inner_text() and "未作任何更改" in refusal.inner_text()
    assert page.get_by_label("通过", exact=True).is_checked(), "the decision is kept"
    assert task_state(stack, task_id)["status"] in ("open", "claimed"), "nothing changed"
    bureau.check("task-review-refused", ("desktop", "phone"))
    page.get_by_label("理由").fill("分级结果另行核实")
    page.get_by_role("button", name="提交决定").click()
    assert "已提交决定" in page.inner_text("main")
    assert task_state(stack, task_id)["decision"] == "approve"

    # The enterprise follows its unit: publicity, with the days it lasts.
    page = enterprise.goto("/my")
    page.get_by_role("link", name="市级绿色工厂").click()
    reload_until(page, has_text("公示中"), "publicity")
    enterprise.check("unit-publicity", ("desktop", "phone"))

    # Someone else objects during publicity; the bureau resolves the objection.
    objector: Console = open_console("objector")
    objector.sign_in("enterprise", OBJECTOR)
    page = objector.goto(f"/notices/new?kind=objection&uscc={USCC}&designation=municipal-green-factory")
    page.get_by_label("异议理由").fill("该单位近三年曾发生环保处罚，请予核实。")
    page.get_by_label("联系方式").fill("010-12345678")
    page.get_by_role("button", name="提交").click()
    assert "已提交" in page.inner_text("main")
    objector.check("objection")
    page = bureau.goto("/tasks")
    reload_until(page, has_row(NAME, "异议处理"), "the objection task")
    page.locator("tr", has_text=NAME).get_by_role("link", name="异议处理").click()
    page.get_by_label("异议不成立").check()
    page.get_by_label("理由").fill("经核实，处罚发生于四年前，不在考察期内。")
    page.get_by_role("button", name="提交决定").click()
    assert "已提交决定" in page.inner_text("main")
    bureau.goto("/dashboard")
    bureau.check("dashboard", ("desktop", "phone"))

    # Five working days of publicity pass; the unit is listed and on the public list.
    wid = f"unit-{USCC}-municipal-green-factory"
    wait_listed(stack, time_server, wid)
    public: Console = open_console("public")
    page = public.goto("/public/listed")
    page.get_by_label("所在区").select_option("顺义区")
    page.get_by_role("button", name="筛选").click()
    assert NAME in page.inner_text("main")
    public.check("public-listed", ("desktop", "phone"))
    page = enterprise.goto(f"/units/{wid}")
    assert "已入围" in page.inner_text("main")
    enterprise.check("unit-listed")


def bearer(stack: Stack, role: str, scope: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(role, scope)}"}


def stack_today() -> Any:
    from services.console.days import today

    return today()


def wait_listed(stack: Stack, time_server: TimeServer, wid: str) -> None:
    """Skip a day at a time (holidays can stretch five working days) until the unit is listed."""
    with stack.client("workflow", "bureau", None) as api:
        for _ in range(40):
            unit = api.get(f"/v1/units/{wid}").json()
            if unit["state"] == "listed":
                return
            assert unit["state"] == "publicity", unit["state"]
            time_server.skip(timedelta(days=1))
        raise AssertionError(f"{wid} not listed after 40 days")
