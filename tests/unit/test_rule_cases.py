"""The plain-language cases next to the rulebooks, through durable_rules and through the reference interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scoring.cases import RuleCase, load_cases, mismatches, outcome
from services.scoring.domain import reference
from services.scoring.domain.rulebook import RuleLibrary
from services.scoring.engine import RulesEngine

RULES = Path(__file__).resolve().parents[2] / "rules"
CASES = load_cases(RULES)


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(RuleLibrary.load(RULES))


def test_every_scheme_has_cases() -> None:
    assert {c.scheme.value for c in CASES} == {"grading", "green-factory", "beautiful-factory"}
    assert len(CASES) >= 130


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}: {c.name}" for c in CASES])
def test_case(case: RuleCase, engine: RulesEngine) -> None:
    assert outcome(case, engine.evaluate) == []
    assert outcome(case, lambda s, d, i: reference.evaluate(engine.library, s, d, i)) == []


def test_a_wrong_expectation_is_caught(engine: RulesEngine) -> None:
    case = CASES[0]
    wrong = RuleCase(case.scheme, case.file, case.name, case.on, case.input, {"items": {"GR-1": 1.99}})
    assert mismatches(wrong, engine.evaluate(case.scheme, case.on, case.input))


def test_every_category_of_the_green_factory_adds_up_to_100() -> None:
    from collections import Counter
    from decimal import Decimal

    from contracts.schemes import Scheme

    edition = RuleLibrary.load(RULES).rulebook(Scheme.GREEN_FACTORY).editions[0]
    sums: Counter[str] = Counter()
    for item in edition.items:
        sums[str(item.category)] += int(item.max)
    assert dict(sums) == {f"C{i}": 100 for i in range(7)}
    assert sum(c.weight for c in edition.categories) * 100 == Decimal(105)
