"""contracts.text on every request model that takes free text: what cannot be seen is refused by field, the
rest (Chinese, punctuation, and line breaks where a field takes several lines) is kept as sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import notices, rulebooks, staff
from contracts.http import DeclarationCreate
from contracts.text import find_invisible

USCC = "91110115MA04C2UX1E"
REFUSED = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\u061c", "\u200e", "\u200f",
           *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
           # zero-width and invisible format characters: the name looks the same and is another
           "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"]  # fmt: skip
DAY = "2025-06-01"

# Every request model with free text: a valid body, and its single-line and multi-line fields.
MODELS: list[tuple[type[BaseModel], dict[str, Any], list[str], list[str]]] = [
    (DeclarationCreate, {"scheme": "grading", "uscc": USCC, "enterprise_name": "x", "district": "大兴",
                         "declared_on": DAY, "data": {}}, ["enterprise_name"], []),
    (staff.TaskDecision, {"decision": "approve", "reason": "理由"}, [], ["reason"]),
    (staff.UnitAction, {"command": "revoke", "reason": "理由"}, [], ["reason"]),
    (staff.AutoListingCreate, {"uscc": USCC, "district": "大兴", "enterprise_name": "x", "reason": "理由"},
     ["enterprise_name"], ["reason"]),
    (staff.CallCreate, {"scheme": "green-factory", "title": "征集", "opens_on": DAY, "closes_on": DAY}, ["title"], []),
    (staff.PoolEntryCreate, {"uscc": USCC, "enterprise_name": "x", "note": "自荐"}, ["enterprise_name"], ["note"]),
    (staff.EvaluatorBanCreate, {"evaluator_uscc": USCC, "ground": "falsification", "reason": "理由"}, [], ["reason"]),
    (notices.RenameNotice, {"kind": "rename", "uscc": USCC, "old_name": "a", "new_name": "b", "completed_on": DAY},
     ["old_name", "new_name"], []),
    (notices.MajorAdjustmentNotice, {"kind": "major_adjustment", "uscc": USCC, "adjustment": "relocation",
                                     "completed_on": DAY, "description": "搬迁"}, [], ["description"]),
    (notices.Objection, {"kind": "objection", "uscc": USCC, "designation": "municipal-green-factory",
                         "reason": "异议理由如下", "contact": "张三"}, ["contact"], ["reason"]),
    (notices.DistrictReport, {"kind": "district_report", "uscc": USCC, "finding": "abnormal_operation",
                              "observed_on": DAY, "details": "经营异常"}, [], ["details"]),
    (notices.DiagnosisReport, {"kind": "diagnosis", "uscc": USCC, "completed_on": DAY, "summary": "诊断"}, [],
     ["summary"]),
    (notices.RenovationReport, {"kind": "renovation", "uscc": USCC, "completed_on": DAY, "summary": "改造"}, [],
     ["summary"]),
    (rulebooks.PublishBody, {"rulebook": {}, "effective_from": DAY, "reason": "发布理由"}, [], ["reason"]),
]  # fmt: skip


def refusal(model: type[BaseModel], body: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [(".".join(map(str, e["loc"])), e["type"]) for e in exc.errors()]
    return []


@pytest.mark.parametrize(("model", "body", "lines", "paragraphs"), MODELS, ids=[m[0].__name__ for m in MODELS])
def test_every_free_text_field_refuses_invisible_characters(
    model: type[BaseModel], body: dict[str, Any], lines: list[str], paragraphs: list[str]
) -> None:
    assert refusal(model, body) == [], "the example body is valid"
    for field in [*lines, *paragraphs]:
        for char in REFUSED:
            assert refusal(model, {**body, field: f"北京{char}示例"}) == [(field, "text_invisible_character")], (
                field,
                hex(ord(char)),
            )
    for field in lines:
        assert refusal(model, {**body, field: "一行\n两行"}) == [(field, "text_invisible_character")]
    for field in paragraphs:
        assert refusal(model, {**body, field: "第一段\r\n第二段\n\t缩进的第三段"}) == [], "a paragraph keeps its lines"


def test_the_refusal_names_the_first_character_by_position_and_code_point() -> None:
    found = find_invisible("ab\u202ecd\x00", lines=False)
    assert found is not None and (found.position, found.code) == (3, "U+202E")
    assert "第 3 个字符" in found.message_zh and "文字方向" in found.message_zh
    assert find_invisible("北京示例（集团）有限公司·二厂 A&B «é» 🙂", lines=False) is None


def test_a_zero_width_character_is_named_as_one() -> None:
    found = find_invisible("北京\u200b公司", lines=False)
    assert found is not None and (found.position, found.code) == (3, "U+200B")
    assert "零宽" in found.message_zh and "zero-width" in found.message_en
