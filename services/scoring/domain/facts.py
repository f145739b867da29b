"""Turning a declaration's inputs into one fact per item, with every derived value computed first.

durable_rules must only ever see single facts (cross-fact joins crash its C core), so ratios and
differences are computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from services.scoring.domain.rulebook import Edition, Item


class InputError(ValueError):
    """An input has the wrong type or an impossible value; names the field and the rule."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        # It crosses from the engine's worker process: pickle it with both arguments.
        return (InputError, (self.field, self.reason))


@dataclass
class ItemFact:
    """One item ready for the engine: its value, or what is missing."""

    item: Item
    value: Any = None
    inputs: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "missing" if self.missing else "score"


def _number(name: str, raw: Any) -> Decimal:
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


def _value(item: Item, data: dict[str, Any]) -> ItemFact:
    spec = item.value
    fact = ItemFact(item=item)
    fact.missing = [n for n in spec.inputs if data.get(n) is None]
    if fact.missing:
        return fact
    fact.inputs = {n: data[n] for n in spec.inputs}
    if item.method == "checklist":
        raw = data[spec.inputs[0]]
        if not isinstance(raw, list) or not all(isinstance(b, str) for b in raw):
            raise InputError(spec.inputs[0], "should be a list of ticked box ids")
        unknown = sorted(set(raw) - set(item.params["boxes"]))
        if unknown:
            raise InputError(spec.inputs[0], f"unknown boxes {unknown}; known: {sorted(item.params['boxes'])}")
        fact.value = sorted(set(raw))
        return fact
    numbers = [_number(n, data[n]) for n in spec.inputs]
    if spec.ratio is not None:
        if numbers[1] == 0:
            raise InputError(spec.ratio[1], "cannot be 0 (it divides)")
        fact.value = numbers[0] / numbers[1]
    elif spec.difference is not None:
        fact.value = numbers[0] - numbers[1]
    else:
        fact.value = numbers[0]
    return fact


def build_facts(edition: Edition, data: dict[str, Any]) -> list[ItemFact]:
    """One fact per item of ``edition``; raises InputError for a bad input."""
    return [_value(item, data) for item in edition.items]
