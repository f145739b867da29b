"""The durable_rules engine: each rulebook edition and the eligibility rules compiled into rulesets.

Used the safe way (STACK_NOTES.md): timer threads off, one ``assert_facts`` batch per evaluation
with unique fact ids, a fresh sid, ``delete_state`` afterwards, rules over single facts only, and
a catch-all rule so no fact goes unhandled. Runs inside a worker process (worker.py), so a crash
of its C core cannot take the service down.

What durable_rules decides: which case of each item holds, and which veto fires. The arithmetic
of an outcome (a linear share, a capped sum) is shared with the reference interpreter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from durable.engine import Host, durable_rules_engine

from contracts.evaluation import Evaluation
from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from services.scoring.domain.facts import Fact
from services.scoring.domain.outcomes import Scored
from services.scoring.domain.reference import RuleError, finish, prepare, score
from services.scoring.domain.rulebook import Case, Edition, Eligibility, RuleLibrary, content_hash
from services.scoring.domain.vetoes import answers, applies, describe

_OPS = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte", "ne": "$neq"}


class _QuietHost(Host):  # type: ignore[misc]
    """A Host without its background timer threads: actions run in the caller's thread."""

    def __init__(self, engine: RulesEngine) -> None:
        self._engine = engine
        super().__init__()

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Any:
        return self._engine.action(action_name)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        number = float(value)
        if number != 0 and "e" in repr(number):
            # The C core's JSON parser stops at exponent notation (2e-05) and silently drops the rest.
            raise RuleError(f"rule constant {value} needs exponent notation, which durable_rules cannot parse")
        return number
    return value


def _number(value: Decimal | int | float) -> str:
    """A JSON number in positional notation (never 2e-05: durable_rules' parser cannot read it)."""
    text = format(Decimal(str(value)) if isinstance(value, float) else Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# Floats whose repr is positional: the C core's parser reads these (it stops at exponent notation).
_SAFE_LOW, _SAFE_HIGH = 1e-4, 1e16


class _FactText:
    """Facts to JSON for the C core, every number positional, in one pass over their fields.

    A number is sent as the float it is unless its repr would use exponent notation (|x| < 1e-4 or
    ≥ 1e16); such rare numbers go in as placeholder strings, replaced by their positional text after
    json.dumps. A placeholder carries the evaluation's random sid, so no input string can pass for one.
    """

    __slots__ = ("exact", "tag")

    def __init__(self, tag: str) -> None:
        self.exact: list[str] = []
        self.tag = tag

    def value(self, v: Any) -> Any:
        if isinstance(v, Decimal | float):
            number = float(v)
            if number == 0 or _SAFE_LOW <= abs(number) < _SAFE_HIGH:
                return number
            self.exact.append(_number(v))
            return f"\x00{self.tag}:{len(self.exact) - 1}"
        return v

    def dumps(self, facts: list[dict[str, Any]]) -> str:
        text = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
        for i, positional in enumerate(self.exact):
            text = text.replace(f'"\\u0000{self.tag}:{i}"', positional, 1)
        return text


def _fact_json(facts: list[dict[str, Any]]) -> str:
    """The facts as JSON with every number positional; values are str, bool, None or numbers."""
    out = _FactText(uuid.uuid4().hex)
    return out.dumps([{k: out.value(v) for k, v in f.items()} for f in facts])


def _action(message: str) -> tuple[str, str]:
    """The rule and the fact id of an action frame, ``{"rule":{"m":{"id":"...",...}}}``, without parsing it all."""
    end = message.find('"', 2)
    rule = message[2:end]
    if message.startswith('":{"m":{"id":"', end):
        start = end + 14
        close = message.find('"', start)
        if close > 0 and "\\" not in message[start:close]:
            return rule, message[start:close]
    rule, frame = next(iter(json.loads(message).items()))
    return rule, frame["m"]["id"]


def _condition(field: str, op: str, value: Any) -> dict[str, Any]:
    name = f"v_{field}"
    if op == "eq":
        return {name: _jsonable(value)}
    return {_OPS[op]: {name: _jsonable(value)}}


_NEGATED = {"eq": "ne", "ne": "eq", "lt": "gte", "lte": "gt", "gt": "lte", "gte": "lt"}


def _negation(when: Mapping[str, Mapping[Any, Any]], optional: set[str]) -> dict[str, Any]:
    """NOT (all of ``when``): any one condition fails; an absent optional field fails its condition too."""
    alternatives = []
    for field, ops in when.items():
        for op, value in ops.items():
            alternatives.append(_condition(field, _NEGATED[op], value))
            if field in optional:
                alternatives.append({"$nex": {f"v_{field}": 1}})
    return alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}


def _case_rules(key: str, cases: list[Case], optional: set[str]) -> dict[str, Any]:
    """One rule per case that holds only when no earlier case does: first-match order, in the rules themselves."""
    rules: dict[str, Any] = {}
    earlier: list[dict[str, Any]] = []
    for i, case in enumerate(cases):
        conds: list[dict[str, Any]] = [{"key": key}, {"kind": "score"}]
        conds += [_condition(f, op, v) for f, ops in case.when.items() for op, v in ops.items()]
        rules[f"case_{key}_{i}"] = {"all": [{"m": {"$and": conds + earlier}}], "run": f"case:{key}:{i}"}
        if not case.when:
            return rules  # holds whenever reached: later cases can never decide
        earlier = [*earlier, _negation(case.when, optional)]
    # No case holds: the fact is still seen, and reported as undecided.
    rules[f"nocase_{key}"] = {"all": [{"m": {"$and": [{"key": key}, {"kind": "score"}, *earlier]}}], "run": "seen"}
    return rules


def compile_edition(scheme: Scheme, edition: Edition, eligibility: Eligibility) -> dict[str, Any]:
    """The ruleset of one edition: a rule per case of every item, per veto, and catch-alls."""
    rules: dict[str, Any] = {}
    for item in edition.items:
        keyed = (
            [(f"{item.id}{p.id}", p.cases, set(p.optional)) for p in item.parts]
            if item.method == "parts"
            else [(item.id, item.cases, set(item.optional))]
        )
        for key, cases, optional in keyed:
            if item.method in ("cases", "parts"):
                rules.update(_case_rules(key, cases, optional))
            else:
                rules[f"method_{key}"] = {"all": [{"m": {"$and": [{"key": key}, {"kind": "score"}]}}], "run": "seen"}
    for veto in eligibility.vetoes:
        if not applies(veto, scheme):
            continue
        if veto.event is not None:
            field = f"ban_{veto.code}" if veto.ban_years is not None else f"in_window_{veto.code}"
            conds: list[dict[str, Any]] = [{"kind": "event"}, {"event": veto.event}, {f"v_{field}": True}]
            if veto.min_months is not None:
                conds.append({"$gte": {"v_months": veto.min_months}})
            for name, value in (veto.unless or {}).items():
                conds.append({"$neq": {f"v_{name}": _jsonable(value)}})
        else:
            assert veto.when is not None
            conds = [{"kind": "declaration"}]
            conds += [_condition(f, op, v) for f, ops in veto.when.items() for op, v in ops.items()]
        rules[f"veto_{veto.code}"] = {"all": [{"m": {"$and": conds}}], "run": f"veto:{veto.code}"}
    # Every fact must match a rule (else durable_rules raises and defers its siblings' actions). Facts to score
    # are matched by their item's rules above; the rest by this. (`$ex` on the reserved `id` loops forever.)
    rules["catch_all"] = {"all": [{"m": {"$and": [{"$ex": {"kind": 1}}, {"$neq": {"kind": "score"}}]}}], "run": "seen"}
    return rules


class _Run:
    """What the rules decided in one evaluation."""

    def __init__(self) -> None:
        self.cases: dict[str, int] = {}
        self.vetoes: list[tuple[str, str]] = []
        self.seen: set[str] = set()


class EngineError(RuntimeError):
    """The engine failed to evaluate (an action raised, or a fact matched no rule)."""


class RulesEngine:
    """Compiles editions on first use and evaluates declarations; single-threaded by design."""

    def __init__(self, library: RuleLibrary) -> None:
        self.library = library
        self.host = _QuietHost(self)
        self._rulesets: dict[tuple[Scheme, str], str] = {}

    @classmethod
    def from_dir(cls, rules_dir: Path) -> RulesEngine:
        return cls(RuleLibrary.load(rules_dir))

    def ruleset(self, scheme: Scheme, edition: Edition) -> str:
        key = (scheme, edition.edition)
        if key not in self._rulesets:
            definition = compile_edition(scheme, edition, self.library.eligibility)
            name = f"{scheme.value}_{edition.edition}_{content_hash(definition)[7:15]}".replace("-", "_")
            self.host.set_rulesets({name: definition})
            self._rulesets[key] = name
        return self._rulesets[key]

    def action(self, name: str) -> Any:
        # Rulesets need an action per name at registration; evaluate() drives the actions itself.
        return lambda c: None

    def _drive(self, ruleset: str, text: str, payload: list[dict[str, Any]], run: _Run) -> None:
        """Assert the facts and take every action the C core schedules, in this thread.

        Host.assert_facts would json.dumps the facts itself (exponent notation the C parser cannot
        read) and wrap each action in Closure objects and a state write-back it does not need here:
        driving the core directly halves the cost per action.
        """
        rules = self.host.get_ruleset(ruleset)
        handle = rules._handle  # noqa: SLF001 - durable_rules offers no public way to do this
        state = rules._handle_result(durable_rules_engine.assert_facts(handle, text), payload)  # noqa: SLF001
        result = durable_rules_engine.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            rule, fact_id = _action(message)
            run.seen.add(fact_id)
            kind, _, rest = rule.partition("_")
            if kind == "case":
                key, index = rest.rsplit("_", 1)
                # A rule with `$or` fires once per alternative that holds: the same case, again.
                if run.cases.setdefault(key, int(index)) != int(index):
                    raise EngineError(f"{key}: cases {run.cases[key]} and {index} both held")
            elif kind == "veto":
                run.vetoes.append((rest, fact_id))
            message = durable_rules_engine.complete_and_start_action(handle, state)

    def evaluate(
        self, scheme: Scheme, as_of: date, data: dict[str, Any], expert_points: Mapping[str, Decimal] | None = None
    ) -> Evaluation:
        prep = prepare(self.library, scheme, as_of, data)
        ruleset = self.ruleset(scheme, prep.edition)
        sid = uuid.uuid4().hex
        out = _FactText(sid)
        value = out.value
        payload: list[dict[str, Any]] = []
        score_facts: dict[str, Fact] = {}
        for fact in prep.facts:
            kind = fact.kind
            row = {"id": f"{sid}:{fact.key}", "sid": sid, "key": fact.key, "kind": kind}
            for k, v in fact.fields.items():
                if not isinstance(v, list):
                    row["v_" + k] = value(v)
            payload.append(row)
            if kind == "score":
                score_facts[fact.key] = fact
        for event in prep.events:
            row = {"id": f"{sid}:e{event.index}", "sid": sid, "kind": "event", "event": event.kind}
            for k, v in event.fields.items():
                row["v_" + k] = value(v)
            payload.append(row)
        row = {"id": f"{sid}:declaration", "sid": sid, "kind": "declaration"}
        for k, v in answers(self.library.eligibility, data).items():
            row["v_" + k] = value(v)
        payload.append(row)
        run = _Run()
        try:
            self._drive(ruleset, out.dumps(payload), payload, run)
        finally:
            self.host.delete_state(ruleset, sid)
        if len(run.seen) != len(payload):
            unhandled = {p["id"] for p in payload} - run.seen
            raise EngineError(f"facts matched no rule: {sorted(unhandled)}")
        scored: dict[str, Scored] = {key: score(f, run.cases.get(key), prep) for key, f in score_facts.items()}
        vetoes: list[VetoResult] = []
        if run.vetoes:
            by_code = {v.code: v for v in self.library.eligibility.vetoes}
            events = {f"{sid}:e{e.index}": e for e in prep.events}
            # Report vetoes in the rulebook's order, as the reference does.
            for veto in self.library.eligibility.vetoes:
                for code, fact_id in sorted(run.vetoes, key=lambda v: events[v[1]].index if v[1] in events else -1):
                    if code == veto.code:
                        result = describe(by_code[code], as_of, events.get(fact_id), data)
                        result.overridable = by_code[code].overridable
                        vetoes.append(result)
        return finish(prep, scored, vetoes, expert_points)
