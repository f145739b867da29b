"""The green-diagnosis advisor: every number it shows is the engine's, and its plans reach their targets."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contracts.advice import Advice
from contracts.schemes import Scheme
from services.scoring.advice_data import AdviceData
from services.scoring.advisor import Advisor
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
LIBRARY = RuleLibrary.load(RULES)
ENGINE = RulesEngine(LIBRARY)
ADVISOR = Advisor(LIBRARY, AdviceData.load(RULES), ENGINE)


def example(scheme: Scheme) -> tuple[date, dict[str, Any]]:
    decl = json.loads((ROOT / "examples" / f"{scheme.value}-declaration.json").read_text())
    return date.fromisoformat(decl["declared_on"]), decl["data"]


def test_the_readme_grading_example_gets_a_confirmed_path_to_the_next_level() -> None:
    as_of, data = example(Scheme.GRADING)
    now = ENGINE.evaluate(Scheme.GRADING, as_of, data)
    advice = ADVISOR.advise(Scheme.GRADING, as_of, data)
    assert advice.total == now.total and advice.level == now.level
    assert advice.target is not None and advice.target.kind == "level"
    assert advice.target.level == (now.level or 0) + 1
    assert advice.plan is not None and advice.plan.reaches_target
    # Scoring the advised declaration with the engine confirms it.
    after = ENGINE.evaluate(Scheme.GRADING, as_of, advice.plan.data_after)
    assert after.level is not None and after.level >= advice.target.level
    assert after.total == advice.plan.total_after
    # The plan is the cheapest: no single option of lower total effort reaches the level by itself.
    cheaper = [o for i in advice.items for o in i.options if o.effort < advice.plan.effort]
    assert all(o.level_after is None or o.level_after < advice.target.level for o in cheaper)
    # Each change in the plan is something the declaration did not already say.
    for change in advice.plan.changes:
        for c in change.changes:
            assert data.get(c.input) != c.after


def test_every_option_is_the_engines_score_of_that_change() -> None:
    as_of, data = example(Scheme.GRADING)
    advice = ADVISOR.advise(Scheme.GRADING, as_of, data)
    options = [o for i in advice.items for o in i.options]
    assert len(options) >= 10
    for option in options:
        changed = {**data, **{c.input: c.after for c in option.changes}}
        result = ENGINE.evaluate(Scheme.GRADING, as_of, changed)
        assert result.total == option.total_after
        points = {i.id: i.points for i in result.items}
        assert points[option.item] == option.item_points_after > option.item_points_before
        assert option.gain == result.total - advice.total


def test_renewable_share_reads_as_the_form_does() -> None:
    as_of, data = example(Scheme.GRADING)
    advice = ADVISOR.advise(Scheme.GRADING, as_of, {**data, "renewable_energy_share": 0.06})
    gr15 = next(i for i in advice.items if i.id == "GR-15")
    full = gr15.options[0]
    assert full.item_points_after == gr15.max
    (change,) = full.changes
    assert (change.before_text, change.after_text, change.unit) == ("6%", "15%", "%")
    assert full.text_zh.startswith("可再生能源使用量占比 6% → 15%，+3.6 分，003 附表 序号15")


def test_items_that_cannot_move_say_why() -> None:
    as_of, data = example(Scheme.BEAUTIFUL_FACTORY)
    advice = ADVISOR.advise(Scheme.BEAUTIFUL_FACTORY, as_of, data, target=Decimal(80))
    experts = {b.code for b in advice.blockers if b.kind == "expert"}
    assert {"BF-20", "BF-21", "BF-22"} <= experts
    for item in advice.items:
        if item.id in experts:
            assert not item.movable and "专家" in item.why_not_zh
    assert advice.target is not None and advice.target.kind == "score"
    assert advice.plan is not None and advice.plan.reaches_target
    assert ENGINE.evaluate(Scheme.BEAUTIFUL_FACTORY, as_of, advice.plan.data_after).total >= 80


def test_a_failing_basic_requirement_is_fixed_first() -> None:
    as_of, data = example(Scheme.GREEN_FACTORY)
    broken = {**data, "metering": False, "ems_certified": False}
    now = ENGINE.evaluate(Scheme.GREEN_FACTORY, as_of, broken)
    assert now.passed is False and "GF-1-16" in now.failing_basic
    advice = ADVISOR.advise(Scheme.GREEN_FACTORY, as_of, broken)
    assert advice.plan is not None and advice.plan.reaches_target and advice.plan.passed_after is True
    assert any(c.input == "metering" and c.after is True for o in advice.plan.changes for c in o.changes)
    assert ENGINE.evaluate(Scheme.GREEN_FACTORY, as_of, advice.plan.data_after).passed is True


def test_a_veto_says_its_clause_and_when_it_stops_counting() -> None:
    as_of, data = example(Scheme.GRADING)
    events = [{"kind": "safety_incident", "date": "2024-03-15"},
              {"kind": "production_stopped", "from": "2023-01-01"}]  # fmt: skip
    advice = ADVISOR.advise(Scheme.GRADING, as_of, {**data, "events": events})
    assert advice.level is None
    vetoes = {b.code: b for b in advice.blockers if b.kind == "veto"}
    assert vetoes["safety_incident"].clause == "003 第十一条（二）"
    assert vetoes["safety_incident"].until == date(2027, 3, 16)  # three years after, both ends counted (D-WINDOW)
    assert vetoes["production_stopped"].until is None and "持续" in vetoes["production_stopped"].detail_zh
    assert any("否决" in n for n in advice.notes_zh)


def test_below_level_3_the_diagnosis_rule_is_named() -> None:
    as_of, data = example(Scheme.GRADING)
    weak = {**data, "energy_input_boxes": [], "building_boxes": [], "management_boxes": [], "product_boxes": [],
            "renewable_energy_share": 0.0, "honour_boxes": []}  # fmt: skip
    advice: Advice = ADVISOR.advise(Scheme.GRADING, as_of, weak, level=3)
    assert advice.level is not None and advice.level < 3
    assert any("第十六条" in n for n in advice.notes_zh)
    assert advice.target is not None and advice.target.level == 3
    assert advice.plan is not None and advice.plan.reaches_target
    assert (ENGINE.evaluate(Scheme.GRADING, as_of, advice.plan.data_after).level or 0) >= 3


def test_nothing_above_means_no_plan() -> None:
    as_of, data = example(Scheme.GRADING)
    advice = ADVISOR.advise(Scheme.GRADING, as_of, data)
    assert advice.plan is not None
    top = ADVISOR.advise(Scheme.GRADING, as_of, advice.plan.data_after, level=4)
    assert top.target is not None and top.target.short_by == 0 and top.plan is None


@pytest.mark.parametrize("scheme", list(Scheme))
def test_advice_for_each_example_is_valid_json(scheme: Scheme) -> None:
    as_of, data = example(scheme)
    advice = ADVISOR.advise(scheme, as_of, data, target=Decimal(75) if scheme == Scheme.BEAUTIFUL_FACTORY else None)
    again = Advice.model_validate_json(advice.model_dump_json())
    assert again.items == advice.items
