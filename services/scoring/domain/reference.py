"""The reference interpreter: scores a rulebook edition in plain Python, as the engine's oracle."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.domain import methods
from services.scoring.domain.assemble import assemble
from services.scoring.domain.facts import ItemFact, build_facts
from services.scoring.domain.rulebook import Benchmarks, RuleLibrary, content_hash


def score_fact(fact: ItemFact, benchmarks: Benchmarks, industry: str | None) -> methods.Outcome:
    """One item's outcome by its method and the rulebook's parameters."""
    item = fact.item
    if item.method == "industry_position":
        bench = benchmarks.industries.get(industry or "", {}).get(item.params["indicator"])
        return methods.industry_position(fact.value, item.max, item.params, bench)
    fn = {"proportional": methods.proportional, "linear": methods.linear, "checklist": methods.checklist}[item.method]
    return fn(fact.value, item.max, item.params)


def evaluate(library: RuleLibrary, scheme: Scheme, as_of: date, data: dict[str, Any]) -> Evaluation:
    rulebook = library.rulebook(scheme)
    edition = rulebook.edition_for(as_of)
    benchmarks = library.benchmarks_for(as_of)
    facts = build_facts(edition, data)
    industry = data.get("industry_code")
    outcomes = {f.item.id: score_fact(f, benchmarks, industry) for f in facts if f.kind == "score"}
    version = content_hash(edition.model_dump(mode="json"), benchmarks.model_dump(mode="json"))
    return assemble(scheme, edition, version, as_of, facts, outcomes)
