"""The reference interpreter: evaluates a rulebook edition in plain Python, the engine's differential oracle.

It shares the data, the facts and the outcome arithmetic with the engine; what it does itself, in
Python, is what the engine leaves to durable_rules: deciding which case holds and which veto fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.evaluation import Evaluation, Flag
from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from services.scoring.domain import outcomes
from services.scoring.domain.assemble import assemble
from services.scoring.domain.facts import Fact, InputError, build_facts
from services.scoring.domain.rulebook import BenchmarkEdition, Edition, RuleLibrary
from services.scoring.domain.vetoes import (
    EventFact,
    answers,
    applies,
    describe,
    event_facts,
    event_vetoes,
    input_vetoes,
)


class RuleError(RuntimeError):
    """The rulebook data does not decide a fact (no case holds): a data bug, named."""


@dataclass
class Prepared:
    """Everything an evaluation needs before rules are applied."""

    scheme: Scheme
    as_of: date
    data: dict[str, Any]
    edition: Edition
    benchmarks: BenchmarkEdition
    version: str
    facts: list[Fact]
    events: list[EventFact]
    flags: list[Flag]


def check_inputs(library: RuleLibrary, as_of: date, data: dict[str, Any]) -> None:
    """Scoring's own check against the input catalogue (intake refused these already): the first problem.

    A name the catalogue does not know is refused at intake but passed over here: no rule reads it, so it
    cannot change a result, and a declaration stored before the catalogue existed can still be rescored.
    """
    problems = [p for p in library.inputs.check(data, as_of) if p.code != "unknown_input"]
    if problems:
        first = problems[0]
        raise InputError(", ".join(first.fields), first.message_en, first.code, first.message_zh)


def prepare(library: RuleLibrary, scheme: Scheme, as_of: date, data: dict[str, Any]) -> Prepared:
    check_inputs(library, as_of, data)
    edition = library.rulebook(scheme).edition_for(as_of)
    benchmarks = library.benchmarks_for(as_of)
    events, flags = event_facts(library.eligibility, library.inputs.events, data.get("events"), as_of)
    return Prepared(
        scheme=scheme,
        as_of=as_of,
        data=data,
        edition=edition,
        benchmarks=benchmarks,
        version=library.version(edition, benchmarks),
        facts=build_facts(edition, data),
        events=events,
        flags=flags,
    )


def by_method(fact: Fact, prep: Prepared) -> outcomes.Scored:
    """Items whose method is a formula rather than cases."""
    return formula(fact, prep.benchmarks, prep.data)


def formula(fact: Fact, benchmarks: BenchmarkEdition, data: dict[str, Any]) -> outcomes.Scored:
    """The outcome of a fact whose item is scored by a formula (checklist, industry position, expert)."""
    method = fact.item.method
    if method == "checklist":
        return outcomes.checklist(fact)
    if method == "industry_position":
        industry = data.get("industry_code")
        return outcomes.industry_position(fact, benchmarks, industry if isinstance(industry, str) else None)
    if method == "expert":
        reason = fact.item.params.get("reason", "酌情给分")
        return outcomes.Scored("needs_expert", None, f"需专家评定：{reason}")
    raise RuleError(f"{fact.key}: method {method} has no formula")


def score(fact: Fact, case_index: int | None, prep: Prepared) -> outcomes.Scored:
    if fact.item.method not in ("cases", "parts"):
        return by_method(fact, prep)
    return by_case(fact, case_index)


def by_case(fact: Fact, case_index: int | None) -> outcomes.Scored:
    """The outcome of a fact scored by cases, given the case that holds (None: none holds)."""
    if case_index is None and fact.absent_optional:
        names = tuple(fact.absent_optional)
        return outcomes.Scored("missing_input", None, "缺少输入：" + "、".join(names), None, names)
    if case_index is None:
        shown = {k: str(v) for k, v in fact.fields.items()}
        raise RuleError(f"{fact.key}: no case of the rulebook holds for {shown}")
    return outcomes.apply(fact.cases[case_index].then, fact)


def finish(
    prep: Prepared,
    scored: dict[str, outcomes.Scored],
    vetoes: list[VetoResult],
    expert_points: Mapping[str, Decimal] | None = None,
) -> Evaluation:
    return assemble(
        prep.scheme,
        prep.edition,
        prep.version,
        prep.as_of,
        prep.facts,
        scored,
        vetoes,
        prep.data,
        expert_points,
        flags=prep.flags,
    )


def evaluate(
    library: RuleLibrary,
    scheme: Scheme,
    as_of: date,
    data: dict[str, Any],
    expert_points: Mapping[str, Decimal] | None = None,
) -> Evaluation:
    prep = prepare(library, scheme, as_of, data)
    replies = answers(library.eligibility, data)
    scored = {}
    for fact in prep.facts:
        if fact.kind != "score":
            continue
        index = next((i for i, c in enumerate(fact.cases) if outcomes.matches(c, fact.fields)), None)
        scored[fact.key] = score(fact, index, prep)
    vetoes = []
    for veto in library.eligibility.vetoes:
        if not applies(veto, scheme):
            continue
        if veto.event is not None:
            vetoes += [describe(veto, as_of, e, data) for e in prep.events if event_vetoes(veto, e)]
        elif input_vetoes(veto, replies):
            vetoes.append(describe(veto, as_of, None, data))
    for v in vetoes:
        v.overridable = next(x.overridable for x in library.eligibility.vetoes if x.code == v.code)
    return finish(prep, scored, vetoes, expert_points)
