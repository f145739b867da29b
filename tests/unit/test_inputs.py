"""The input catalogue (rules/inputs, rules/eligibility/events.yaml): complete, consistent with the rulebooks,
and strict, so that what intake accepts scoring always scores."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from greenfab.inputs import Catalogue, load_catalogue
from services.scoring.domain.expressions import parse
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
CATALOGUE = load_catalogue(RULES)
LIBRARY = RuleLibrary.load(RULES)
ON = date(2025, 10, 8)
OVER = "part_exceeds_whole"
EXAMPLES = {s: json.loads((ROOT / "examples" / f"{s.value}-declaration.json").read_text()) for s in Scheme}


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(LIBRARY)


def rulebook_uses() -> dict[str, set[str]]:
    """Every input any rulebook, gate, check or veto names → how it is compared (bool, str:<word>, number, boxes)."""
    uses: dict[str, set[str]] = {}

    def add(name: str, how: str) -> None:
        uses.setdefault(name, set()).add(how)

    for book in LIBRARY.rulebooks.values():
        for edition in book.editions:
            for item in edition.items:
                if item.method == "checklist":
                    add(item.inputs[0], "boxes:" + ",".join(sorted(item.params["boxes"])))
                    continue
                rules: list[Any] = [*item.parts] or [item]
                for rule in rules:
                    for name in [*rule.inputs, *rule.optional]:
                        add(name, "any")
                    for expr in rule.derive.values():
                        for name in parse(expr).names:
                            if name not in rule.derive:
                                add(name, "number")
                    for case in rule.cases:
                        for name, conds in case.when.items():
                            if name in rule.derive:
                                continue
                            for c in conds.values():
                                add(
                                    name,
                                    "bool" if isinstance(c, bool) else f"str:{c}" if isinstance(c, str) else "number",
                                )
                if item.applies_if:
                    add(item.applies_if, "bool")
            for option in edition.gate.any_of if edition.gate else []:
                for name, conds in option.items():
                    for c in conds.values():
                        add(name, f"str:{c}")
            for check in edition.checks:
                for expr in check.derive.values():
                    for name in parse(expr).names:
                        if name not in check.derive:
                            add(name, "number")
    for veto in LIBRARY.eligibility.vetoes:
        for name, conds in (veto.when or {}).items():
            for c in conds.values():
                add(name, "bool" if isinstance(c, bool) else "number")
    return uses


def test_every_input_a_rulebook_names_is_in_the_catalogue_with_its_type() -> None:
    for name, hows in rulebook_uses().items():
        spec = CATALOGUE.inputs.get(name)
        assert spec is not None, f"{name} is used by a rulebook but not in rules/inputs/inputs.yaml"
        for how in hows - {"any"}:
            if how == "bool":
                assert spec.type == "boolean", name
            elif how == "number":
                assert spec.type == "number", name
            elif how.startswith("str:"):
                assert spec.type == "choice" and how[4:] in spec.choices, (name, how)
            else:
                assert spec.type == "boxes" and sorted(spec.boxes) == how[6:].split(","), name


def test_every_form_writes_only_catalogue_inputs() -> None:
    for path in sorted((ROOT / "services" / "intake" / "forms").glob("*.yaml")):
        form = yaml.safe_load(path.read_text(encoding="utf-8"))
        names = [
            *[n for n in form["header"] if n not in ("enterprise_name", "uscc", "district", "declared_on", "year")]
        ]
        for spec in form["fields"].values():
            names += [spec["input"]] if "input" in spec else spec.get("inputs", [])
        assert set(names) <= set(CATALOGUE.inputs), (path.name, sorted(set(names) - set(CATALOGUE.inputs)))


def test_every_veto_reads_a_declared_event_kind_and_its_declared_fields() -> None:
    kinds = CATALOGUE.events.kinds
    used = set()
    for veto in LIBRARY.eligibility.vetoes:
        if veto.event is None:
            continue
        used.add(veto.event)
        for name in veto.unless or {}:
            assert kinds[veto.event].fields[name].type == "boolean", (veto.code, name)
    assert used == set(kinds), "an event kind no veto reads cannot change a result: declare it where it is read"


def test_the_examples_are_accepted() -> None:
    for scheme, example in EXAMPLES.items():
        assert CATALOGUE.check(example["data"], date.fromisoformat(example["declared_on"])) == [], scheme


def refusal(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    return [(p.fields, p.code) for p in CATALOGUE.check(data, ON)]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Quantities that cannot be: a share from two inputs above 100 %, named by both fields.
        ({"nonconventional_water": 500, "water_withdrawal": 186},
         [(("nonconventional_water", "water_withdrawal"), OVER)]),
        ({"efficient_major_equipment": 12, "major_equipment": 10},
         [(("efficient_major_equipment", "major_equipment"), OVER)]),
        ({"green_material_amount": 6, "material_amount": 5}, [(("green_material_amount", "material_amount"), OVER)]),
        ({"solid_waste_utilised": 2100, "solid_waste_generated": 2000, "solid_waste_stored_utilised": 50},
         [(("solid_waste_utilised", "solid_waste_generated", "solid_waste_stored_utilised"), OVER)]),
        ({"building_footprint": 60, "structure_footprint": 50, "land_area": 100},
         [(("building_footprint", "structure_footprint", "land_area"), OVER)]),
        ({"footprinted_products": 4, "product_types": 3}, [(("footprinted_products", "product_types"), OVER)]),
        ({"tall_storey_area": 5, "building_floor_area": 4}, [(("tall_storey_area", "building_floor_area"), OVER)]),
        ({"reused_water": 0, "discharged_water": 0}, [(("reused_water", "discharged_water"), "must_be_positive")]),
        ({"green_material_amount": 0, "material_amount": 0}, [(("material_amount",), "must_be_positive")]),
        # GR-20: a whole number 1–5 (GB/T 39117).
        ({"intelligent_manufacturing_level": 0}, [(("intelligent_manufacturing_level",), "below_minimum")]),
        ({"intelligent_manufacturing_level": 2.5}, [(("intelligent_manufacturing_level",), "not_whole")]),
        ({"intelligent_manufacturing_level": 6}, [(("intelligent_manufacturing_level",), "above_limit")]),
        # Amounts within the named limit of their unit.
        ({"output_value": 1e20}, [(("output_value",), "above_limit")]),
        # An integer longer than any float: refused by its limit, not an OverflowError (issue 14's probe).
        ({"output_value": 10**400}, [(("output_value",), "above_limit")]),
        ({"voc_emission": -(10**400)}, [(("voc_emission",), "negative")]),
        ({"output_value": 0}, [(("output_value",), "must_be_positive")]),
        ({"land_area": 1e-9}, [(("land_area",), "below_smallest")]),
        ({"voc_emission": -0.1}, [(("voc_emission",), "negative")]),
        ({"renewable_energy_share": 8.5}, [(("renewable_energy_share",), "above_limit")]),
        ({"public_activities": 2.5}, [(("public_activities",), "not_whole")]),
        # Types: numbers are numbers, yes/no is a boolean, a choice is one of its words.
        ({"output_value": "86500"}, [(("output_value",), "not_a_number")]),
        ({"output_value": True}, [(("output_value",), "not_a_number")]),
        ({"output_value": math.nan}, [(("output_value",), "not_a_number")]),
        ({"output_value": math.inf}, [(("output_value",), "not_a_number")]),
        ({"ems_certified": "true"}, [(("ems_certified",), "not_a_boolean")]),
        ({"ems_certified": 1}, [(("ems_certified",), "not_a_boolean")]),
        ({"smart_factory": "gold"}, [(("smart_factory",), "not_a_choice")]),
        ({"honour_boxes": ["gold_medal"]}, [(("honour_boxes",), "unknown_box")]),
        ({"industry_code": "锂电池"}, [(("industry_code",), "bad_format")]),
        ({"founded_on": "9999-12-31"}, [(("founded_on",), "date_out_of_range")]),
        ({"outptu_value": 1}, [(("outptu_value",), "unknown_input")]),
        # Events: typed fields, nothing undeclared (D-EVENTS).
        ({"events": [{"kind": "abnormal_operation_list", "date": "2024-05-01", "removed": "true"}]},
         [(("events[0].removed",), "not_a_boolean")]),
        ({"events": [{"kind": "abnormal_operation_list", "date": "2024-05-01", "removed": 1}]},
         [(("events[0].removed",), "not_a_boolean")]),
        ({"events": [{"kind": "safety_incident", "date": "2024-05-01", "severity": "high"}]},
         [(("events[0].severity",), "event_field_unknown")]),
        ({"events": [{"kind": "production_stopped", "from": "2024-05-01", "date": "2024-05-01"}]},
         [(("events[0]",), "event_dates")]),
        ({"events": [{"kind": "production_stopped", "from": "2024-05-01", "to": "2024-04-01"}]},
         [(("events[0].to",), "event_ends_before_start")]),
        ({"events": [{"kind": "production_stopped", "from": "2024/05/01"}]}, [(("events[0].from",), "not_a_date")]),
        ({"events": {"kind": "production_stopped"}}, [(("events",), "not_events")]),
        ({"events": ["production_stopped"]}, [(("events[0]",), "event_not_object")]),
    ],
)  # fmt: skip
def test_impossible_inputs_are_refused_by_field(data: dict[str, Any], expected: list[Any]) -> None:
    assert refusal(data) == expected


def test_every_problem_is_reported_at_once_with_both_languages() -> None:
    problems = CATALOGUE.check(
        {"output_value": 1e20, "ems_certified": "yes", "nonconventional_water": 2, "water_withdrawal": 1}
    )
    assert {p.code for p in problems} == {"above_limit", "not_a_boolean", "part_exceeds_whole"}
    for p in problems:
        assert p.message_zh and p.message_en and p.message_zh != p.message_en
    assert "工业总产值" in problems[0].message_zh and "万元" in problems[0].message_zh


def test_a_declaration_date_outside_the_plausible_years_is_refused() -> None:
    assert [(p.fields, p.code) for p in CATALOGUE.check({}, date(9999, 12, 31))] == [
        (("declared_on",), "date_out_of_range")
    ]


def extremes(scheme: Scheme) -> list[dict[str, Any]]:
    """The example with every number at its catalogue maximum, then at its smallest non-zero amount."""
    base = dict(EXAMPLES[scheme]["data"])
    out = []
    for pick in ("max", "smallest"):
        data = dict(base)
        for name, value in base.items():
            spec = CATALOGUE.inputs[name]
            if spec.type != "number" or not isinstance(value, int | float):
                continue
            assert spec.limit is not None
            limit = CATALOGUE.limits[spec.limit]
            high = min(spec.max, limit.max) if spec.max is not None else limit.max
            low = spec.min or limit.smallest or (Decimal(1) if limit.whole else Decimal("0.000001"))
            chosen = high if pick == "max" else low
            data[name] = int(chosen) if chosen == chosen.to_integral_value() else float(chosen)
        out.append(data)
    return out


@pytest.mark.parametrize("scheme", list(Scheme))
def test_scoring_never_fails_on_what_the_catalogue_accepts_at_its_limits(engine: RulesEngine, scheme: Scheme) -> None:
    from services.scoring.domain import reference

    for data in extremes(scheme):
        # A part at its maximum can exceed its whole: leave out what a constraint refuses, keep the rest at its limit.
        refused = {f for p in CATALOGUE.check(data, ON) for f in p.fields}
        accepted = {k: v for k, v in data.items() if k not in refused}
        assert CATALOGUE.check(accepted, ON) == []
        for run in (engine.evaluate, lambda s, d, i: reference.evaluate(LIBRARY, s, d, i)):
            result = run(scheme, ON, accepted)
            assert isinstance(result, Evaluation) and result.total >= 0


def test_a_continuous_kind_declares_no_fields_of_its_own() -> None:
    raw = yaml.safe_load((RULES / "eligibility" / "events.yaml").read_text(encoding="utf-8"))
    raw["kinds"]["production_stopped"]["fields"] = {"resumed": {"type": "boolean", "name_zh": "已复产"}}
    inputs = yaml.safe_load((RULES / "inputs" / "inputs.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="continuous"):
        Catalogue.model_validate({**inputs, "events": raw})


NUMBERS = sorted(n for n, s in CATALOGUE.inputs.items() if s.type == "number")


@given(
    name=st.sampled_from(NUMBERS),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**13), max_value=10**13),
        st.sampled_from([0, 0.0, 1, 1.0, 5, 5.0000000001, 1e-6, 9.99e-7, 0.01, 0.009999999999999998, 1e8, 1e8 + 1]),
    ),
)
@settings(max_examples=1000, deadline=None)
def test_the_quick_check_of_a_number_agrees_with_the_exact_one(name: str, value: float | int) -> None:
    spec = CATALOGUE.inputs[name]
    exact = [(p.fields, p.code) for p in CATALOGUE._check_one(name, spec, value)]
    assert [(p.fields, p.code) for p in CATALOGUE.check({name: value})] == exact


def test_event_problems_name_kinds_and_fields_in_chinese_with_the_key_beside() -> None:
    import re

    problems = CATALOGUE.check(
        {
            "events": [
                {"kind": "production_stopped", "from": "0001-01-01", "to": "2024-05-01"},
                {"kind": "safety_incident", "date": "2024-05-01", "severity": "high"},
                {"kind": "meteor_strike", "date": "2024-05-01"},
            ]
        },
        ON,
    )
    by_code = {p.code: p.message_zh for p in problems}
    assert "开始日期" in by_code["date_out_of_range"] and "的from" not in by_code["date_out_of_range"]
    # Every key offered is named in Chinese with the key in brackets, never a bare key in the Chinese text.
    for message in (by_code["event_field_unknown"], by_code["event_kind_unknown"]):
        offered = message.split("可填写：", 1)[1]
        keys = re.findall(r"（([a-z_]+)）", offered)
        assert len(keys) >= 3 and not re.search(r"[a-z_]{2,}", re.sub(r"（[a-z_]+）", "", offered)), offered
