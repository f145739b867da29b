"""Scoring methods, facts and the engine against the reference interpreter, on the shipped rulebook."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contracts.schemes import Scheme
from services.scoring.domain import outcomes, reference
from services.scoring.domain.facts import Fact, InputError
from services.scoring.domain.rulebook import BenchmarkEdition, Case, Item, Outcome, RuleLibrary, UnknownEdition
from services.scoring.engine import RulesEngine

RULES = Path(__file__).resolve().parents[2] / "rules"
ON = date(2025, 10, 8)


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine.from_dir(RULES)


def fact(max_points: int, method: str = "cases", params: dict[str, Any] | None = None, **fields: Any) -> Fact:
    """A one-off item and its fact, to test an outcome formula on its own."""
    cases = [Case(then=Outcome(points=Decimal(0), explain="-"))] if method == "cases" else []
    item = Item.model_validate(
        {"id": "T-1", "name_zh": "测试", "name_en": "test", "max": max_points, "basis": "test", "method": method,
         "cases": cases, "inputs": list(fields), "params": params or {}}
    )  # fmt: skip
    return Fact(item=item, fields=dict(fields))


def linear(value: str, max_points: int, zero_at: float, full_at: float) -> Decimal | None:
    outcome = Outcome(linear={"of": "v", "zero_at": zero_at, "full_at": full_at}, explain="-")
    return outcomes.apply(outcome, fact(max_points, v=Decimal(value))).points


def test_proportional_is_capped_at_full_marks() -> None:
    # D-PROP is the linear outcome anchored at 0.
    assert linear("0.4", 4, 0, 0.8) == Decimal(2)
    assert linear("0.95", 4, 0, 0.8) == Decimal(4)


def test_linear_is_zero_at_its_lower_anchor_and_full_at_its_upper() -> None:
    assert linear("1", 2, 1, 2) == 0
    assert linear("1.5", 2, 1, 2) == 1
    assert linear("3", 2, 1, 2) == 2


def test_checklist_sums_boxes_and_caps() -> None:
    f = fact(4, "checklist", params={"boxes": {"a": 2, "b": 2, "c": 2}, "cap": 4}, boxes=["a", "b", "c"])
    assert outcomes.checklist(f).points == 4


def test_industry_position_without_benchmark_needs_an_expert_never_zero() -> None:
    f = fact(6, "industry_position", params={"direction": "lower_is_better", "indicator": "x"}, value=Decimal(1))
    out = outcomes.industry_position(f, BenchmarkEdition(edition="none", effective_from=ON, industries={}), "C3841")
    assert out.status == "needs_expert" and out.points is None


def grading_input(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "plot_ratio": 1.35, "plot_ratio_requirement": 1.0,
        "building_density": 0.48, "building_density_requirement": 0.40,
        "output_value": 86500, "land_area": 124000,
        "green_material_amount": 3100, "material_amount": 5000,
        "solid_waste_utilised": 1820, "solid_waste_generated": 2000, "solid_waste_stored_utilised": 0,
        "nonconventional_water": 52000, "water_withdrawal": 186000, "renewable_energy_share": 0.085,
        "efficient_motor_share": 0.46, "intelligent_manufacturing_level": 3,
        "energy_input_boxes": ["energy_management_centre", "green_power_purchase", "three_level_metering"],
        "building_boxes": ["efficient_lighting", "water_saving_fixtures"],
        "management_boxes": ["ohs_certified", "ems_certified", "esg_report", "low_carbon_plan"],
        "product_boxes": ["carbon_footprint_verified"],
        "honour_boxes": ["green_supply_chain", "energy_efficiency_leader"],
    }  # fmt: skip
    data.update(overrides)
    return data


def test_the_sample_grading_declaration_scores_by_hand(engine: RulesEngine) -> None:
    result = engine.evaluate(Scheme.GRADING, ON, grading_input())
    points = {i.id: i.points for i in result.items}
    # Worked by hand from 003 附表 and rules/DECISIONS.md (D-PROP, D-LIN, D-FLOOR):
    # D-FLOOR: half the points at the requirement, linear to full at 2× (GR-1) or +30 points (GR-2).
    assert points["GR-1"] == Decimal("1.35")  # 1 + (1.35 − 1) / (2 − 1) × 1
    assert points["GR-2"] == Decimal("1.27")  # 1 + (0.48 − 0.40) / 0.30 × 1 = 1.2667
    assert points["GR-4"] == Decimal("3.10")  # 3100 / 5000 / 0.8 × 4
    assert points["GR-9"] == Decimal("5.00")  # Kr = 1820 / (2000 + 0) = 91% ≥ 90%
    assert points["GR-13"] == Decimal("1.20")  # 52000 / 186000 / 0.7 × 3
    assert points["GR-14"] == Decimal("6.00")  # 3 boxes × 2
    assert points["GR-15"] == Decimal("3.40")  # 8.5% / 15% × 6
    assert points["GR-16"] == Decimal("2.00")  # 1 + 1
    assert points["GR-17"] == Decimal("6.00")  # 46% > 40%
    assert points["GR-18"] == Decimal("4.00")
    assert points["GR-19"] == Decimal("2.00")
    assert points["GR-20"] == Decimal("3.00")  # level 3: (3 − 1) / 4 × 6
    assert points["GR-21"] == Decimal("2.00")
    assert result.total == Decimal("40.31")  # 1.35 + 1.2667 + 3.1 + 5 + 1.1982 + 6 + 3.4 + 2 + 6 + 4 + 2 + 3 + 2
    # Industry items have no benchmark and no emission inputs here: provisional, no level yet.
    assert result.provisional and result.level is None
    statuses = {i.id: i.status for i in result.items}
    assert statuses["GR-3"] == statuses["GR-12"] == "needs_expert"
    assert statuses["GR-5"] == "missing_input"
    assert next(i for i in result.items if i.id == "GR-5").missing == ["voc_emission"]


def test_engine_and_reference_agree(engine: RulesEngine) -> None:
    cases: list[dict[str, object]] = [
        {},
        {"plot_ratio": 0.9},
        {"honour_boxes": []},
        {"intelligent_manufacturing_level": 5},
    ]
    for overrides in cases:
        data = grading_input(**overrides)
        assert engine.evaluate(Scheme.GRADING, ON, data) == reference.evaluate(engine.library, Scheme.GRADING, ON, data)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"plot_ratio": "abc"}, "plot_ratio"),
        ({"plot_ratio": -1}, "plot_ratio"),
        ({"plot_ratio": "1.35"}, "plot_ratio"),
        ({"material_amount": 0}, "green_material_amount, material_amount"),
        ({"material_amount": 0, "green_material_amount": 0}, "material_amount"),
        ({"nonconventional_water": 500000}, "nonconventional_water, water_withdrawal"),
        ({"output_value": 1e20}, "output_value"),
        ({"renewable_energy_share": 8.5}, "renewable_energy_share"),
        ({"intelligent_manufacturing_level": 2.5}, "intelligent_manufacturing_level"),
        ({"honour_boxes": ["no_such_box"]}, "honour_boxes"),
        ({"honour_boxes": "green_supply_chain"}, "honour_boxes"),
    ],
)
def test_bad_input_names_the_field(engine: RulesEngine, overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        engine.evaluate(Scheme.GRADING, ON, grading_input(**overrides))
    assert err.value.field == field


def test_a_date_before_every_edition_is_refused() -> None:
    with pytest.raises(UnknownEdition, match="no grading edition is in force on 2020-01-01"):
        RuleLibrary.load(RULES).rulebook(Scheme.GRADING).edition_for(date(2020, 1, 1))


def test_the_rulebook_version_changes_with_its_data(engine: RulesEngine) -> None:
    a = engine.evaluate(Scheme.GRADING, ON, grading_input())
    library = RuleLibrary.load(RULES)
    edition = library.rulebook(Scheme.GRADING).editions[0]
    edition.items[3].params["full_at"] = 0.9
    b = reference.evaluate(library, Scheme.GRADING, ON, grading_input())
    assert a.rulebook_version != b.rulebook_version


def test_a_name_no_rule_reads_is_passed_over_by_scoring(engine: RulesEngine) -> None:
    # Intake refuses it (unknown_input); scoring, whose rules never read it, scores as if it were absent.
    with_it = engine.evaluate(Scheme.GRADING, ON, grading_input(remark="补充说明"))
    assert with_it == engine.evaluate(Scheme.GRADING, ON, grading_input())
