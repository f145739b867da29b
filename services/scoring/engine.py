"""The durable_rules engine: each rulebook edition and the eligibility rules compiled into rulesets.

Used the safe way (STACK_NOTES.md): timer threads off, one ``assert_facts`` batch per evaluation
with unique fact ids, rules over single facts only, a catch-all rule for every fact that is not
decided by an item's cases, every scheduled action taken before the facts are retracted, and
``delete_state`` only of a session with no pending action. One session (sid) per ruleset is kept
across evaluations (each retracts its facts) and replaced every ``SESSION_EVALUATIONS``: creating a
state costs the C core two 512-entry indexes per rule (tests/unit/test_engine_soak.py soaks this).
Runs inside a worker process (worker.py), so a crash of its C core cannot take the service down.

What durable_rules decides: which case of each item holds, and which veto fires. The arithmetic
of an outcome (a linear share, a capped sum) is shared with the reference interpreter.
"""

from __future__ import annotations

import gc
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from durable.engine import Host, durable_rules_engine
from pydantic_core import to_json

from contracts.evaluation import Evaluation, Flag
from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from services.scoring.domain.assemble import Decided, apply_expert, decide_fact, evaluation
from services.scoring.domain.facts import (
    Fact,
    FactPlan,
    InputError,
    build_facts,
    check_fact,
    fill,
    not_yes_or_no_zh,
    plan,
)
from services.scoring.domain.outcomes import Scored, apply
from services.scoring.domain.reference import (
    Prepared,
    RuleError,
    by_case,
    check_inputs,
    finish,
    formula,
    score,
)
from services.scoring.domain.rulebook import (
    BenchmarkEdition,
    Case,
    Edition,
    Eligibility,
    Item,
    RuleLibrary,
    content_hash,
)
from services.scoring.domain.vetoes import EventFact, answers, applies, describe, event_facts

log = logging.getLogger(__name__)

# durable_rules' result codes for a batch of facts (rules.h): some fact matched no rule; some fact was there.
_NOT_HANDLED, _OBSERVED = 1, 2
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
        # pydantic-core's serialiser: the same text as json.dumps (floats in repr's form, compact, UTF-8 as is,
        # NUL as \u0000), about a quarter of its time.
        text = to_json(facts).decode()
        for i, positional in enumerate(self.exact):
            text = text.replace(f'"\\u0000{self.tag}:{i}"', positional, 1)
        return text


def _json_value(v: Any) -> str:
    """One field of a score fact as JSON text: numbers positional (as _FactText sends them), UTF-8 as is."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Decimal | float):
        number = float(v)
        return repr(number) if number == 0 or _SAFE_LOW <= abs(number) < _SAFE_HIGH else _number(v)
    return json.dumps(v, ensure_ascii=False)


class _Head(NamedTuple):
    """A score fact's JSON around the evaluation's serial, sid and values, made once per edition with json.dumps
    (nothing from the rule data is pasted into the text unescaped)."""

    id_tail: str  # ":key", escaped as inside a JSON string
    fixed: str  # ,"g":…,"key":"…"
    names: tuple[tuple[str, str], ...]  # each tested field and its JSON name with colon: ("ratio", ',"v_ratio":')


def _heads(
    group: Mapping[str, int], tested: Mapping[str, tuple[str, ...]], items: Mapping[str, str]
) -> dict[str, _Head]:
    """Every case-scored fact key's _Head (``items``: each fact key's item id)."""
    return {
        key: _Head(
            id_tail=json.dumps(f":{key}", ensure_ascii=False)[1:-1],
            fixed=f',"g":{group[items[key]]},"key":{json.dumps(key, ensure_ascii=False)}',
            names=tuple((k, f",{json.dumps('v_' + k, ensure_ascii=False)}:") for k in fields),
        )
        for key, fields in tested.items()
    }


def _score_fact(serial: int, between: str, head: _Head, fields: Mapping[str, Any]) -> tuple[str, str]:
    """A score fact's id and JSON text: the tested fields it has (a checklist's list is never tested)."""
    fact_id = f"{serial}{head.id_tail}"
    text = f'{{"id":"{fact_id}{between}{head.fixed}'
    for k, name in head.names:
        v = fields.get(k)
        if v.__class__ is Decimal:  # most fields: a number inside the range whose repr is positional
            number = float(v)
            if _SAFE_LOW <= number < _SAFE_HIGH:
                text += name + repr(number)
                continue
        if v is not None and not isinstance(v, list):
            text += name + _json_value(v)
    return fact_id, text + "}"


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


def _decode(rule: str) -> tuple[str, str, int]:
    """A rule's name read once: ("case", fact key, case index), ("veto", code, 0) or ("catch", "all", 0)."""
    kind, _, rest = rule.partition("_")
    if kind == "case":
        key, index = rest.rsplit("_", 1)
        return kind, key, int(index)
    return kind, rest, 0


def _condition(field: str, op: str, value: Any) -> dict[str, Any]:
    name = f"v_{field}"
    if op == "eq":
        return {name: _jsonable(value)}
    return {_OPS[op]: {name: _jsonable(value)}}


# Items per group (see groups()): about the square root of the largest edition's 94 items.
GROUP_SIZE = 10


def groups(edition: Edition) -> dict[str, int]:
    """Each item's group: its facts carry it as field ``g``, and its rules test ``g`` before ``key``.

    durable_rules finds a fact's first alpha nodes by property *name* and then tests each node on that
    name in turn, so with ``key`` first every fact was compared with every item's key (94 for green
    factory). With ``g`` first a fact meets the groups, then only its own group's keys.
    """
    return {item.id: i // GROUP_SIZE for i, item in enumerate(edition.items)}


def default_case(cases: list[Case]) -> int | None:
    """The first case without conditions (the rulebook's "otherwise"): it holds whenever no earlier case does."""
    return next((i for i, case in enumerate(cases) if not case.when), None)


def _case_rules(key: str, group: int, cases: list[Case]) -> dict[str, Any]:
    """One rule per case with conditions, over that case's own conditions: every case that holds fires, and the
    engine takes the first in the rulebook's order (first-match). No rule negates an earlier case: a negation
    of several conditions is an `$or`, which durable_rules walks once per alternative that holds (its alpha
    network forks), and which made a case's cost grow with the number of cases before it.

    The first case without conditions (default_case) gets no rule: it would fire for every fact that reaches
    it, one action each (half of all actions), to say what "no earlier case fired" says already. Cases after
    it can never decide. A fact none of whose cases holds matches no rule: it gets the default, or is reported
    as undecided when there is none.
    """
    rules: dict[str, Any] = {}
    for i, case in enumerate(cases):
        if not case.when:
            break
        conds: list[dict[str, Any]] = [{"g": group}, {"key": key}]
        conds += [_condition(f, op, v) for f, ops in case.when.items() for op, v in ops.items()]
        rules[f"case_{key}_{i}"] = {"all": [{"m": {"$and": conds}}], "run": f"case:{key}:{i}"}
    return rules


def _keyed_cases(edition: Edition) -> list[tuple[str, list[Case]]]:
    """Every case-scored fact key of the edition (an item, or a part of a ``parts`` item) with its cases."""
    out: list[tuple[str, list[Case]]] = []
    for item in edition.items:
        if item.method == "parts":
            out += [(f"{item.id}{p.id}", p.cases) for p in item.parts]
        elif item.method == "cases":
            out.append((item.id, item.cases))
    return out


def defaults(edition: Edition) -> dict[str, int | None]:
    """Each case-scored fact key's default case (default_case): what a fact that fires no case rule gets."""
    return {key: default_case(cases) for key, cases in _keyed_cases(edition)}


def tested(edition: Edition) -> dict[str, tuple[str, ...]]:
    """Each case-scored fact key's fields that some case rule tests: the only ones its fact needs to carry
    (the C core parses every field it is sent, and the other inputs are only shown in the explanation)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, cases in _keyed_cases(edition):
        names: dict[str, None] = {}
        for case in cases:
            if not case.when:
                break  # the default and after: no rule (_case_rules)
            names.update(dict.fromkeys(case.when))
        out[key] = tuple(names)
    return out


def compile_edition(scheme: Scheme, edition: Edition, eligibility: Eligibility) -> dict[str, Any]:
    """The ruleset of one edition: a rule per case of every item decided by cases, per veto, and a catch-all.

    Only what the rules decide goes to durable_rules: the facts of items scored by cases (not those whose
    item does not apply or lacks an input, nor those a formula scores: a checklist, an industry position,
    an expert), the events and the declaration's answers for the vetoes.
    """
    rules: dict[str, Any] = {}
    group = groups(edition)
    for item in edition.items:
        g = group[item.id]
        keyed = (
            [(f"{item.id}{p.id}", p.cases) for p in item.parts] if item.method == "parts" else [(item.id, item.cases)]
        )
        if item.method not in ("cases", "parts"):
            continue  # a formula (checklist, industry position, expert): nothing for the rules to decide
        for key, cases in keyed:
            rules.update(_case_rules(key, g, cases))
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
    # The events and the declaration must each match a rule, so that evaluate() can tell a fact the rules never
    # saw; those no veto takes are matched by this. Score facts carry no `kind` (their rules test `g` and `key`),
    # so it never sees them. (`$ex` on the reserved `id` loops forever.)
    rules["catch_all"] = {"all": [{"m": {"$ex": {"kind": 1}}}], "run": "seen"}
    return rules


@dataclass(frozen=True, slots=True)
class _ItemPlan:
    """One item of an edition whose items are one fact each (RulesEngine.compiled)."""

    item: Item
    rule: FactPlan
    key: str
    cased: bool  # scored by cases (else by a formula)
    default: int | None  # default_case()
    tested: tuple[str, ...]  # the fields its case rules test: tested()
    send: bool  # its fact goes to durable_rules
    not_applicable: str  # the explanation when it does not apply (D-NA)
    check: bool  # its answers are checked (check_fact): yes/no or words its cases compare with, or a checklist
    head: _Head | None  # its score fact's JSON, when it is sent


class _Run:
    """What the rules decided in one evaluation."""

    def __init__(self) -> None:
        self.cases: dict[str, int] = {}
        self.vetoes: list[tuple[str, str]] = []
        self.seen: set[str] = set()


class _Session:
    """A durable_rules state (sid) kept for one ruleset; replaced after ``SESSION_EVALUATIONS``."""

    __slots__ = ("sid", "used")

    def __init__(self) -> None:
        self.sid = uuid.uuid4().hex
        self.used = 0


# A session is replaced now and then, so nothing the C core might keep per evaluation can pile up.
SESSION_EVALUATIONS = 10_000


class EngineError(RuntimeError):
    """The engine failed to evaluate (an action raised, or a fact matched no rule)."""


class RulesEngine:
    """Compiles editions on first use and evaluates declarations; single-threaded by design."""

    def __init__(self, library: RuleLibrary) -> None:
        self.library = library
        self.host = _QuietHost(self)
        self._rulesets: dict[tuple[Scheme, str], str] = {}
        self._groups: dict[tuple[Scheme, str], dict[str, int]] = {}
        # Per edition, each case-scored fact key's default case (default_case), or None when it has none, and the
        # fields its case rules test.
        self._defaults: dict[tuple[Scheme, str], dict[str, int | None]] = {}
        self._tested: dict[tuple[Scheme, str], dict[str, tuple[str, ...]]] = {}
        self._heads: dict[tuple[Scheme, str], dict[str, _Head]] = {}
        self._compiled: dict[tuple[Scheme, str], tuple[_ItemPlan, ...] | None] = {}
        # One durable_rules session (sid) per ruleset, kept across evaluations: each evaluation retracts its
        # facts instead of creating and deleting a state (which allocates two 512-entry indexes per rule).
        self._sessions: dict[str, _Session] = {}
        self._handles: dict[str, int] = {}  # the C core's handle of each ruleset
        self._decoded: dict[str, tuple[str, str, int]] = {}  # rule name -> _decode(name)
        self._serial = 0
        self._secret = uuid.uuid4().hex  # with the serial, tags placeholders no input can forge (_FactText)
        self.sessions_started = 0

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
            self._groups[key] = groups(edition)
            self._defaults[key] = defaults(edition)
            self._tested[key] = tested(edition)
            items = {k: item.id for item in edition.items for k in ([item.id] + [item.id + p.id for p in item.parts])}
            self._heads[key] = _heads(self._groups[key], self._tested[key], items)
        return self._rulesets[key]

    def action(self, name: str) -> Any:
        # Rulesets need an action per name at registration; evaluate() drives the actions itself.
        return lambda c: None

    def _session(self, ruleset: str) -> _Session:
        session = self._sessions.get(ruleset)
        if session is None or session.used >= SESSION_EVALUATIONS:
            if session is not None:
                # Safe: every action of the session has run (deleting a state with pending actions crashes).
                self.host.delete_state(ruleset, session.sid)
            session = self._sessions[ruleset] = _Session()
            self.sessions_started += 1
        session.used += 1
        return session

    def _drive(self, ruleset: str, sid: str, text: str, ids: list[str], run: _Run) -> None:
        """Assert the facts, take every action the C core schedules (in this thread), then retract the facts.

        Host.assert_facts would json.dumps the facts itself (exponent notation the C parser cannot
        read) and wrap each action in Closure objects and a state write-back it does not need here:
        driving the core directly halves the cost per action. Whatever happens, every scheduled action
        is taken and the facts are retracted, so the session is empty for the next evaluation; if that
        fails the session is dropped (not deleted: a state with pending actions crashes the core).
        """
        handle = self._handles.get(ruleset)
        if handle is None:
            handle = self._handles[ruleset] = self.host.get_ruleset(ruleset)._handle  # noqa: SLF001 - no public way
        decoded = self._decoded
        code, state = durable_rules_engine.assert_facts(handle, text)
        started, message = False, None
        try:
            if code == _OBSERVED:
                raise EngineError("a fact of this evaluation was already in its session")
            # code may be _NOT_HANDLED: a score fact none of whose cases holds matches no rule (by design,
            # _case_rules); every other fact must have been seen, which evaluate() checks.
            result = durable_rules_engine.start_action_for_state(handle, state)
            started, message = True, (result[1] if result else None)
            while message:
                # The rule's name first (``{"rule":...``): a case's action needs nothing else from the frame.
                rule = message[2 : message.find('"', 2)]
                what = decoded.get(rule)
                if what is None:
                    what = _decode(_action(message)[0])
                    if "\\" not in rule:  # the name as written is the name (no escape in it)
                        decoded[rule] = what
                kind, key, i = what
                if kind == "case":
                    # Every case that holds fires; the first in the rulebook's order decides (first-match).
                    if i < run.cases.get(key, i + 1):
                        run.cases[key] = i
                else:
                    fact_id = _action(message)[1]
                    run.seen.add(fact_id)
                    if kind == "veto":
                        run.vetoes.append((key, fact_id))
                message = durable_rules_engine.complete_and_start_action(handle, state)
        finally:
            self._clear(ruleset, handle, sid, state, ids, message if started else True)

    def _clear(self, ruleset: str, handle: int, sid: str, state: int, ids: list[str], left: Any) -> None:
        """Take the actions an evaluation that failed half-way left (``left``), then retract its facts."""
        try:
            if left is True:
                result = durable_rules_engine.start_action_for_state(handle, state)
                left = result[1] if result else None
            while left:
                left = durable_rules_engine.complete_and_start_action(handle, state)
            # [{"id":"…","sid":"…"},…]: the ids are the engine's own ("serial:key"), the sid a uuid's hex.
            between = f'","sid":"{sid}"}},{{"id":"'
            durable_rules_engine.retract_facts(handle, f'[{{"id":"{between.join(ids)}","sid":"{sid}"}}]')
        except Exception:
            log.exception("could not clear the engine's session %s; starting a new one", sid)
            self._sessions.pop(ruleset, None)

    def compiled(self, scheme: Scheme, edition: Edition) -> tuple[_ItemPlan, ...] | None:
        """The edition's items as the engine reads and decides them, one fact each (made once per edition); None
        when some item has parts (its facts go the general way: reference.prepare, assemble.assemble)."""
        key = (scheme, edition.edition)
        if key not in self._compiled:
            self.ruleset(scheme, edition)
            default, tested, heads = self._defaults[key], self._tested[key], self._heads[key]
            plans: list[_ItemPlan] | None = []
            for item, rules in plan(edition).items:
                if item.method == "parts" or len(rules) != 1 or plans is None:
                    plans = None
                    continue
                fields = tested.get(item.id)
                plans.append(
                    _ItemPlan(
                        item=item,
                        rule=rules[0],
                        key=item.id,
                        cased=fields is not None,
                        default=default.get(item.id),
                        tested=fields or (),
                        # Sent to durable_rules: a fact scored by cases whose first case does not hold always.
                        send=fields is not None and default.get(item.id) != 0,
                        not_applicable=f"不适用（{item.applies_if} = 否，D-NA）",
                        check=bool(rules[0].booleans or rules[0].words or item.method == "checklist"),
                        head=heads.get(item.id),
                    )
                )
            self._compiled[key] = tuple(plans) if plans is not None else None
        return self._compiled[key]

    def evaluate(
        self, scheme: Scheme, as_of: date, data: dict[str, Any], expert_points: Mapping[str, Decimal] | None = None
    ) -> Evaluation:
        # An evaluation makes a few thousand short-lived containers, freed by their reference counts when it ends;
        # with the collector on, its young-generation passes walked them again while they were alive (3 % of the
        # time in py-spy). Paused here, the next pass after it finds them gone. Single-threaded by design (above).
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._evaluate(scheme, as_of, data, expert_points)
        finally:
            if paused:
                gc.enable()

    def _evaluate(
        self, scheme: Scheme, as_of: date, data: dict[str, Any], expert_points: Mapping[str, Decimal] | None
    ) -> Evaluation:
        # The steps and refusals of reference.prepare, in its order.
        library = self.library
        check_inputs(library, as_of, data)
        edition = library.rulebook(scheme).edition_for(as_of)
        benchmarks = library.benchmarks_for(as_of)
        events, flags = event_facts(library.eligibility, library.inputs.events, data.get("events"), as_of)
        version = library.version(edition, benchmarks)
        plans = self.compiled(scheme, edition)
        if plans is not None:
            found = self._evaluate_compiled(scheme, as_of, data, edition, plans, benchmarks, events, flags, version,
                                            expert_points)  # fmt: skip
            if found is not None:
                return found
        # An edition with parts, or a declaration the compiled path found an input problem in: build_facts names the
        # problem as the reference does (the first in its order).
        prep = Prepared(scheme, as_of, data, edition, benchmarks, version, build_facts(edition, data), events, flags)
        return self._evaluate_facts(prep, expert_points)

    def _evaluate_compiled(
        self,
        scheme: Scheme,
        as_of: date,
        data: dict[str, Any],
        edition: Edition,
        plans: tuple[_ItemPlan, ...],
        benchmarks: BenchmarkEdition,
        events: list[EventFact],
        flags: list[Flag],
        version: str,
        expert_points: Mapping[str, Decimal] | None,
    ) -> Evaluation | None:
        """One fact per item, read and sent in one pass, and each item decided from its fact's outcome: the work of
        build_facts, the fact payload, the scoring and assemble.decide_item without their intermediate lists. None
        when an input has a problem (evaluate() lets build_facts name it)."""
        session = self._session(self.ruleset(scheme, edition))
        sid = session.sid
        self._serial += 1
        serial = self._serial
        between = f'","sid":"{sid}"'
        texts: list[str] = []  # the score facts as JSON
        ids: list[str] = []
        facts: list[Fact | None] = []
        read: dict[str, Any] = {}
        try:
            for p in plans:
                item = p.item
                if item.applies_if is not None:
                    flag = data.get(item.applies_if)
                    if flag is not None and not isinstance(flag, bool):
                        # as build_facts
                        raise InputError(
                            item.applies_if, "should be yes or no (true/false)", message_zh=not_yes_or_no_zh(flag)
                        )
                    if flag is False:
                        facts.append(None)
                        continue
                fact = fill(p.rule, data, read)
                facts.append(fact)
                if fact.missing:
                    continue
                if p.check:
                    check_fact(p.rule, fact)
                if p.send:
                    assert p.head is not None
                    fact_id, text = _score_fact(serial, between, p.head, fact.fields)
                    ids.append(fact_id)
                    texts.append(text)
        except InputError:
            session.used -= 1  # nothing was asserted
            return None
        run, by_id, order = self._decide(sid, scheme, edition, as_of, data, events, texts, ids)
        cases = run.cases
        decided: list[Decided] = []
        for p, got in zip(plans, facts, strict=True):
            item = p.item
            if got is None:
                decided.append(Decided(item, "not_applicable", None, p.not_applicable, {}, [], []))
            elif got.missing:
                missing = list(got.missing)
                decided.append(Decided(item, "missing_input", None, "缺少输入：" + "、".join(missing), {}, missing, []))
            elif p.cased:
                i = cases.get(p.key, p.default)
                o = apply(item.cases[i].then, got) if i is not None else by_case(got, None)  # one fact: no parts
                decided.append(decide_fact(item, got, o))
            else:
                decided.append(decide_fact(item, got, formula(got, benchmarks, data)))
        if expert_points:
            for d in decided:
                apply_expert(d, expert_points)
        vetoes = self._vetoes(run, by_id, order, as_of, data)
        return evaluation(scheme, edition, version, as_of, decided, vetoes, data, flags)

    def _decide(
        self,
        sid: str,
        scheme: Scheme,
        edition: Edition,
        as_of: date,
        data: dict[str, Any],
        events: list[EventFact],
        texts: list[str],
        ids: list[str],
    ) -> tuple[_Run, dict[str, EventFact], dict[str, int]]:
        """Run the score facts (``texts``, JSON, with their ``ids``), the events and the declaration through the
        rules."""
        serial = self._serial
        out = _FactText(f"{self._secret}{serial}")
        value = out.value
        payload: list[dict[str, Any]] = []
        by_id: dict[str, EventFact] = {}
        order: dict[str, int] = {}  # a fact id's place in the events: the order the reference reports vetoes in
        for position, event in enumerate(events):
            fact_id = f"{serial}:e{event.index}"
            by_id[fact_id] = event
            order[fact_id] = position
            row = {"id": fact_id, "sid": sid, "kind": "event", "event": event.kind}
            for k, v in event.fields.items():
                row["v_" + k] = value(v)
            payload.append(row)
        row = {"id": f"{serial}:declaration", "sid": sid, "kind": "declaration"}
        for k, v in answers(self.library.eligibility, data).items():
            row["v_" + k] = value(v)
        payload.append(row)
        run = _Run()
        texts.append(out.dumps(payload)[1:-1])
        self._drive(self.ruleset(scheme, edition), sid, f"[{','.join(texts)}]", ids + [p["id"] for p in payload], run)
        # The events and the declaration must each have matched a rule (a veto, or the catch-all); a score fact
        # matches none when none of its cases holds (it gets its default, or is reported undecided).
        unhandled = [p["id"] for p in payload if p["id"] not in run.seen]
        if unhandled:
            raise EngineError(f"facts matched no rule: {sorted(unhandled)}")
        return run, by_id, order

    def _vetoes(
        self, run: _Run, by_id: dict[str, EventFact], order: dict[str, int], as_of: date, data: dict[str, Any]
    ) -> list[VetoResult]:
        vetoes: list[VetoResult] = []
        if run.vetoes:
            by_code = {v.code: v for v in self.library.eligibility.vetoes}
            # Report vetoes in the rulebook's order, as the reference does.
            for veto in self.library.eligibility.vetoes:
                for code, fact_id in sorted(run.vetoes, key=lambda v: order.get(v[1], -1)):
                    if code == veto.code:
                        result = describe(by_code[code], as_of, by_id.get(fact_id), data)
                        result.overridable = by_code[code].overridable
                        vetoes.append(result)
        return vetoes

    def _evaluate_facts(self, prep: Prepared, expert_points: Mapping[str, Decimal] | None) -> Evaluation:
        """The general way: facts built by build_facts (an edition with parts)."""
        scheme = prep.scheme
        ruleset = self.ruleset(scheme, prep.edition)
        default = self._defaults[(scheme, prep.edition.edition)]
        fields_tested = self._tested[(scheme, prep.edition.edition)]
        heads = self._heads[(scheme, prep.edition.edition)]
        session = self._session(ruleset)
        sid = session.sid
        self._serial += 1
        serial = self._serial
        between = f'","sid":"{sid}"'
        texts: list[str] = []
        ids: list[str] = []
        score_facts: dict[str, Fact] = {}
        for fact in prep.facts:
            if fact.not_applicable or fact.missing:
                continue  # nothing to decide
            key = fact.key
            score_facts[key] = fact
            tested = fields_tested.get(key)
            if tested is None or default[key] == 0:
                # Scored by its formula alone (score(): not a case-scored key), or its first case holds always.
                continue
            fact_id, text = _score_fact(serial, between, heads[key], fact.fields)
            ids.append(fact_id)
            texts.append(text)
        run, by_id, order = self._decide(sid, scheme, prep.edition, prep.as_of, prep.data, prep.events, texts, ids)
        cases = run.cases
        scored: dict[str, Scored] = {}
        for key, f in score_facts.items():
            i = cases.get(key, default.get(key))
            # A case-scored fact whose case is decided: its outcome directly (score() would check the same first).
            scored[key] = apply(f.cases[i].then, f) if i is not None and key in fields_tested else score(f, i, prep)
        vetoes = self._vetoes(run, by_id, order, prep.as_of, prep.data)
        return finish(prep, scored, vetoes, expert_points)
