"""The batch scorer: exact totals, levels and pass for whole registries, fast enough for a policy what-if.

Why it exists: a what-if rescores every unit twice (the edition in force and the draft). Through
durable_rules an evaluation costs about 1 ms (facts to JSON, the C core, actions back), and the
reference interpreter spends most of its time on explanations and the pydantic Evaluation. The
what-if needs neither: it needs each item's exact points, the total, the level and the pass.

What it shares with the engine and the reference, unchanged: the rulebook data, the arithmetic of
derived values (``expressions``), every outcome formula (``outcomes.apply``, ``checklist``,
``industry_position``), each item's decision (``assemble.decide_item``) and the eligibility
readings (``vetoes``). What it does itself: reads a declaration's inputs once per unit instead of
once per item, decides cases on pre-compiled conditions, remembers an item's outcome for inputs it
has already seen (a pure function of them), and adds up totals, levels and pass as ``assemble``
does without building the Evaluation. Anything unusual (an input the reference would refuse, a
case no rule decides) is handed to the reference interpreter for that unit, so the batch scorer is
never more lenient than the engine. ``tests/unit/test_batch.py`` holds it equal to the durable_rules
engine on the differential test's generated declarations and on the synthetic registry.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.domain import outcomes, reference
from services.scoring.domain.assemble import UNMET, Decided, decide_item, gate_passes, round_points
from services.scoring.domain.expressions import Expression, ExpressionError, parse
from services.scoring.domain.facts import QUANTUM, Fact, InputError
from services.scoring.domain.rulebook import (
    BenchmarkEdition,
    Case,
    Edition,
    Item,
    Outcome,
    Part,
    Rulebook,
    RuleLibrary,
)
from services.scoring.domain.vetoes import answers, applies, input_vetoes

ZERO, ONE = Decimal(0), Decimal(1)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}
_MEMO_LIMIT = 500_000


class _Unusual(Exception):
    """Something the batch path does not decide itself: the reference interpreter scores this unit."""


@dataclass(frozen=True)
class Score:
    """One unit under one edition: what a what-if compares."""

    scheme: Scheme
    edition: str
    total: Decimal  # exact (D-ROUND: rounded only when shown)
    shown_total: Decimal
    level: int | None
    passed: bool | None
    provisional: bool
    vetoes: tuple[str, ...]
    failing_basic: tuple[str, ...]
    points: Mapping[str, Decimal | None]  # exact, per item; None unless scored
    statuses: Mapping[str, str]
    flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    error: str | None = None
    exact: bool = True  # False when the total came rounded from a fallback Evaluation

    @staticmethod
    def refused(scheme: Scheme, edition: str, error: str) -> Score:
        return Score(scheme, edition, ZERO, ZERO, None, None, True, (), (), {}, {}, error=error, exact=False)

    def outcome(self, item_id: str) -> tuple[str, Decimal | None, tuple[str, ...]]:
        return self.statuses[item_id], self.points[item_id], self.flags[item_id]


@dataclass(frozen=True)
class _Condition:
    name: str
    op: str
    constant: Any
    numeric: bool  # the constant is a number: compare Decimals directly


@dataclass(frozen=True)
class FactRule:
    """One fact's rule (an item, or a part of a ``parts`` item), prepared once per edition."""

    item: Item
    part: Part | None
    needed: tuple[str, ...]
    optional: tuple[str, ...]
    derive: tuple[tuple[str, Expression], ...]
    cases: tuple[tuple[tuple[_Condition, ...], Case], ...]
    arithmetic: tuple[_Arithmetic | None, ...]  # per case: its outcome's numbers, or None (the domain computes it)
    booleans: frozenset[str]
    words: Mapping[str, frozenset[str]]

    @property
    def key(self) -> str:
        return self.item.id if self.part is None else f"{self.item.id}{self.part.id}"


@dataclass(frozen=True)
class _Arithmetic:
    """An outcome's numbers, to compute its points without its explanation (outcomes.apply builds both)."""

    kind: str  # expert | full | points | linear | inverse
    flag: str | None
    points: Decimal = ZERO
    of: str = ""
    low: Decimal = ZERO
    span: Decimal = ZERO  # linear: full_at - zero_at; inverse: the numerator


_OUTCOME_FIELDS = {"points", "full", "linear", "floor", "inverse", "expert", "flag", "explain"}


def _arithmetic(outcome: Outcome) -> _Arithmetic | None:
    """The outcome's numbers when its shape is one this module knows; None hands it to outcomes.apply."""
    if set(type(outcome).model_fields) - _OUTCOME_FIELDS:
        return None  # the rulebook model grew a kind of outcome: the domain's formula decides it
    if outcome.floor is not None:
        return None  # D-FLOOR's share: outcomes.apply computes it
    if outcome.expert is not None:
        return _Arithmetic("expert", outcome.flag)
    if outcome.full:
        return _Arithmetic("full", outcome.flag)
    if outcome.points is not None:
        return _Arithmetic("points", outcome.flag, points=outcome.points)
    if outcome.linear is not None and set(outcome.linear) == {"of", "zero_at", "full_at"}:
        low, high = Decimal(str(outcome.linear["zero_at"])), Decimal(str(outcome.linear["full_at"]))
        return _Arithmetic("linear", outcome.flag, of=outcome.linear["of"], low=low, span=high - low)
    if outcome.inverse is not None and set(outcome.inverse) == {"of", "numerator"}:
        numerator = Decimal(str(outcome.inverse["numerator"]))
        return _Arithmetic("inverse", outcome.flag, of=outcome.inverse["of"], span=numerator)
    return None


def _apply(a: _Arithmetic, fields: dict[str, Any], top: Decimal) -> outcomes.Scored:
    # Mirrors outcomes.apply's arithmetic exactly (the differential test holds them equal), without the text.
    if a.kind == "expert":
        return outcomes.Scored("needs_expert", None, "", a.flag)
    if a.kind == "full":
        return outcomes.Scored("scored", top, "", a.flag)
    if a.kind == "points":
        return outcomes.Scored("scored", min(a.points, top), "", a.flag)
    v = Decimal(fields[a.of])
    if a.kind == "linear":
        share = max(ZERO, min(ONE, (v - a.low) / a.span))
        return outcomes.Scored("scored", top * share, "", a.flag)
    return outcomes.Scored("scored", min(top, a.span / v) if v else top, "", a.flag)


_POSITION_PARAMS = {"indicator", "direction", "mode", "strict"}
_POSITION_MODES = {"position", "not_worse_than_average", "better_than_top20"}


def _position(item: Item, value: Decimal, benchmarks: BenchmarkEdition, industry: str | None) -> outcomes.Scored | None:
    """D-IND's points as outcomes.industry_position computes them, without the text; None: a shape it does not know."""
    params = item.params
    if set(params) - _POSITION_PARAMS or params.get("mode", "position") not in _POSITION_MODES:
        return None
    bench = benchmarks.industries.get(industry or "", {}).get(params["indicator"])
    if bench is None:
        return outcomes.Scored("needs_expert", None, "")
    points, why = outcomes.position_points(params, value, bench, item.max)
    return outcomes.Scored("scored", points, "", "unmet" if why == "unmet" else None)


def _needed(inputs: list[str], derive: dict[str, str]) -> tuple[str, ...]:
    # As facts.build_facts reads them: the inputs, then every name a derivation reads that is not derived.
    names = list(inputs)
    derived: set[str] = set()
    for name, expr in derive.items():
        names += [n for n in parse(expr).names if n not in derived and n not in names]
        derived.add(name)
    return tuple(names)


def fact_rule(item: Item, part: Part | None) -> FactRule:
    source: Item | Part = part if part is not None else item
    cases = []
    booleans: set[str] = set()
    words: dict[str, set[str]] = {}
    for case in source.cases:
        conds = []
        for name, ops in case.when.items():
            for op, constant in ops.items():
                numeric = not isinstance(constant, bool | str)
                conds.append(_Condition(name, op, Decimal(str(constant)) if numeric else constant, numeric))
                if isinstance(constant, bool):
                    booleans.add(name)
                elif isinstance(constant, str):
                    words.setdefault(name, set()).add(constant)
        cases.append((tuple(conds), case))
    return FactRule(
        item=item,
        part=part,
        needed=_needed(source.inputs, source.derive),
        optional=tuple(source.optional),
        derive=tuple((n, parse(e)) for n, e in source.derive.items()),
        cases=tuple(cases),
        arithmetic=tuple(_arithmetic(case.then) for _, case in cases),
        booleans=frozenset(booleans),
        words={k: frozenset(v) for k, v in words.items()},
    )


def _discrete(item: Item, rules: list[FactRule]) -> bool:
    if item.method == "checklist" or item.method == "expert":
        return True
    if item.method not in ("cases", "parts"):
        return False
    return all(not r.derive and set(r.needed) | set(r.optional) <= r.booleans | set(r.words) for r in rules)


def _convert(name: str, raw: Any) -> Any:
    """An input as facts reads it; anything the reference might refuse or read differently is unusual."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float | Decimal):
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise _Unusual(name) from None
        if not value.is_finite() or value < 0:
            raise _Unusual(name)
        return value
    if isinstance(raw, str):
        try:
            Decimal(raw)
        except InvalidOperation:
            return raw
        raise _Unusual(name)  # a number written as text: the reference's reading, not ours
    if isinstance(raw, list) and all(isinstance(b, str) for b in raw):
        return tuple(sorted(set(raw)))
    raise _Unusual(name)


class _Inputs:
    """A declaration's inputs, each converted once however many items read it."""

    __slots__ = ("_cache", "data", "derived")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self._cache: dict[str, Any] = {}
        # Derived values by (expression, the values it read): items often share one (GF-6-7 and GF-6-8).
        self.derived: dict[tuple[Any, ...], Decimal] = {}

    def get(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            raw = self.data.get(name)
            value = self._cache[name] = None if raw is None else _convert(name, raw)
            return value


def _holds(cond: _Condition, value: Any) -> bool:
    if cond.numeric and isinstance(value, Decimal):
        return _COMPARE[cond.op](value, cond.constant)
    return outcomes.holds(cond.op, value, cond.constant)  # type: ignore[arg-type]


class EditionKernel:
    """One edition prepared for scoring many units."""

    def __init__(self, scheme: Scheme, edition: Edition, library: RuleLibrary) -> None:
        self.scheme = scheme
        self.edition = edition
        self.library = library
        self.rules: list[tuple[Item, list[FactRule]]] = [
            (item, [fact_rule(item, p) for p in item.parts] if item.method == "parts" else [fact_rule(item, None)])
            for item in edition.items
        ]
        self.vetoes = [v for v in library.eligibility.vetoes if applies(v, scheme)]
        self.thresholds = sorted(edition.levels.thresholds, key=lambda t: -t.min_total) if edition.levels else []
        self._memo: dict[tuple[Any, ...], tuple[str, Decimal | None, tuple[str, ...]]] = {}
        self._pinned: RuleLibrary | None = None
        self._splits: dict[int, tuple[frozenset[str], list[str], list[tuple[Item, list[FactRule]]]]] = {}
        self._reads = {
            item.id: tuple(dict.fromkeys(
                [*([item.applies_if] if item.applies_if else []), *(n for r in rules for n in (*r.needed, *r.optional))]
            ))
            for item, rules in self.rules
        }  # fmt: skip
        # Items read only as yes/no, words or boxes: their outcome is remembered by those answers.
        self._discrete = {item.id for item, rules in self.rules if _discrete(item, rules)}
        self._members = [
            (cat, [(i.id, i.max) for i, _ in self.rules if i.category == cat.id]) for cat in edition.categories
        ]
        self._veto_rows = [i.id for i, _ in self.rules if i.requirement == "veto"]
        self._basic_rows = [i.id for i, _ in self.rules if i.requirement == "basic"]

    # ----- one fact ------------------------------------------------------------------------

    def _fields(self, rule: FactRule, inputs: _Inputs) -> tuple[str, dict[str, Any], list[str]] | None:
        """(kind, fields, absent optional) of one fact; None when an input is missing."""
        fields: dict[str, Any] = {}
        for name in rule.needed:
            value = inputs.get(name)
            if value is None:
                return None
            fields[name] = value
        absent = []
        for name in rule.optional:
            value = inputs.get(name)
            if value is None:
                absent.append(name)
            else:
                fields[name] = value
        if rule.derive:
            numeric = {k: (Decimal(int(v)) if isinstance(v, bool) else v) for k, v in fields.items()
                       if isinstance(v, Decimal | bool)}  # fmt: skip
            for name, expr in rule.derive:
                key = (expr.source, *(numeric.get(n) for n in expr.names))
                value = inputs.derived.get(key)
                if value is None:
                    try:
                        value = expr.evaluate(numeric).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
                    except (KeyError, ExpressionError, InvalidOperation) as exc:
                        raise _Unusual(name) from exc
                    inputs.derived[key] = value
                numeric[name] = fields[name] = value
        for name in rule.booleans:
            if name in fields and not isinstance(fields[name], bool):
                raise _Unusual(name)
        for name, allowed in rule.words.items():
            if name in fields and fields[name] not in allowed:
                raise _Unusual(name)
        return "score", fields, absent

    def _scored(self, rule: FactRule, fields: dict[str, Any], absent: list[str], unit: UnitView) -> outcomes.Scored:
        item = rule.item

        def fact() -> Fact:
            # Facts carry checklists as lists (outcomes read them so); our cache keys need tuples.
            return Fact(item=item, part=rule.part, fields={k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in fields.items()})  # fmt: skip

        if item.method == "checklist":
            boxes = fields[item.inputs[0]]
            if not isinstance(boxes, tuple) or not set(boxes) <= set(item.params["boxes"]):
                raise _Unusual(item.inputs[0])
            return outcomes.checklist(fact())
        if item.method == "industry_position":
            value = fields.get("value")
            known = _position(item, value, unit.benchmarks, unit.industry) if isinstance(value, Decimal) else None
            return known or outcomes.industry_position(fact(), unit.benchmarks, unit.industry)
        if item.method == "expert":
            return outcomes.Scored("needs_expert", None, "")
        top = rule.part.max if rule.part is not None else item.max
        for (conds, case), numbers in zip(rule.cases, rule.arithmetic, strict=True):
            if all(c.name in fields and _holds(c, fields[c.name]) for c in conds):
                return _apply(numbers, fields, top) if numbers is not None else outcomes.apply(case.then, fact())
        if absent:
            return outcomes.Scored("missing_input", None, "", None, tuple(absent))
        raise _Unusual(rule.key)  # no case holds: the reference names the data bug

    def _item(self, item: Item, rules: list[FactRule], unit: UnitView) -> tuple[str, Decimal | None, tuple[str, ...]]:
        """(status, exact points, flags) of one item, remembered for discrete answers (yes/no, choices, boxes)."""
        key = self._discrete_key(item, unit) if item.id in self._discrete else None
        if key is not None and (known := self._memo.get(key)) is not None:
            return known
        answer = self._decide(item, rules, unit)
        if key is not None:
            if len(self._memo) > _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = answer
        return answer

    def _discrete_key(self, item: Item, unit: UnitView) -> tuple[Any, ...] | None:
        """The item's raw inputs when every one is a yes/no, a word, a box list or absent; else None.

        Continuous numbers seldom repeat across units: remembering them would only cost memory.
        """
        parts: list[Any] = [item.id]
        if item.method == "industry_position":
            parts += [unit.industry, unit.benchmarks.edition]
        for name in self._reads[item.id]:
            raw = unit.inputs.data.get(name)
            if raw is None or isinstance(raw, bool | str):
                parts.append((raw.__class__, raw))  # the class keeps True apart from 1
            elif isinstance(raw, list) and all(isinstance(b, str) for b in raw):
                parts.append((list, tuple(raw)))
            else:
                return None
        return tuple(parts)

    def _decide(self, item: Item, rules: list[FactRule], unit: UnitView) -> tuple[str, Decimal | None, tuple[str, ...]]:
        if item.applies_if is not None:
            flag = unit.inputs.get(item.applies_if)
            if flag is not None and not isinstance(flag, bool):
                raise _Unusual(item.applies_if)
            if flag is False:
                return "not_applicable", None, ()
        read = [self._fields(r, unit.inputs) for r in rules]
        if any(r is None for r in read):
            return "missing_input", None, ()
        if len(rules) == 1 and rules[0].part is None and read[0] is not None:
            # One fact: its outcome is the item's (assemble.decide_item's first branches, without the text).
            o = self._scored(rules[0], read[0][1], read[0][2], unit)
            if o.missing:
                return "missing_input", None, ()
            return o.status, o.points, (o.flag,) if o.flag else ()
        facts, scored = [], {}
        for rule, got in zip(rules, read, strict=True):
            assert got is not None
            _, fields, absent = got
            fact = Fact(item=item, part=rule.part)
            scored[fact.key] = self._scored(rule, fields, absent, unit)
            facts.append(fact)
        decided: Decided = decide_item(item, facts, scored)
        return decided.status, decided.points, tuple(decided.flags)

    def not_reading(self, names: set[str]) -> frozenset[str]:
        """Items that read none of ``names``: their outcome cannot change when only those inputs do."""
        return frozenset(i for i, reads in self._reads.items() if not names & set(reads))

    # ----- one fact or item of one declaration (the advisor's search) -----------------------

    def unit(self, as_of: date, data: Mapping[str, Any]) -> UnitView:
        industry = data.get("industry_code")
        benchmarks = self.library.benchmarks_for(as_of)
        return UnitView(_Inputs(data), benchmarks, industry if isinstance(industry, str) else None)

    def fact_points(self, rule: FactRule, unit: UnitView) -> Decimal | None:
        """The points of one fact (an item, or a part) for a declaration; None unless scored."""
        try:
            got = self._fields(rule, unit.inputs)
            if got is None:
                return None
            if rule.item.applies_if is not None and unit.inputs.get(rule.item.applies_if) is False:
                return None
            scored = self._scored(rule, got[1], got[2], unit)
        except (_Unusual, InputError, ExpressionError, InvalidOperation):
            return None
        return scored.points if scored.status == "scored" else None

    def fact_status(self, rule: FactRule, unit: UnitView) -> str | None:
        """The status of one fact's outcome (scored, needs_expert, missing_input); None if it cannot be read."""
        try:
            got = self._fields(rule, unit.inputs)
            return "missing_input" if got is None else self._scored(rule, got[1], got[2], unit).status
        except (_Unusual, InputError, ExpressionError, InvalidOperation):
            return None

    def derived(self, rule: FactRule, unit: UnitView) -> dict[str, Decimal]:
        """The values a fact's formulas derive from the declaration (empty when it cannot be read)."""
        try:
            got = self._fields(rule, unit.inputs)
        except _Unusual:
            return {}
        return {name: got[1][name] for name, _ in rule.derive} if got is not None else {}

    # ----- one unit ------------------------------------------------------------------------

    def score(
        self, as_of: date, data: Mapping[str, Any], same_as: Score | None = None, same: frozenset[str] = frozenset()
    ) -> Score:
        """The unit's exact score under this edition; the reference decides anything unusual.

        ``same_as``: the unit's score under another edition whose items ``same`` are defined identically
        (an item's outcome is a function of its definition and the inputs): those are taken from it.
        """
        try:
            return self._score(as_of, data, same_as if same_as is not None and same_as.exact else None, same)
        except _Unusual:
            return self._by_reference(as_of, data)

    def _split(self, same: frozenset[str]) -> tuple[list[str], list[tuple[Item, list[FactRule]]]]:
        """This edition's items taken from the other edition's score, and those to score."""
        key = id(same)
        if key not in self._splits or self._splits[key][0] is not same:
            kept = [i.id for i, _ in self.rules if i.id in same]
            self._splits[key] = (same, kept, [(i, r) for i, r in self.rules if i.id not in same])
        return self._splits[key][1], self._splits[key][2]

    def _score(self, as_of: date, data: Mapping[str, Any], same_as: Score | None, same: frozenset[str]) -> Score:
        events = data.get("events")
        if events is not None and events != []:
            raise _Unusual("events")  # rare: the reference reads them, reports them, or refuses them
        if any(p.code != "unknown_input" for p in self.library.inputs.check(data, as_of)):
            raise _Unusual("inputs")  # the catalogue refuses it (reference.check_inputs): the reference says why
        unit = self.unit(as_of, data)
        if same_as is not None:
            kept, todo = self._split(same)
            points = {i: same_as.points[i] for i in kept}
            statuses = {i: same_as.statuses[i] for i in kept}
            flags = {i: same_as.flags[i] for i in kept}
        else:
            todo, points, statuses, flags = self.rules, {}, {}, {}
        for item, rules in todo:
            points[item.id], statuses[item.id], flags[item.id] = self._outcome(item, rules, unit)
        try:
            replies = answers(self.library.eligibility, dict(data))
        except InputError as exc:
            raise _Unusual(exc.field) from exc
        vetoes = [(v.code, v.overridable) for v in self.vetoes if v.when is not None and input_vetoes(v, replies)]
        return self._totals(as_of, data, points, statuses, flags, vetoes)

    def _outcome(
        self, item: Item, rules: list[FactRule], unit: UnitView
    ) -> tuple[Decimal | None, str, tuple[str, ...]]:
        status, got, raised = self._item(item, rules, unit)
        return got, status, raised

    def _totals(
        self,
        as_of: date,
        data: Mapping[str, Any],
        points: dict[str, Decimal | None],
        statuses: dict[str, str],
        flags: dict[str, tuple[str, ...]],
        vetoes: list[tuple[str, bool]],
    ) -> Score:
        # The numbers of assemble.assemble, without building the Evaluation.
        edition = self.edition
        vetoes += [(f"requirement:{i}", False) for i in self._veto_rows if UNMET in flags[i]]
        if edition.gate is not None and not gate_passes(edition, dict(data)):
            vetoes.append(("gate", False))
        exact = ZERO
        if edition.categories:
            for cat, members in self._members:
                applicable_max, got = ZERO, ZERO
                for item_id, top in members:
                    if statuses[item_id] != "not_applicable":
                        applicable_max += top
                        if (p := points[item_id]) is not None:
                            got += p
                exact += (got * cat.points / applicable_max if applicable_max else ZERO) * cat.weight
        else:
            for p in points.values():
                if p is not None:
                    exact += p
        provisional = "needs_expert" in statuses.values() or "missing_input" in statuses.values()
        failing = tuple(i for i in self._basic_rows if UNMET in flags[i])
        binding = any(not overridable for _, overridable in vetoes)
        level = None
        if self.thresholds and not provisional and not binding:
            level = next((t.level for t in self.thresholds if exact >= t.min_total), None)
        passed = None
        if edition.passing is not None:
            if binding or failing:
                passed = False
            elif not provisional:
                passed = exact >= edition.passing.min_total
        return Score(
            scheme=self.scheme,
            edition=edition.edition,
            total=exact,
            shown_total=round_points(exact),
            level=level,
            passed=passed,
            provisional=provisional,
            vetoes=tuple(code for code, _ in vetoes),
            failing_basic=failing,
            points=points,
            statuses=statuses,
            flags=flags,
        )

    def _by_reference(self, as_of: date, data: Mapping[str, Any]) -> Score:
        if self._pinned is None:
            self._pinned = pinned_library(self.library, self.scheme, self.edition)
        pinned = self._pinned
        try:
            result = reference.evaluate(pinned, self.scheme, as_of, dict(data))
        except InputError as exc:
            return Score.refused(
                self.scheme, self.edition.edition, f"输入有误：{exc.message_zh} / invalid input: {exc}"
            )
        except (reference.RuleError, ExpressionError) as exc:
            return Score.refused(self.scheme, self.edition.edition, f"规则无法判定 / rule error: {exc}")
        return from_evaluation(result)


@dataclass
class UnitView:
    """One declaration as the kernel reads it: inputs converted on first use, benchmarks and industry."""

    inputs: _Inputs
    benchmarks: BenchmarkEdition
    industry: str | None


def from_evaluation(result: Evaluation) -> Score:
    """A Score read off a full Evaluation (its totals are the shown, rounded ones)."""
    return Score(
        scheme=result.scheme,
        edition=result.edition,
        total=result.total,
        shown_total=result.total,
        level=result.level,
        passed=result.passed,
        provisional=result.provisional,
        vetoes=tuple(v.code for v in result.vetoes),
        failing_basic=tuple(result.failing_basic),
        points={i.id: i.points for i in result.items},
        statuses={i.id: i.status for i in result.items},
        exact=False,
    )


def pinned_library(library: RuleLibrary, scheme: Scheme, edition: Edition) -> RuleLibrary:
    """``library`` with ``edition`` as the only edition of ``scheme``, in force on any date."""
    book = library.rulebook(scheme)
    pinned = edition.model_copy(update={"effective_from": date.min})
    rulebooks = {**library.rulebooks, scheme: book.model_copy(update={"editions": [pinned]})}
    return RuleLibrary(rulebooks, library.eligibility, benchmark_editions(library), library.inputs)


def benchmark_editions(library: RuleLibrary) -> list[BenchmarkEdition]:
    """Every benchmark edition of ``library`` (to build a library beside it)."""
    return list(library._benchmarks)  # noqa: SLF001 - the library offers no public accessor


class BatchScorer:
    """Kernels per (scheme, edition) of a library; ``score`` picks the edition in force on the unit's date."""

    def __init__(self, library: RuleLibrary) -> None:
        self.library = library
        self._kernels: dict[tuple[Scheme, int], EditionKernel] = {}

    def kernel(self, scheme: Scheme, edition: Edition) -> EditionKernel:
        key = (scheme, id(edition))
        if key not in self._kernels:
            self._kernels[key] = EditionKernel(scheme, edition, self.library)
        return self._kernels[key]

    def in_force(self, scheme: Scheme, as_of: date) -> EditionKernel:
        book: Rulebook = self.library.rulebook(scheme)
        return self.kernel(scheme, book.edition_for(as_of))

    def score(self, scheme: Scheme, as_of: date, data: Mapping[str, Any]) -> Score:
        return self.in_force(scheme, as_of).score(as_of, data)
