"""Turning a declaration's inputs into one fact per item (and per sub-rule), every derived value computed first.

durable_rules must only ever see single facts (cross-fact joins crash its C core), so every ratio,
growth rate and difference is computed here, and the engine's rules compare one fact's fields
with constants from the rulebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from services.scoring.domain.expressions import DivisionByZeroError, ExpressionError, parse
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


@dataclass
class Fact:
    """One rule's subject: an item, or one part of a ``parts`` item."""

    item: Item
    part: Part | None = None
    fields: dict[str, Value] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    absent_optional: list[str] = field(default_factory=list)
    not_applicable: bool = False

    @property
    def key(self) -> str:
        return self.item.id if self.part is None else f"{self.item.id}{self.part.id}"

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
        raise InputError(name, f"should be a number, got {type(raw).__name__}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InputError(name, f"should be a number, got {raw!r}") from None
    if not value.is_finite():
        raise InputError(name, "should be a finite number")
    if value < 0:
        raise InputError(name, "cannot be negative")
    return value


def _input(name: str, raw: Any) -> Value:
    if isinstance(raw, bool | str) and not _numeric_string(raw):
        return raw
    if isinstance(raw, list):
        if not all(isinstance(b, str) for b in raw):
            raise InputError(name, "should be a list of ticked box ids")
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


def _fill(fact: Fact, inputs: list[str], optional: list[str], derive: dict[str, str], data: dict[str, Any]) -> Fact:
    needed = _needed(inputs, derive)
    fact.missing = [n for n in needed if data.get(n) is None]
    if fact.missing:
        return fact
    fact.absent_optional = [n for n in optional if data.get(n) is None]
    present = needed + [n for n in optional if data.get(n) is not None]
    fact.inputs = {n: data[n] for n in present}
    for n in present:
        fact.fields[n] = _input(n, data[n])
    numeric: dict[str, Decimal] = {
        k: (Decimal(int(v)) if isinstance(v, bool) else v)
        for k, v in fact.fields.items()
        if isinstance(v, Decimal | bool)
    }
    for name, expr in derive.items():
        try:
            value = parse(expr).evaluate(numeric)
        except KeyError as exc:
            raise InputError(str(exc.args[0]), f"should be a number (it is used in {expr})") from None
        except DivisionByZeroError as exc:
            raise InputError(exc.divisor, f"cannot be 0: it divides in {expr}") from None
        except ExpressionError as exc:
            raise InputError(", ".join(parse(expr).names), f"cannot compute {name}: {exc}") from None
        try:
            numeric[name] = fact.fields[name] = value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
        except InvalidOperation:
            # The catalogue's limits keep every ratio far inside this; a rulebook change might not.
            raise InputError(", ".join(parse(expr).names), f"{name} = {expr} is too large to score") from None
    return fact


def _check_kinds(fact: Fact) -> None:
    """Answers compared with true/false must be true/false; with words, one of those words."""
    words: dict[str, set[str]] = {}
    for case in fact.cases:
        for name, conds in case.when.items():
            if name not in fact.fields:
                continue
            for constant in conds.values():
                value = fact.fields[name]
                if isinstance(constant, bool) and not isinstance(value, bool):
                    raise InputError(name, f"should be yes or no (true/false), got {value!r}")
                if isinstance(constant, str) and not isinstance(constant, bool):
                    words.setdefault(name, set()).add(constant)
    for name, allowed in words.items():
        if fact.fields[name] not in allowed:
            raise InputError(name, f"should be one of {sorted(allowed)}, got {fact.fields[name]!r}")


def build_facts(edition: Edition, data: dict[str, Any]) -> list[Fact]:
    """The facts of ``edition`` for ``data``; raises InputError for a bad input."""
    facts: list[Fact] = []
    for item in edition.items:
        if item.applies_if is not None:
            flag = data.get(item.applies_if)
            if flag is not None and not isinstance(flag, bool):
                raise InputError(item.applies_if, "should be yes or no (true/false)")
            if flag is False:
                facts.append(Fact(item=item, not_applicable=True))
                continue
        if item.method == "parts":
            facts.extend(_fill(Fact(item=item, part=p), p.inputs, p.optional, p.derive, data) for p in item.parts)
        else:
            facts.append(_fill(Fact(item=item), item.inputs, item.optional, item.derive, data))
    for fact in facts:
        if fact.kind == "score":
            _check_kinds(fact)
        if fact.item.method == "checklist" and fact.kind == "score":
            name = fact.item.inputs[0]
            boxes = fact.fields[name]
            if not isinstance(boxes, list):
                raise InputError(name, "should be a list of ticked box ids")
            unknown = sorted(set(boxes) - set(fact.item.params["boxes"]))
            if unknown:
                raise InputError(name, f"unknown boxes {unknown}; known: {sorted(fact.item.params['boxes'])}")
    return facts
