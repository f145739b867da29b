"""What the browser tests share: waiting on pages that change by themselves, and typing a form as a person would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.support import hostile

ROOT = Path(__file__).resolve().parents[2]
PDF = hostile.pdf()  # a whole one-page PDF: intake reads every upload and refuses a broken one


def reload_until(page: Page, ready: Callable[[Page], bool], what: str, timeout: float = 90) -> None:
    """Reload until ``ready`` (scoring and workflow steps happen in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready(page):
            return
        time.sleep(0.7)
        page.reload()
    raise AssertionError(f"{what}: not on the page after {timeout} s; it shows:\n{page.inner_text('main')[:2000]}")


def has_text(text: str) -> Callable[[Page], bool]:
    return lambda page: text in page.inner_text("main")


def has_row(*texts: str) -> Callable[[Page], bool]:
    """A table row holding every one of ``texts`` (e.g. the enterprise and the kind of task)."""

    def ready(page: Page) -> bool:
        rows = page.locator("tr")
        for text in texts:
            rows = rows.filter(has_text=text)
        return rows.count() > 0

    return ready


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "examples" / name).read_text(encoding="utf-8")))


def typed_values(definition: dict[str, Any], data: dict[str, Any]) -> dict[str, str | list[str]]:
    """What a person types into each field for a declaration's data (是/否 for ticks, numbers as written)."""
    out: dict[str, str | list[str]] = {}
    for field in definition["fields"]:
        if field["type"] == "header" or not field["inputs"]:
            continue
        values = [data.get(i) for i in field["inputs"]]
        if all(v is None for v in values):
            continue
        value = values[0]
        if field["type"] == "tick":
            out[field["path"]] = "是" if value else "否"
        elif field["type"] == "choice":
            label = next((o for o in field["options"] if _choice_value(definition, field, o) == value), None)
            if label is not None:
                out[field["path"]] = label
        elif field["type"] == "base_final":
            out[field["path"]] = f"2021年: {values[0]}; 2024年: {values[1]}"
        elif field["type"] == "described":
            out[field["path"]] = "厂区雨水回收景观工程" if value else "无"
        elif isinstance(value, bool):
            out[field["path"]] = "是" if value else "否"
        else:
            out[field["path"]] = str(value)
    return out


CHOICES = {
    "国家级": "national", "市级": "municipal", "浅绿": "light_green", "深绿": "dark_green", "领航级": "miit_pilot",
    "灯塔工厂": "lighthouse", "卓越级": "miit_excellent", "北京市先进级": "beijing_advanced",
    "北京市基础级": "beijing_basic", "无": "none", "三星级": "three_star", "二星级": "two_star",
    "装配式": "prefabricated",
}  # fmt: skip


def _choice_value(definition: dict[str, Any], field: dict[str, Any], label: str) -> str:
    return CHOICES.get(label, label)


def form_definition(intake_url: str, scheme: str) -> dict[str, Any]:
    return dict(httpx.get(f"{intake_url}/v1/forms/{scheme}", timeout=10).json())


def fill_form(page: Page, values: dict[str, str | list[str]]) -> None:
    """Type each value into the field named by its label path: a select's option, boxes ticked, or text."""
    for path, value in values.items():
        field = page.locator(f'[name="{css(path)}"]')
        if isinstance(value, list):
            for v in value:
                page.locator(f'[name="{css(path)}"][value="{css(v)}"]').check()
        elif field.first.evaluate("e => e.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)


def css(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
