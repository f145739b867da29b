"""durable_rules against the reference interpreter on generated declarations (hypothesis).

Declarations are read off the rulebooks: every input an item needs, at and a hair either side of
every boundary its conditions name, booleans and choices where a case compares with them, ticked
boxes, events around the eligibility windows, and missing inputs. Hypothesis draws the seeds of a
fast generator (drawing ~150 inputs through strategies made 10,000 examples take minutes); a
failure names its seed. Both must give identical evaluations, or the same error on the same field.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.schemes import Scheme
from services.scoring.domain import reference
from services.scoring.domain.expressions import parse
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import Edition, RuleLibrary
from services.scoring.engine import RulesEngine

RULES = Path(__file__).resolve().parents[2] / "rules"
SHARES: set[str] = set()  # inputs that are shares (0–1), filled from the rulebooks
LIBRARY = RuleLibrary.load(RULES)
ENGINE = RulesEngine(LIBRARY)
EXAMPLES = int(os.environ.get("GREENFAB_DIFFERENTIAL_EXAMPLES", "10000"))
AS_OF = {Scheme.GRADING: [date(2025, 10, 8)], Scheme.GREEN_FACTORY: [date(2025, 10, 8)],
         Scheme.BEAUTIFUL_FACTORY: [date(2024, 10, 8), date(2025, 10, 8)]}  # fmt: skip


def _inputs(edition: Edition) -> tuple[dict[str, set[Any]], dict[str, list[str]]]:
    """Per input: the constants its conditions compare with; and the checklists' boxes."""
    seen: dict[str, set[Any]] = {}
    boxes: dict[str, list[str]] = {}
    derived: set[str] = set()
    for item in edition.items:
        rules: list[Any] = list(item.parts) or [item]
        for rule in rules:
            derived |= set(rule.derive)
            for name in [*rule.inputs, *rule.optional]:
                seen.setdefault(name, set())
            for expr in rule.derive.values():
                for name in parse(expr).names:
                    if name not in rule.derive:
                        seen.setdefault(name, set())
            for case in rule.cases:
                for name, conds in case.when.items():
                    seen.setdefault(name, set()).update(conds.values())
        for rule in rules:
            for name in rule.shares:
                SHARES.add(name)
        if item.method == "checklist":
            boxes[item.inputs[0]] = list(item.params["boxes"])
        if item.applies_if:
            seen.setdefault(item.applies_if, set()).add(True)
    for name in derived:
        seen.pop(name, None)
    return seen, boxes


def _value(rng: random.Random, constants: set[Any]) -> Any:
    if any(isinstance(c, bool) for c in constants):
        return rng.random() < 0.5
    if any(isinstance(c, str) for c in constants):
        return rng.choice(sorted(str(c) for c in constants))
    pick = rng.random()
    if constants and pick < 0.5:
        # At a boundary, or a hair either side of it.
        c = Decimal(str(rng.choice(sorted(constants, key=str))))
        return float(max(Decimal(0), c + rng.choice([Decimal(0), Decimal("0.0001"), -Decimal("0.0001")])))
    if pick < 0.8:
        return round(rng.uniform(0, 2), 4)
    return rng.randint(0, 100_000)


def _events(rng: random.Random, as_of: date) -> list[dict[str, Any]]:
    kinds = sorted({v.event for v in LIBRARY.eligibility.vetoes if v.event})
    out = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        start = as_of + timedelta(days=rng.randint(-1300, 10))
        event: dict[str, Any] = {"kind": rng.choice(kinds), "from": start.isoformat()}
        if rng.random() < 0.7:
            event["to"] = (start + timedelta(days=rng.choice([0, 364, 365, 366, 400]))).isoformat()
        for flag in ("removed", "rectified"):
            if rng.random() < 0.3:
                event[flag] = rng.random() < 0.5
        out.append(event)
    return out


def declaration(scheme: Scheme, seed: int) -> tuple[date, dict[str, Any]]:
    """A declaration built from the rulebook by a seeded generator (hypothesis picks the seeds)."""
    rng = random.Random(seed)
    as_of = rng.choice(AS_OF[scheme])
    seen, boxes = INPUTS[(scheme, as_of)]
    data: dict[str, Any] = {}
    for name in sorted(seen):
        if rng.random() < 0.05:
            continue  # missing now and then
        data[name] = _value(rng, seen[name])
        if name in SHARES and isinstance(data[name], float | int) and data[name] > 1 and rng.random() < 0.95:
            data[name] = round(rng.random(), 4)  # now and then a share above 100 %, refused by both
    for name in sorted(boxes):
        data[name] = rng.sample(boxes[name], rng.randint(0, len(boxes[name])))
    data["industry_code"] = rng.choice(["C3841", "C1523", "C9999"])
    data["events"] = _events(rng, as_of)
    data["latest_grade"] = rng.randint(1, 4)
    for name in ("national_recommendation", "in_actual_production", "independent_legal_person"):
        data[name] = rng.random() < 0.5
    return as_of, data


INPUTS = {
    (scheme, on): _inputs(LIBRARY.rulebook(scheme).edition_for(on)) for scheme, dates in AS_OF.items() for on in dates
}


def _outcome(run: Any, scheme: Scheme, as_of: date, data: dict[str, Any]) -> Any:
    try:
        return run(scheme, as_of, data)
    except InputError as exc:
        return ("InputError", exc.field)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_engine_and_reference_agree(scheme: Scheme) -> None:
    compared = {"count": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.integers(min_value=0, max_value=2**63))
    def check(seed: int) -> None:
        as_of, data = declaration(scheme, seed)
        ours = _outcome(ENGINE.evaluate, scheme, as_of, data)
        theirs = _outcome(lambda s, d, i: reference.evaluate(LIBRARY, s, d, i), scheme, as_of, data)
        assert ours == theirs
        compared["count"] += 1

    check()
    assert compared["count"] >= min(EXAMPLES, 10_000)
