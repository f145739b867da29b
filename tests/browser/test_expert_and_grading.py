"""An expert scores a beautiful-factory declaration's discretionary items in the browser, and the
total moves from provisional to final; an annual grading arrives as a filled-in workbook and its
grade is published at once, by district."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import Console
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
from tests.browser.test_walkthrough import stack_today, task_state
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser
BF_USCC = "91110108MA01XK3T2Q"
BF_NAME = "北京示例精密制造有限公司"
GRADING_USCC = "91110115MA04C2UX1E"


def test_an_expert_scores_a_beautiful_factory_and_the_total_becomes_final(
    stack: Stack, open_console: Any, tmp_path: Path
) -> None:
    bureau: Console = open_console("bureau-bf")
    bureau.sign_in("bureau", subject="bureau-li")
    page = bureau.goto("/calls")
    page.get_by_label("申报类型").select_option("beautiful-factory")
    page.get_by_label("通知名称").fill("2026年北京市美丽工厂案例征集通知")
    page.get_by_label("开始日期").fill("2025-01-01")
    page.get_by_label("截止日期").fill((stack_today() + timedelta(days=365)).isoformat())
    page.get_by_role("button", name="发布").click()
    assert "美丽工厂案例征集通知" in page.inner_text("main")

    enterprise: Console = open_console("enterprise-bf")
    enterprise.sign_in("enterprise", BF_USCC)
    page = enterprise.goto("/declare/beautiful-factory")
    declaration = example("beautiful-factory-declaration.json")
    page.get_by_label("申报单位").fill(BF_NAME)
    page.get_by_label("所在区").fill("海淀")
    page.get_by_label("申报日期").fill(declaration["declared_on"])
    fill_form(page, typed_values(form_definition(stack.url("intake"), "beautiful-factory"), declaration["data"]))
    enterprise.check("declare-beautiful-factory", ("desktop", "phone"))
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_url("**/declarations/*")
    reload_until(page, has_text("评分结果"), "the evaluation")
    text = page.inner_text("main")
    assert "69.25" in text and "暂定" in text and "缺少（必需）" in text
    pdf = tmp_path / "碳排放弹性系数测算.pdf"
    pdf.write_bytes(PDF)
    page.get_by_label("指标").select_option("BF-3")
    page.get_by_label("文件（PDF、JPEG、PNG、xlsx、docx，20 MB 以内）").set_input_files(str(pdf))
    page.get_by_role("button", name="上传").click()
    assert "碳排放弹性系数测算.pdf" in page.inner_text("main")

    district: Console = open_console("district-bf")
    district.sign_in("district", "海淀区", "haidian-zhao")
    page = district.goto("/tasks")
    reload_until(page, has_row(BF_NAME, "区级推荐"), "the recommend task")
    page.locator("tr", has_text=BF_NAME).get_by_role("link", name="区级推荐").click()
    page.get_by_label("推荐", exact=True).check()
    page.get_by_label("理由").fill("未在培育名单，经现场核实予以推荐")
    page.get_by_role("button", name="提交决定").click()
    assert "已提交决定" in page.inner_text("main")

    # Three discretionary items, each the expert's; too many points is refused in place.
    expert: Console = open_console("expert")
    expert.sign_in("expert", subject="expert-chen")
    page = expert.goto("/tasks")
    reload_until(page, has_text("专家评分"), "the expert tasks")
    links = page.locator("table").get_by_role("link", name="专家评分")
    urls = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(urls) == 3
    awarded = Decimal(0)
    for n, url in enumerate(urls):
        page = expert.goto(str(url))
        assert "暂定总分" in page.inner_text("main")
        if n == 0:
            page.get_by_label("专家评分", exact=False).fill("99")
            page.get_by_label("理由").fill("现场核查")
            page.get_by_role("button", name="提交决定").click()
            alert = page.get_by_role("alert").inner_text()
            assert "分值须在" in alert and "未作任何更改" in alert
            assert page.get_by_label("专家评分", exact=False).input_value() == "99", "what was typed is kept"
            assert task_state(stack, str(url).rsplit("/", 1)[-1])["status"] in ("open", "claimed")
            expert.check("expert-refused", ("desktop", "phone"))
        page.get_by_label("专家评分", exact=False).fill("4")
        page.get_by_label("理由").fill("现场核查，效果良好")
        page.get_by_role("button", name="提交决定").click()
        assert "已提交决定" in page.inner_text("main")
        awarded += 4

    final = Decimal("69.25") + awarded
    page = enterprise.goto("/my")
    page.get_by_role("link", name="美丽工厂").click()
    reload_until(page, has_text(f"总分重新计算为 {final}"), "the recomputed total on the unit's timeline")
    enterprise.check("unit-rescored")

    page = bureau.goto("/tasks")
    reload_until(page, has_row(BF_NAME, "市级评审"), "the review task")
    page.locator("tr", has_text=BF_NAME).get_by_role("link", name="市级评审").click()
    assert f"总分 {final} 最终" in page.inner_text("main"), "the review sees the final total, expert points in"
    page.get_by_label("通过", exact=True).check()
    page.get_by_role("button", name="提交决定").click()
    assert "已提交决定" in page.inner_text("main"), page.inner_text("main")


def test_an_annual_grading_from_the_workbook_is_published_by_district(
    stack: Stack, open_console: Any, tmp_path: Path
) -> None:
    enterprise: Console = open_console("enterprise-grading")
    enterprise.sign_in("enterprise", GRADING_USCC)
    page = enterprise.goto("/declare/grading")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel 申报表").click()
    workbook_path = tmp_path / "grading.xlsx"
    download.value.save_as(workbook_path)

    # Filled in a spreadsheet program, as the enterprise would (column 填写).
    answers = flatten(example("forms/grading-2025.json"))
    wb = load_workbook(workbook_path)
    sheet = wb["申报表"]
    for row in sheet.iter_rows(min_row=2):
        value = answers.get(str(row[0].value))
        if value is not None:
            row[1].value = "、".join(value) if isinstance(value, list) else value
    wb.save(workbook_path)

    page.get_by_label("填好的申报表（.xlsx）").set_input_files(str(workbook_path))
    page.get_by_role("button", name="上传并提交").click()
    page.wait_for_url("**/declarations/*")
    reload_until(page, has_text("评分结果"), "the evaluation")
    assert "81.11" in page.inner_text("main") and "等级 3 级" in page.inner_text("main")
    enterprise.check("grading-declaration")

    public: Console = open_console("public-grades")
    page = public.goto("/public/grades")
    page.get_by_label("所在区").select_option("大兴区")
    page.get_by_role("button", name="筛选").click()
    reload_until(page, has_text("北京示例新能源科技有限公司"), "the published grade")
    public.check("public-grades", ("desktop", "phone"))

    auditor: Console = open_console("auditor-dashboard")
    auditor.sign_in("auditor", subject="auditor-zhang")
    page = auditor.goto("/dashboard")
    assert "大兴区" in page.inner_text("main")
    auditor.check("dashboard", ("desktop", "phone"))


def flatten(form: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in form.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out
