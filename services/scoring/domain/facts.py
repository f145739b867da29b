"""Turning a declaration's inputs into one fact per item (and per sub-rule), every derived value computed first.

durable_rules must only ever see single facts (cross-fact joins crash its C core), so every ratio,
growth rate and difference is computed here, and the engine's rules compare one fact's fields
with constants from the rulebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from greenfab.inputs import show
from services.scoring.domain.expressions import (
    DivisionByZeroError,
    Expression,
    ExpressionError,
    OutOfRangeError,
    parse,
)
from services.scoring.domain.rulebook import Case, Edition, Item, Part

# Derived values are kept to 9 decimals so the engine (floats) and the reference (Decimal) see the same number.
QUANTUM = Decimal("1e-9")
Value = Decimal | bool | str | list[str]


class InputError(ValueError):
    """An input has the wrong type or an impossible value; names the field(s), a stable code and the rule."""

    def __init__(self, field_name: str, message: str, code: str = "invalid_input", message_zh: str = "") -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message
        self.code = code
        self.message_zh = message_zh or message

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str, str, str]]:
        # It crosses from the engine's worker process: pickle it with every argument.
        return (InputError, (self.field, self.reason, self.code, self.message_zh))


def shown_zh(value: Any) -> str:
    """A declared value as the Chinese messages quote it: 是/否 for a boolean, a number as people write it, a list's
    entries joined by 、."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal) and value.is_finite():
        return show(value)
    if isinstance(value, list):
        return "、".join(shown_zh(v) for v in value)
    return str(value)


def not_yes_or_no_zh(raw: Any) -> str:
    """In Chinese: an answer that should be yes or no (true/false) is ``raw``."""
    return f"应为是/否（true/false），而不是“{shown_zh(raw)}”"


def _one_of_zh(words: list[str]) -> str:
    quoted = "、".join(f"“{w}”" for w in words)
    return quoted if len(words) == 1 else f"{quoted}之一"


_KINDS_ZH = {"list": "列表", "dict": "对象", "NoneType": "空值"}


@dataclass(slots=True)
class Fact:
    """One rule's subject: an item, or one part of a ``parts`` item (``key``: the item's id, and the part's)."""

    item: Item
    part: Part | None = None
    fields: dict[str, Value] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    absent_optional: list[str] = field(default_factory=list)
    not_applicable: bool = False
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.item.id if self.part is None else f"{self.item.id}{self.part.id}"

    @property
    def kind(self) -> str:
        if self.not_applicable:
            return "na"
        return "missing" if self.missing else "score"

    @property
    def cases(self) -> list[Case]:
        return self.part.cases if self.part is not None else self.item.cases

    @property
    def max(self) -> Decimal:
        return self.part.max if self.part is not None else self.item.max


def number(name: str, raw: Any) -> Decimal:
    """A non-negative finite number, or InputError naming ``name``."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        kind = type(raw).__name__
        got = f"“{shown_zh(raw)}”" if isinstance(raw, bool) else _KINDS_ZH.get(kind, f"{kind} 类型的值")
        raise InputError(name, f"should be a number, got {kind}", message_zh=f"应为数字，而不是{got}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InputError(name, f"should be a number, got {raw!r}", message_zh=f"应为数字，而不是“{raw}”") from None
    if not value.is_finite():
        raise InputError(name, "should be a finite number", message_zh="应为有限的数（不能是 NaN 或 Infinity）")
    if value < 0:
        raise InputError(name, "cannot be negative", message_zh=f"不能为负数：{shown_zh(value)}")
    return value


def _input(name: str, raw: Any) -> Value:
    if isinstance(raw, bool | str) and not _numeric_string(raw):
        return raw
    if isinstance(raw, list):
        if not all(isinstance(b, str) for b in raw):
            raise InputError(name, "should be a list of ticked box ids", message_zh="应为勾选项编号的列表")
        return sorted(set(raw))
    return number(name, raw)


def _numeric_string(raw: Any) -> bool:
    if not isinstance(raw, str):
        return False
    try:
        Decimal(raw)
    except InvalidOperation:
        return False
    return True


def _needed(inputs: list[str], derive: dict[str, str]) -> list[str]:
    names = list(inputs)
    derived: set[str] = set()
    for name, expr in derive.items():
        for n in parse(expr).names:
            if n not in derived and n not in names:
                names.append(n)
        derived.add(name)
    return names


@dataclass(frozen=True)
class FactPlan:
    """What an item (or one part of it) needs from a declaration, read off the rulebook once per edition."""

    item: Item
    part: Part | None
    key: str
    needed: tuple[str, ...]
    optional: tuple[str, ...]
    derive: tuple[tuple[str, Expression], ...]
    booleans: tuple[str, ...]  # compared with true/false somewhere in the cases, in the order first met
    words: tuple[tuple[str, frozenset[str]], ...]  # compared with words: the words

    @classmethod
    def of(cls, item: Item, part: Part | None) -> FactPlan:
        source: Item | Part = part if part is not None else item
        booleans: dict[str, None] = {}
        words: dict[str, set[str]] = {}
        for case in source.cases:
            for name, conds in case.when.items():
                for constant in conds.values():
                    if isinstance(constant, bool):
                        booleans.setdefault(name)
                    elif isinstance(constant, str):
                        words.setdefault(name, set()).add(constant)
        return cls(
            item=item,
            part=part,
            key=item.id if part is None else f"{item.id}{part.id}",
            needed=tuple(_needed(source.inputs, source.derive)),
            optional=tuple(source.optional),
            derive=tuple((name, parse(expr)) for name, expr in source.derive.items()),
            booleans=tuple(booleans),
            words=tuple((name, frozenset(allowed)) for name, allowed in words.items()),
        )


@dataclass(frozen=True)
class EditionPlan:
    """Per item in the edition's order: its plans (one, or one per part)."""

    edition: Edition
    items: tuple[tuple[Item, tuple[FactPlan, ...]], ...]


_PLANS: dict[int, EditionPlan] = {}


def plan(edition: Edition) -> EditionPlan:
    """The edition's plan, made once. Keyed by the edition's id, and holding the edition, so the id stays its own."""
    found = _PLANS.get(id(edition))
    if found is None:
        if len(_PLANS) >= 256:  # editions of replayed snapshots come and go
            _PLANS.pop(next(iter(_PLANS)))
        items = tuple(
            (
                item,
                tuple(FactPlan.of(item, p) for p in item.parts)
                if item.method == "parts"
                else (FactPlan.of(item, None),),
            )
            for item in edition.items
        )
        found = _PLANS[id(edition)] = EditionPlan(edition, items)
    return found


def fill(rule: FactPlan, data: dict[str, Any], read: dict[str, Value]) -> Fact:
    get = data.get
    inputs = {}
    for n in rule.needed:
        raw = get(n)
        if raw is None:
            missing = [n for n in rule.needed if get(n) is None]
            return Fact(item=rule.item, part=rule.part, key=rule.key, missing=missing)
        inputs[n] = raw
    absent: list[str] = []
    for n in rule.optional:
        raw = get(n)
        if raw is None:
            absent.append(n)
        else:
            inputs[n] = raw
    fields: dict[str, Value] = {}
    for n, raw in inputs.items():
        value = read.get(n)
        if value is None:  # each input read once per declaration, however many items use it
            value = read[n] = _input(n, raw)
        fields[n] = value
    # Positional (Fact's field order): a keyword call costs more, and this runs for every fact of every declaration.
    fact = Fact(rule.item, rule.part, fields, inputs, [], absent, False, rule.key)
    if not rule.derive:
        return fact
    numeric: dict[str, Decimal] = {}
    for n, value in fields.items():
        if isinstance(value, Decimal):
            numeric[n] = value
        elif isinstance(value, bool):
            numeric[n] = Decimal(int(value))
    for name, parsed in rule.derive:
        expr = parsed.source
        try:
            value = parsed.evaluate(numeric)
        except KeyError as exc:
            raise InputError(
                str(exc.args[0]),
                f"should be a number (it is used in {expr})",
                message_zh=f"应为数字（计算 {name} = {expr} 要用到它）",
            ) from None
        except ExpressionError as exc:
            raise derive_error(name, parsed, exc) from None
        try:
            numeric[name] = fields[name] = value.quantize(QUANTUM, ROUND_HALF_EVEN)
        except InvalidOperation:
            # The catalogue's limits keep every ratio far inside this; a rulebook change might not.
            raise InputError(
                ", ".join(parsed.names),
                f"{name} = {expr} is too large to score",
                message_zh=f"按所填数值，{name} = {expr} 的计算结果过大，无法评分",
            ) from None
    return fact


def derive_error(name: str, parsed: Expression, exc: ExpressionError) -> InputError:
    """A derived value these inputs cannot give, as the declaration's input problem: a divisor of 0 names the
    divisor; a value out of range (or anything else) names the inputs the formula reads."""
    expr = parsed.source
    if isinstance(exc, DivisionByZeroError):
        return InputError(
            exc.divisor, f"cannot be 0: it divides in {expr}", message_zh=f"不能为 0：它是 {name} = {expr} 中的除数"
        )
    if isinstance(exc, OutOfRangeError):
        return InputError(
            ", ".join(parsed.names),
            f"{name} = {expr} is out of the range scoring can compute for these values",
            message_zh=f"按所填数值，{name} = {expr} 的计算结果超出可计算的数值范围",
        )
    return InputError(
        ", ".join(parsed.names),
        f"cannot compute {name}: {exc}",
        message_zh=f"按所填数值，无法计算 {name} = {expr}：{exc.message_zh}",
    )


def _check_kinds(rule: FactPlan, fields: dict[str, Value]) -> None:
    """Answers compared with true/false must be true/false; with words, one of those words."""
    for name in rule.booleans:
        if name in fields and not isinstance(fields[name], bool):
            got = fields[name]
            raise InputError(
                name,
                f"should be yes or no (true/false), got {got!r}",
                message_zh=not_yes_or_no_zh(got),
            )
    for name, allowed in rule.words:
        if name in fields and fields[name] not in allowed:
            got, words = fields[name], sorted(allowed)
            raise InputError(
                name,
                f"should be one of {words}, got {got!r}",
                message_zh=f"应为{_one_of_zh(words)}，而不是“{shown_zh(got)}”",
            )


def build_facts(edition: Edition, data: dict[str, Any]) -> list[Fact]:
    """The facts of ``edition`` for ``data``; raises InputError for a bad input."""
    facts: list[Fact] = []
    checks: list[tuple[FactPlan, Fact]] = []
    read: dict[str, Value] = {}  # inputs as read (_input), shared by the facts
    for item, rules in plan(edition).items:
        if item.applies_if is not None:
            flag = data.get(item.applies_if)
            if flag is not None and not isinstance(flag, bool):
                raise InputError(item.applies_if, "should be yes or no (true/false)", message_zh=not_yes_or_no_zh(flag))
            if flag is False:
                facts.append(Fact(item=item, key=item.id, not_applicable=True))
                continue
        for rule in rules:
            fact = fill(rule, data, read)
            facts.append(fact)
            if not fact.missing:
                checks.append((rule, fact))
    for rule, fact in checks:
        check_fact(rule, fact)
    return facts


def check_fact(rule: FactPlan, fact: Fact) -> None:
    """A filled fact's answers: true/false and words where its cases compare with them, a checklist's boxes."""
    _check_kinds(rule, fact.fields)
    if fact.item.method == "checklist":
        name = fact.item.inputs[0]
        boxes = fact.fields[name]
        if not isinstance(boxes, list):
            raise InputError(name, "should be a list of ticked box ids", message_zh="应为勾选项编号的列表")
        unknown = sorted(set(boxes) - set(fact.item.params["boxes"]))
        if unknown:
            known = sorted(fact.item.params["boxes"])
            raise InputError(
                name,
                f"unknown boxes {unknown}; known: {known}",
                message_zh=f"没有勾选项 {'、'.join(unknown)}；可选：{'、'.join(known)}",
            )
