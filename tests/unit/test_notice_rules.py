"""Who may file which notice about which unit (contracts.notices.refusal), and the identifiers every boundary checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.envelope import Actor
from contracts.identifiers import beijing_today, parse_unit_id, uscc_is_valid
from contracts.messages import UnitBrief
from contracts.notices import AnyNotice, Notice, refusal
from contracts.schemes import Designation

E = "91110115MA04C2UX1E"
NOTICE: TypeAdapter[AnyNotice] = TypeAdapter(Notice)
ENTERPRISE = Actor(role="enterprise", subject=E, scope=E)
DAXING = Actor(role="district", subject="daxing-wang", scope="大兴区")
SHUNYI = Actor(role="district", subject="shunyi-li", scope="顺义区")
EVALUATOR = Actor(role="evaluator", subject="91110108551385082Q", scope="91110108551385082Q")
TITLE, GRADING = Designation.MUNICIPAL_GREEN_FACTORY, Designation.ANNUAL_GRADING


def unit(designation: Designation, state: str, district: str = "大兴区") -> UnitBrief:
    return UnitBrief(
        workflow_id=f"unit-{E}-{designation.value}", designation=designation, district=district, state=state
    )


def notice(kind: str, **extra: Any) -> AnyNotice:
    bodies: dict[str, dict[str, Any]] = {
        "rename": {"old_name": "甲", "new_name": "乙", "completed_on": "2026-10-01"},
        "major_adjustment": {"adjustment": "relocation", "completed_on": "2026-10-01", "description": "迁址"},
        "objection": {"designation": "municipal-green-factory", "reason": "申报数据与实际不符"},
        "district_report": {"finding": "abnormal_operation", "observed_on": "2026-10-01", "details": "停产"},
        "diagnosis": {"completed_on": "2026-10-01", "summary": "完成诊断"},
        "renovation": {"completed_on": "2026-10-01", "summary": "完成改造"},
    }
    return NOTICE.validate_python({"kind": kind, "uscc": E, **bodies[kind], **extra})


def code(n: AnyNotice, actor: Actor, units: list[UnitBrief]) -> str | None:
    found = refusal(n, actor, units)
    return found.code if found else None


@pytest.mark.parametrize(
    "kind", ["rename", "major_adjustment", "objection", "district_report", "diagnosis", "renovation"]
)
def test_no_notice_is_about_a_unit_that_does_not_exist(kind: str) -> None:
    actor = {"district_report": DAXING, "objection": EVALUATOR}.get(kind, ENTERPRISE)
    assert code(notice(kind), actor, []) in ("unit_not_found", "not_in_publicity")
    # A unit of another designation does not count either.
    other = unit(GRADING if kind not in ("diagnosis", "renovation") else TITLE, "listed")
    assert code(notice(kind), actor, [other]) in ("unit_not_found", "not_in_publicity")


def test_each_kind_has_its_filer() -> None:
    listed = [unit(TITLE, "listed"), unit(GRADING, "grade_path")]
    assert code(notice("rename"), ENTERPRISE, listed) is None
    assert code(notice("rename"), DAXING, listed) == "not_the_enterprise"
    assert code(notice("diagnosis"), Actor(role="enterprise", subject="x", scope="91110108551385082Q"), listed) == (
        "not_the_enterprise"
    )
    assert code(notice("district_report"), ENTERPRISE, listed) == "not_district"
    assert code(notice("district_report"), DAXING, listed) is None
    assert code(notice("district_report"), SHUNYI, listed) == "other_district"


def test_an_objection_is_about_a_unit_in_publicity_from_anyone_signed_in() -> None:
    for state in ("publicity", "objection_review"):
        assert code(notice("objection"), EVALUATOR, [unit(TITLE, state)]) is None
    for state in ("awaiting_recommendation", "listed"):
        assert code(notice("objection"), EVALUATOR, [unit(TITLE, state)]) == "not_in_publicity"
    beautiful = notice("objection", designation="beautiful-factory")
    assert code(beautiful, EVALUATOR, [unit(TITLE, "publicity")]) == "not_in_publicity"


def test_a_rename_or_adjustment_needs_a_title() -> None:
    assert code(notice("rename"), ENTERPRISE, [unit(TITLE, "under_review")]) == "no_title"
    assert code(notice("major_adjustment"), ENTERPRISE, [unit(TITLE, "under_recheck")]) is None


def test_notices_refuse_bad_usccs_and_implausible_days_by_field() -> None:
    with pytest.raises(ValidationError) as err:
        NOTICE.validate_python({"kind": "diagnosis", "uscc": "aaaaaaaaaaaaaaaaaa", "completed_on": "9999-12-31",
                                "summary": "x"})  # fmt: skip
    assert {(e["loc"][-1], e["type"]) for e in err.value.errors()} == {
        ("uscc", "uscc_invalid"),
        ("completed_on", "date_out_of_range"),
    }
    today = beijing_today()  # Beijing's, which may already be a day ahead of the server's
    assert notice("diagnosis", completed_on=today.isoformat())
    with pytest.raises(ValidationError):
        notice("diagnosis", completed_on=(today + timedelta(days=1)).isoformat())
    with pytest.raises(ValidationError):
        NOTICE.validate_python({"uscc": E, "completed_on": "2026-01-01", "summary": "x"})  # no kind


def test_usccs_and_unit_ids() -> None:
    assert uscc_is_valid(E) and uscc_is_valid(E.lower())
    assert not uscc_is_valid(E[:-1] + "X") and not uscc_is_valid("aaaaaaaaaaaaaaaaaa") and not uscc_is_valid(E[:17])
    assert parse_unit_id(f"unit-{E}-annual-grading") == (E, GRADING)
    assert parse_unit_id(f"unit-{E[:-1]}X-annual-grading") is None
    assert parse_unit_id(f"unit-{E}-moon-base") is None
    assert parse_unit_id("failing") is None
