"""The advisor's bureau data: how inputs read (the input catalogue, rules/inputs/inputs.yaml), levers and effort.

The catalogue is the one intake and scoring check declarations against; the advisor reads from it each
input's Chinese label, unit, choice and box labels, and what kind of change it is (a number, a whole
count, a share shown as a percentage, yes/no, a choice, boxes). Levers and effort are rules/advice.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from contracts.schemes import Scheme
from greenfab.inputs import Catalogue, load_catalogue
from services.scoring.batch import FactRule

InputKind = Literal["amount", "number", "count", "share", "yes_no", "choice", "boxes", "level", "code"]
LeverKind = Literal["numeric", "yes_no", "choice", "boxes"]


class InputInfo(BaseModel):
    """One input of the catalogue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str
    kind: InputKind
    unit: str = ""
    choices: dict[str, str] = Field(default_factory=dict, description="word → Chinese label")
    boxes: dict[str, str] = Field(default_factory=dict, description="box id → Chinese label")
    upper: Decimal | None = Field(default=None, description="The most the catalogue accepts (a number).")

    @property
    def integer(self) -> bool:
        return self.kind in ("count", "level")

    def show(self, value: Any) -> str:
        """A value as people read it on the form: 8.5%, 3100 t, 是, 市级, 3 级."""
        if value is None:
            return "未填"
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(self.boxes.get(str(b), str(b)) for b in value) or "无"
        if isinstance(value, str):
            return self.choices.get(value, value)
        number = Decimal(str(value))
        if self.kind == "share":
            return f"{_plain(number * 100)}%"
        return f"{_plain(number)} {self.unit}".rstrip()


def _plain(x: Decimal) -> str:
    """Up to 6 significant digits, no exponent, no trailing zeros."""
    text = f"{x:.6g}"
    if "e" in text:
        text = f"{x:f}"
    return f"{Decimal(text).normalize():f}"


def input_info(catalogue: Catalogue, name: str) -> InputInfo:
    """One catalogue input as the advisor shows and changes it."""
    spec = catalogue.inputs[name]
    labels = spec.labels_zh
    if spec.type == "number":
        assert spec.limit is not None  # the catalogue's own check: every number names its limit
        limit = catalogue.limits[spec.limit]
        kind: InputKind = (
            "share"
            if spec.limit == "share" or spec.percent
            else "level"
            if spec.limit == "level"
            else "count"
            if limit.whole
            else "amount"
        )
        unit = "" if kind == "share" else spec.unit_zh or limit.unit
        upper = min(spec.max, limit.max) if spec.max is not None else limit.max
        return InputInfo(zh=spec.name_zh, kind=kind, unit=unit, upper=upper)
    if spec.type == "choice":
        return InputInfo(zh=spec.name_zh, kind="choice", choices={c: labels.get(c, c) for c in spec.choices})
    if spec.type == "boxes":
        return InputInfo(zh=spec.name_zh, kind="boxes", boxes={b: labels.get(b, b) for b in spec.boxes})
    kinds: dict[str, InputKind] = {"boolean": "yes_no", "text": "code", "date": "code", "events": "code"}
    return InputInfo(zh=spec.name_zh, kind=kinds[spec.type])


class SchemeAdvice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    effort: dict[str, Decimal] = Field(default_factory=dict, description="item id → effort per change")
    levers: dict[str, list[str | dict[str, list[str]]]] = Field(
        default_factory=dict, description="fact key (item id, or item id + part id) → its levers"
    )


class AdviceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_effort: Decimal = Decimal(1)
    fixed: list[str] = Field(default_factory=list)
    schemes: dict[Scheme, SchemeAdvice] = Field(default_factory=dict)


@dataclass(frozen=True)
class Lever:
    """Inputs an enterprise changes for one fact; several move together to one value."""

    names: tuple[str, ...]
    kind: LeverKind


@dataclass(frozen=True)
class AdviceData:
    catalogue: dict[str, InputInfo]
    advice: AdviceFile

    @classmethod
    def load(cls, rules_dir: Path, catalogue: Catalogue | None = None) -> AdviceData:
        """The advice data of ``rules_dir``; ``catalogue``: the input catalogue already loaded from it."""
        inputs = catalogue if catalogue is not None else load_catalogue(rules_dir)
        advice = yaml.safe_load((rules_dir / "advice.yaml").read_text(encoding="utf-8"))
        return cls({n: input_info(inputs, n) for n in inputs.inputs}, AdviceFile.model_validate(advice))

    def info(self, name: str) -> InputInfo:
        known = self.catalogue.get(name)
        return known if known is not None else InputInfo(zh=name, kind="number")

    def effort(self, scheme: Scheme, item_id: str) -> Decimal:
        per_scheme = self.advice.schemes.get(scheme)
        given = per_scheme.effort.get(item_id) if per_scheme else None
        return given if given is not None else self.advice.default_effort

    def levers(self, scheme: Scheme, rule: FactRule) -> list[Lever]:
        """The rule's levers: the bureau's list, else the first free input a formula reads, else every free input."""
        per_scheme = self.advice.schemes.get(scheme)
        listed = per_scheme.levers.get(rule.key) if per_scheme else None
        if listed is not None:
            out = []
            for entry in listed:
                names = tuple(entry["together"]) if isinstance(entry, dict) else (entry,)
                out.append(Lever(names, self._kind(rule, names[0])))
            return out
        free = [n for n in (*rule.needed, *rule.optional) if n not in self.advice.fixed]
        if rule.item.method == "checklist":
            return [Lever((rule.item.inputs[0],), "boxes")]
        if rule.derive and free:
            first = next((n for n in free if n not in rule.booleans and n not in rule.words), free[0])
            picked = [first] + [n for n in free if n != first and (n in rule.booleans or n in rule.words)]
            return [Lever((n,), self._kind(rule, n)) for n in picked]
        return [Lever((n,), self._kind(rule, n)) for n in free]

    def _kind(self, rule: FactRule, name: str) -> LeverKind:
        if name in rule.booleans:
            return "yes_no"
        if name in rule.words:
            return "choice"
        kind = self.info(name).kind
        if kind == "boxes":
            return "boxes"
        if kind == "yes_no":
            return "yes_no"
        return "numeric"
