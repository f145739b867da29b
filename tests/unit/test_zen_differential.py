"""zen-engine (GoRules' Rust engine) on bench/zen's decision graph against our RulesEngine, item by item.

Issue 14 item 3 compares the engines' speed on the beautiful-factory scheme; that is only a comparison if both
do the same work. Here both score the same declarations: bench/scoring.py's (what bench/engine.py times), the
rulebook's cases (rules/beautiful-factory/cases/), and declarations generated from the rulebook and the input
catalogue (test_differential.declaration, both editions). Per item the status (scored, needs_expert,
missing_input) and the shown points must be equal, and so must the total, provisional, the items' flags and
whether the gate lets the declaration in. What our engine refuses (the input catalogue's checks, which the graph
does not encode) is left out, counted, and must stay a minority.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.scoring import inputs
from bench.zen import jdm
from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.cases import load_cases
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import Edition, RuleLibrary
from services.scoring.engine import RulesEngine
from tests.unit.test_differential import declaration

RULES = Path(__file__).resolve().parents[2] / "rules"
LIBRARY = RuleLibrary.load(RULES)
ENGINE = RulesEngine(LIBRARY)
SCHEME = Scheme.BEAUTIFUL_FACTORY
EDITIONS = {e.edition: e for e in LIBRARY.rulebook(SCHEME).editions}
DECISIONS = {name: jdm.decision(edition) for name, edition in EDITIONS.items()}
GENERATED = 400  # seeds of test_differential.declaration, both editions


def ours(result: Evaluation) -> dict[str, Any]:
    """What the graph gives, read off our evaluation."""
    return {
        "items": {i.id: (i.status, i.points) for i in result.items},
        "total": result.total,
        "provisional": result.provisional,
        "flags": [f.code for f in result.flags if f.item.startswith("BF-")],  # the items' (not events' or checks')
        "gate": "gate" not in {v.code for v in result.vetoes},
    }


def theirs(result: dict[str, Any]) -> dict[str, Any]:
    """The graph's response in the same shape (zen hands numbers back as floats: read through their text)."""

    def points(v: float | None) -> Decimal | None:
        return None if v is None else Decimal(str(v))

    return {
        "items": {k: (v["status"], points(v["points"])) for k, v in result["items"].items()},
        "total": points(result["total"]),
        "provisional": result["provisional"],
        "flags": result["flags"],
        "gate": result["gate"],
    }


def compare(as_of: date, data: dict[str, Any], decision: Any = None) -> list[str] | None:
    """The differences between the engines on one declaration, or None when our engine refuses it."""
    try:
        mine = ours(ENGINE.evaluate(SCHEME, as_of, data))
    except InputError:
        return None
    edition = LIBRARY.rulebook(SCHEME).edition_for(as_of)
    zen = theirs((decision or DECISIONS[edition.edition]).evaluate(data)["result"])
    problems = [
        f"{k}: ours {mine['items'].get(k)}, zen {zen['items'].get(k)}"
        for k in sorted(set(mine["items"]) | set(zen["items"]))
        if mine["items"].get(k) != zen["items"].get(k)
    ]
    problems += [
        f"{k}: ours {mine[k]}, zen {zen[k]}" for k in ("total", "provisional", "flags", "gate") if mine[k] != zen[k]
    ]
    return problems


def test_the_committed_graph_is_the_rulebook_s() -> None:
    committed = jdm.path_for(jdm.EDITION).read_text(encoding="utf-8")
    assert committed == jdm.text(EDITIONS[jdm.EDITION]), "regenerate it: .venv/bin/python bench/zen/jdm.py"
    # bench/engine.py times the committed graph on bench/scoring.py's declarations: they are scored under its edition.
    assert {LIBRARY.rulebook(SCHEME).edition_for(inputs(SCHEME, i)[0]).edition for i in range(3)} == {jdm.EDITION}
    nodes = json.loads(committed)["nodes"]
    assert {n["type"] for n in nodes} == {"inputNode", "expressionNode", "decisionTableNode", "outputNode"}


def test_the_bench_declarations_score_alike() -> None:
    decision = jdm.decision()  # the committed file, as bench/engine.py loads it
    for i in range(300):
        on, data = inputs(SCHEME, i)
        assert compare(on, data, decision) == [], i


def test_the_rule_cases_score_alike() -> None:
    cases = [c for c in load_cases(RULES) if c.scheme == SCHEME]
    refused = 0
    for case in cases:
        problems = compare(case.on, case.input)
        if problems is None:
            refused += 1  # the catalogue's checks (part_exceeds_whole, must_be_positive, not_whole): not in the graph
            assert "refused" in case.expect, case.name
            continue
        assert problems == [], case.name
    assert len(cases) >= 50
    assert refused == sum("refused" in c.expect for c in cases) <= 5


def test_generated_declarations_score_alike() -> None:
    compared, refused = {name: 0 for name in EDITIONS}, 0
    for seed in range(GENERATED):
        as_of, data = declaration(SCHEME, seed)
        problems = compare(as_of, data)
        if problems is None:
            refused += 1
            continue
        assert problems == [], seed
        compared[LIBRARY.rulebook(SCHEME).edition_for(as_of).edition] += 1
    assert min(compared.values()) >= GENERATED // 4, compared
    assert refused <= GENERATED // 3, refused


def _changed(edition: Edition) -> Any:
    """The graph with BF-1's full-points band moved from ≤ 0.5 to ≤ 0.4."""
    import zen

    graph = jdm.graph(edition)
    (table,) = [n for n in graph["nodes"] if n["id"] == "table-BF_1"]
    (column,) = [c["id"] for c in table["content"]["inputs"] if c["field"] == "air_pollutant_ratio"]
    rule = next(r for r in table["content"]["rules"] if r[column] == "$ <= 0.5")
    rule[column] = "$ <= 0.4"
    return zen.ZenEngine().create_decision(json.dumps(graph))


def test_a_changed_graph_is_caught() -> None:
    on, data = inputs(SCHEME, 0)  # BF-1's ratio 0.42: full points in the rulebook
    problems = compare(on, data, _changed(EDITIONS[jdm.EDITION]))
    assert problems is not None
    assert any(p.startswith("BF-1:") for p in problems) and any(p.startswith("total:") for p in problems)


@pytest.mark.parametrize("expression", ["cagr(a, b, 3)", "when(a != 0, b / a, 0)", "(a >= b) * (a > 0)", "min(a, b)"])
def test_derive_expressions_translate_to_the_same_value(expression: str) -> None:
    from zen import evaluate_expression

    from services.scoring.domain.expressions import parse

    values = {"a": Decimal("32000"), "b": Decimal("41000")}
    translated = jdm._Translate(lambda name: name)(expression)
    assert Decimal(str(evaluate_expression(translated, {k: float(v) for k, v in values.items()}))).quantize(
        Decimal("1e-9")
    ) == parse(expression).evaluate(values).quantize(Decimal("1e-9"))
