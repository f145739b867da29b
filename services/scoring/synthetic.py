"""A synthetic registry for what-ifs and benchmarks: realistic, varied units, many placed on a boundary.

Units are spread over Beijing's 16 districts and several industries (most with benchmarks, some
without, whose industry-position items then wait for an expert), with inputs drawn at the scale
of the industry benchmarks (every D-IND position, better than leading to worse than twice the
average). Then, around every boundary:

- item boundaries: an input compared with a constant (50 %, 95 %, ≥ 3 products …) is put on it, or
  a hair either side, now and then;
- total boundaries: two in five grading and green-factory units are tuned (by the renewable-energy
  share, or the solid-waste utilisation) to a total on a level threshold or the pass mark, a few points
  either side of one, or another whole number: exactly (when every other item scores a short decimal)
  or a hair either side;
- events inside and outside the eligibility windows, and now and then a missing input.

Deterministic for a seed. Writes JSON lines: uscc, enterprise_name, district, scheme, declared_on, data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stdnum.cn import uscc as uscc_code

from contracts.schemes import Scheme
from services.scoring.batch import BatchScorer, EditionKernel
from services.scoring.domain.rulebook import BenchmarkEdition, Edition, Item, Part, RuleLibrary

DISTRICTS = (
    ("大兴区", 14),
    ("顺义区", 12),
    ("昌平区", 10),
    ("通州区", 10),
    ("房山区", 8),
    ("海淀区", 8),
    ("朝阳区", 6),
    ("怀柔区", 6),
    ("平谷区", 5),
    ("密云区", 5),
    ("丰台区", 4),
    ("延庆区", 3),
    ("门头沟区", 3),
    ("石景山区", 2),
    ("东城区", 2),
    ("西城区", 2),
)
UNBENCHMARKED = ("C2710", "C3670", "C3911", "C2614")
MIX = ((Scheme.GRADING, 0.7), (Scheme.GREEN_FACTORY, 0.2), (Scheme.BEAUTIFUL_FACTORY, 0.1))
AS_OF = (date(2025, 3, 31), date(2025, 6, 30), date(2025, 10, 8), date(2025, 12, 15))
NAMES = ("科技", "新材料", "精密制造", "食品饮料", "新能源", "生物医药", "汽车零部件", "电子", "装备", "环保")
GRADING_INDUSTRY = {
    "voc_emission": "voc_per_output",
    "nox_emission": "nox_per_output",
    "cod_emission": "cod_per_output",
    "ammonia_emission": "ammonia_per_output",
    "energy_use": "energy_per_output",
    "carbon_emission": "carbon_per_output",
    "water_withdrawal": "water_per_output",
}
GF_INDUSTRY = {
    "pollutant_generated": "pollutant_per_product",
    "waste_gas_generated": "waste_gas_per_product",
    "wastewater_generated": "wastewater_per_product",
    "raw_material_consumed": "material_per_product",
    "energy_consumed": "energy_per_product",
    "carbon_emitted": "carbon_per_product",
}


def _sig(x: float, digits: int = 4) -> float:
    """Rounded as a form is filled in: a few significant digits."""
    return float(f"{x:.{digits}g}")


class Generator:
    """Units for one library's published editions (the boundaries are those editions' own)."""

    def __init__(self, library: RuleLibrary, seed: int = 1) -> None:
        self.library = library
        self.scorer = BatchScorer(library)
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        self.serial = 0
        self._industries: dict[tuple[Scheme, str, str], list[str]] = {}

    def units(self, count: int) -> Iterator[dict[str, Any]]:
        for _ in range(count):
            yield self.unit()

    def lines(self, count: int) -> Iterator[str]:
        for unit in self.units(count):
            yield json.dumps(unit, ensure_ascii=False) + "\n"

    def unit(self) -> dict[str, Any]:
        rng = self.rng
        scheme = rng.choices([s for s, _ in MIX], [w for _, w in MIX])[0]
        as_of = rng.choice(AS_OF)
        edition = self.library.rulebook(scheme).edition_for(as_of)
        benchmarks = self.library.benchmarks_for(as_of)
        covered = self._covered(scheme, edition, benchmarks)
        industry = rng.choice(covered) if covered and rng.random() < 0.92 else rng.choice(UNBENCHMARKED)
        nice = rng.random() < 0.25
        make = {Scheme.GRADING: self._grading, Scheme.GREEN_FACTORY: self._green, Scheme.BEAUTIFUL_FACTORY: self._bf}
        data = make[scheme](industry, benchmarks, nice)
        data["industry_code"] = industry
        self._item_boundaries(edition, data)
        kernel = self.scorer.kernel(scheme, edition)
        if scheme != Scheme.BEAUTIFUL_FACTORY and rng.random() < 0.4:
            self._total_boundary(kernel, edition, as_of, data, exact=nice)
        if rng.random() < 0.04:
            data["events"] = self._events(as_of)
        if rng.random() < 0.01:
            data.pop(rng.choice(sorted(k for k in data if k != "industry_code")), None)
        self.serial += 1
        district = rng.choices([d for d, _ in DISTRICTS], [w for _, w in DISTRICTS])[0]
        return {
            "uscc": self._uscc(),
            "enterprise_name": f"北京{rng.choice(NAMES)}{self.serial:06d}有限公司",
            "district": district,
            "scheme": scheme.value,
            "declared_on": as_of.isoformat(),
            "data": data,
        }

    def _covered(self, scheme: Scheme, edition: Edition, benchmarks: BenchmarkEdition) -> list[str]:
        """Industries whose benchmarks have every indicator the edition's industry-position items read."""
        key = (scheme, edition.edition, benchmarks.edition)
        if key not in self._industries:
            needed = {i.params["indicator"] for i in edition.items if i.method == "industry_position"}
            self._industries[key] = sorted(c for c, ind in benchmarks.industries.items() if needed <= set(ind))
        return self._industries[key]

    def _uscc(self) -> str:
        body = f"911101{self.rng.randint(0, 99):02d}MA{self.serial:07X}"[:17]
        return body + uscc_code.calc_check_digit(body)

    # ----- scheme profiles -------------------------------------------------------------------

    def _position(
        self, avg: float, anchors: dict[str, Decimal], nice: bool, higher: bool = False, spread: float = 0.4
    ) -> float:
        """A value per unit of output across every D-IND position; on an anchor exactly when ``nice``."""
        if nice:
            return float(self.rng.choice(list(anchors.values())))
        # Applicants cluster better than the industry average (green-factory applicants more so), tails either way.
        factor = min(2.6, max(0.3, self.rng.lognormvariate(-0.2 if spread > 0.3 else -0.35, spread)))
        return avg * (1 / factor if higher else factor)

    def _grading(self, industry: str, benchmarks: BenchmarkEdition, nice: bool) -> dict[str, Any]:
        rng = self.rng
        bench = benchmarks.industries.get(industry, {})
        output = int(_sig(min(2e6, max(500.0, rng.lognormvariate(10.8, 1.0))), 3))
        land_bench = bench.get("output_value_per_land", {"average": Decimal(4000)})
        per_land = self._position(float(land_bench["average"]), land_bench, nice, higher=True)
        data: dict[str, Any] = {"output_value": output, "land_area": _sig(output / per_land * 10000)}
        if nice:
            data["land_area"] = float(Decimal(output) / Decimal(str(per_land)) * 10000)
        for name, indicator in GRADING_INDUSTRY.items():
            anchors = bench.get(indicator, {"average": Decimal("0.001")})
            value = self._position(float(anchors["average"]), anchors, nice)
            data[name] = float(Decimal(output) * Decimal(str(value))) if nice else _sig(output * value)
        requirement = rng.choice([0.6, 0.8, 1.0, 1.2])
        ratio = rng.choice([1, 1.5, 2]) if nice else rng.uniform(0.9, 2.3)
        data["plot_ratio_requirement"] = requirement
        data["plot_ratio"] = round(requirement * ratio, 4 if nice else 2)
        density_requirement = rng.choice([0.3, 0.35, 0.4])
        data["building_density_requirement"] = density_requirement
        above = rng.choice([0, 0.15, 0.3]) if nice else rng.uniform(-0.02, 0.35)
        data["building_density"] = round(min(0.95, density_requirement + above), 4)
        data["material_amount"] = 5000 if nice else _sig(output * rng.uniform(0.01, 0.1))
        data["green_material_amount"] = (
            rng.choice([2000, 4000, 5000]) if nice else _sig(data["material_amount"] * rng.uniform(0.2, 1))
        )
        generated = 1000 if nice else _sig(rng.uniform(100, 5000))
        data["solid_waste_generated"] = generated
        data["solid_waste_utilised"] = rng.choice([450, 900]) if nice else _sig(generated * rng.uniform(0.5, 1.0))
        data["solid_waste_stored_utilised"] = 0 if nice or rng.random() < 0.7 else _sig(generated * 0.1)
        data["nonconventional_water"] = (
            float(Decimal(str(data["water_withdrawal"])) * Decimal(rng.choice(["0", "0.35", "0.7"])))
            if nice
            else _sig(data["water_withdrawal"] * rng.uniform(0, 0.8))
        )
        data["renewable_energy_share"] = round(rng.uniform(0, 0.2), 4)
        data["efficient_motor_share"] = rng.choice([0.2, 0.4]) if nice else round(rng.uniform(0, 0.6), 4)
        data["intelligent_manufacturing_level"] = rng.randint(1, 5)
        for name, boxes in (
            (
                "energy_input_boxes",
                [
                    "energy_management_centre",
                    "smart_microgrid",
                    "green_power_purchase",
                    "waste_heat_recovery",
                    "three_level_metering",
                ],
            ),
            (
                "building_boxes",
                ["efficient_lighting", "water_saving_fixtures", "green_building_design", "green_building_operation"],
            ),
            ("management_boxes", ["ohs_certified", "ems_certified", "enms_certified", "esg_report", "low_carbon_plan"]),
            ("product_boxes", ["carbon_footprint_verified", "product_certified"]),
            (
                "honour_boxes",
                [
                    "green_supply_chain",
                    "green_design_demo",
                    "water_efficiency_leader",
                    "energy_efficiency_leader",
                    "heavy_pollution_grade_ab",
                    "energy_benchmark",
                ],
            ),
        ):
            data[name] = sorted(b for b in boxes if rng.random() < 0.6)
        data["in_actual_production"] = rng.random() > 0.01
        return data

    def _green(self, industry: str, benchmarks: BenchmarkEdition, nice: bool) -> dict[str, Any]:
        rng = self.rng
        edition = self.library.rulebook(Scheme.GREEN_FACTORY).editions[-1]
        data: dict[str, Any] = {}
        for item in edition.items:
            if item.method == "cases" and len(item.cases) == 2 and not item.derive and len(item.inputs) == 1:
                yes = {"veto": 0.998, "basic": 0.996, "expected": 0.7}.get(item.requirement or "", 0.8)
                data[item.inputs[0]] = rng.random() < yes
        data["lawful_establishment"] = rng.random() < 0.998
        data["no_major_accident_3y"] = rng.random() < 0.995
        data["multi_storey_plant_applicable"] = rng.random() < 0.6
        data["efficient_equipment_applicable"] = rng.random() < 0.9
        data["energy_using_product"] = rng.random() < 0.4
        data["product_efficiency_top_share"] = round(rng.uniform(0.01, 0.6), 3)
        bench = benchmarks.industries.get(industry, {})
        output_qty = int(_sig(rng.lognormvariate(12.5, 0.8), 3))
        data["qualified_output"] = output_qty
        for name, indicator in GF_INDUSTRY.items():
            anchors = bench.get(indicator, {"average": Decimal("0.01")})
            value = self._position(float(anchors["average"]), anchors, nice, spread=0.2)
            data[name] = _sig(output_qty * value)
        land = _sig(rng.uniform(20000, 150000), 3)
        data["land_area"] = land
        data["plot_ratio_requirement"] = rng.choice([0.6, 0.8, 1.0])
        data["building_floor_area"] = _sig(land * data["plot_ratio_requirement"] * rng.uniform(0.95, 2.2))
        data["tall_storey_area"] = _sig(data["building_floor_area"] * rng.uniform(0, 0.2))
        data["structure_area"] = _sig(land * rng.uniform(0, 0.1))
        data["building_density_requirement"] = rng.choice([0.3, 0.35, 0.4])
        data["building_footprint"] = _sig(land * rng.uniform(0.32, 0.6))
        data["structure_footprint"] = _sig(land * rng.uniform(0, 0.08))
        data["zone_output_per_land"] = 15000
        data["output_value"] = _sig(land / 10000 * 15000 * rng.uniform(0.95, 2.4))
        data["material_amount"] = _sig(rng.uniform(1000, 20000))
        rate = bench.get("green_material_rate", {"average": Decimal("0.3")})
        green_rate = self._position(float(rate["average"]), rate, False, higher=True, spread=0.2)
        data["green_material_amount"] = _sig(data["material_amount"] * min(1.0, green_rate))
        generated = _sig(rng.uniform(200, 4000))
        data["solid_waste_generated"] = generated
        data["solid_waste_stored_utilised"] = 0
        data["solid_waste_utilised"] = _sig(generated * rng.uniform(0.66, 1.0))
        discharged = _sig(rng.uniform(10000, 200000))
        reuse = bench.get("wastewater_reuse_rate", {"average": Decimal("0.2")})
        share = min(0.95, self._position(float(reuse["average"]), reuse, False, higher=True, spread=0.2))
        data["discharged_water"] = discharged
        data["reused_water"] = _sig(discharged * share / (1 - share))
        self_total = round(rng.uniform(70, 100), 1)
        data["self_evaluation_total"] = self_total
        data["third_party_total"] = round(min(105, max(0, self_total + rng.gauss(0, 3))), 1)
        data["independent_legal_person"] = rng.random() > 0.01
        data["in_actual_production"] = rng.random() > 0.01
        data["latest_grade"] = rng.choices([1, 2, 3, 4], [1, 3, 5, 3])[0]
        data["national_recommendation"] = rng.random() < 0.1
        return data

    def _bf(self, industry: str, benchmarks: BenchmarkEdition, nice: bool) -> dict[str, Any]:
        rng = self.rng
        base_output = _sig(rng.lognormvariate(10.3, 0.8))
        base_carbon = _sig(rng.lognormvariate(9.2, 0.8))
        growth = rng.uniform(-0.15, 0.3)
        return {
            "green_factory_level": rng.choices(["municipal", "national", "none"], [6, 3, 1])[0],
            "green_performance": rng.choices(["light_green", "dark_green", "none"], [4, 2, 4])[0],
            "air_pollutant_ratio": round(rng.uniform(0.2, 1.1), 3),
            "water_pollutant_ratio": round(rng.uniform(0.2, 1.1), 3),
            "output_value_base": base_output,
            "output_value_final": _sig(base_output * (1 + growth) ** 3),
            "carbon_base": base_carbon,
            "carbon_final": _sig(base_carbon * (1 + growth * rng.uniform(-0.5, 1.8)) ** 3),
            "vehicles_added_since_reference_year": rng.random() < 0.6,
            "added_all_new_energy": rng.random() < 0.5,
            "fleet_all_new_energy": rng.random() < 0.3,
            "trucks_buses_compliant": rng.random() < 0.7,
            "non_road_machinery_compliant": rng.random() < 0.6,
            "freight_new_energy_share": round(rng.uniform(0, 0.8), 3),
            "shuttle_new_energy_share": round(rng.uniform(0, 0.9), 3),
            "other_vehicles_china6b": rng.random() < 0.8,
            "small_machinery_new_energy_share": round(rng.uniform(0, 1), 3),
            "below_industry_average": rng.random() < 0.4,
            "clean_production_grade_2": rng.random() < 0.4,
            "waste_intensity_drop_3y": round(rng.uniform(0, 0.25), 3),
            "general_waste_utilisation_rate": round(rng.uniform(0.9, 1.02), 3),
            "waste_electronic_ledger": rng.random() < 0.7,
            "hazardous_waste_full_tracking": rng.random() < 0.4,
            "major_equipment": (equipment := rng.randint(5, 60)),
            "efficient_major_equipment": rng.randint(0, equipment),
            "energy_carbon_centre_fully_compliant": rng.random() < 0.5,
            "footprinted_products": rng.randint(0, 5),
            "product_types": rng.randint(1, 8),
            "smart_factory": rng.choice(
                ["miit_pilot", "lighthouse", "miit_excellent", "beijing_advanced", "beijing_basic", "none", "none"]
            ),
            "green_building": rng.choice(["three_star", "two_star", "prefabricated", "none"]),
            **{
                name: rng.random() < 0.7
                for name in (
                    "ems_certified",
                    "ohs_certified",
                    "enms_certified",
                    "qms_certified",
                    "ghg_system_established",
                    "esg_report_public",
                    "culture_evidence",
                    "cooperation_evidence",
                )
            },
            "public_activities": rng.randint(0, 8),
            "greening_photos": rng.choice([0, 0, 3, 5]),
            "landscape_photos": rng.choice([0, 0, 2, 4]),
            "other_highlights": rng.random() < 0.3,
        }

    # ----- boundaries ------------------------------------------------------------------------

    def _item_boundaries(self, edition: Edition, data: dict[str, Any]) -> None:
        """Now and then put an input compared with a constant on it, or a hair either side."""
        for item in edition.items:
            rules: list[Item | Part] = [*item.parts] or [item]
            for rule in rules:
                for case in rule.cases:
                    for name, conds in case.when.items():
                        if name in rule.derive or name not in data or isinstance(data[name], bool | str):
                            continue
                        for constant in conds.values():
                            if isinstance(constant, Decimal) and self.rng.random() < 0.06:
                                nudge = self.rng.choice([Decimal(0), Decimal("0.0001"), Decimal("-0.0001")])
                                value = max(Decimal(0), constant + nudge)
                                data[name] = int(value) if value == value.to_integral_value() else float(value)

    def _total_boundary(
        self, kernel: EditionKernel, edition: Edition, as_of: date, data: dict[str, Any], exact: bool
    ) -> None:
        """Put the exact total on a threshold (or a whole number), or a hair off it.

        Coarse: tick or untick boxes, turn expected answers, until the goal is within reach of the
        fine levers; fine: move the linear levers (renewable share and motor share; solid-waste
        utilisation) together to the one value the goal needs. Exactly on it when every other item
        scores a short decimal (``exact`` units), else a hair either side.
        """
        rng = self.rng
        marks = [t.min_total for t in edition.levels.thresholds if t.min_total > 0] if edition.levels else []
        if edition.passing is not None:
            marks.append(edition.passing.min_total)
        # On a threshold, a few points either side (where a draft would move it), or any whole number.
        near = rng.choice([0, 0, 0, -3, -2, -1, 1, 2, 3, 5])
        target = rng.choice(marks) + near if rng.random() < 0.7 else Decimal(rng.randint(50, 100))
        offset = (
            Decimal(0)
            if exact
            else rng.choice([Decimal("-0.005"), Decimal("-1e-9"), Decimal(0), Decimal("1e-9"), Decimal("0.005")])
        )
        goal = target + offset
        if edition.levels is not None:
            fine = [("renewable_energy_share", Decimal(0), Decimal("0.15"))]
            if not exact:
                fine.append(("efficient_motor_share", Decimal(0), Decimal("0.4")))
            coarse = [
                (item.inputs[0], box)
                for item in edition.items
                if item.method == "checklist"
                for box in item.params["boxes"]
            ]
        else:
            base = Decimal(str(data["solid_waste_generated"])) + Decimal(str(data["solid_waste_stored_utilised"]))
            fine = [("solid_waste_utilised", base * Decimal("0.73"), base * Decimal("0.90"))]
            coarse = [
                (item.inputs[0], True)
                for item in edition.items
                if item.requirement == "expected"
                and len(item.inputs) == 1
                and not item.derive
                and isinstance(data.get(item.inputs[0]), bool)
            ]

        def at(d: dict[str, Any], u: Decimal) -> dict[str, Any]:
            return {**d, **{n: float(lo + u * (hi - lo)) for n, lo, hi in fine}}

        first = kernel.score(as_of, at(data, Decimal(0)))
        if first.error or not first.exact:
            return

        def total(d: dict[str, Any], changed: set[str]) -> Decimal | None:
            # Only the items reading what changed are scored again (the what-if's shortcut, exact).
            score = kernel.score(as_of, d, same_as=first, same=kernel.not_reading(changed))
            return None if score.error or not score.exact else score.total

        fine_names = {n for n, _, _ in fine}
        low, high = first.total, total(at(data, Decimal(1)), fine_names)
        if low is None or high is None or high <= low:
            return
        reach = high - low
        changed: set[str] = set()
        rng.shuffle(coarse)
        for name, value in coarse[:24]:
            if low <= goal <= low + reach:
                break
            current = data.get(name)
            if isinstance(value, bool):
                flipped: Any = not current
            else:
                boxes = list(current) if isinstance(current, list) else []
                flipped = sorted(set(boxes) ^ {value})
            moved = total(at({**data, name: flipped}, Decimal(0)), {name, *changed})
            if moved is not None and abs(goal - reach / 2 - moved) < abs(goal - reach / 2 - low):
                data[name], low = flipped, moved
                changed.add(name)
        high = total(at(data, Decimal(1)), fine_names | changed)
        if high is None or not low <= goal <= high or high == low:
            return
        data.update(at(data, (goal - low) / (high - low)))  # every fine lever's item is linear on its range

    def _events(self, as_of: date) -> list[dict[str, Any]]:
        rng = self.rng
        kinds = [
            "safety_incident",
            "production_stopped",
            "environmental_incident",
            "abnormal_operation_list",
            "tax_evasion",
            "removed_from_list",
        ]
        start = as_of - timedelta(days=rng.randint(30, 1500))
        event: dict[str, Any] = {"kind": rng.choice(kinds), "from": start.isoformat()}
        event["to"] = min(as_of, start + timedelta(days=rng.choice([0, 200, 365, 400]))).isoformat()
        if event["kind"] == "abnormal_operation_list":
            event["removed"] = rng.random() < 0.5
        return [event]
