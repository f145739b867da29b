"""Rulebooks: the YAML data of rules/ as typed, validated, effective-dated models."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.schemes import Scheme

Method = Literal["proportional", "linear", "checklist", "industry_position"]


class ValueSpec(BaseModel):
    """How an item's value comes from the inputs: one input, a ratio, or a difference."""

    model_config = ConfigDict(extra="forbid")

    input: str | None = None
    ratio: tuple[str, str] | None = None
    difference: tuple[str, str] | None = None

    @model_validator(mode="after")
    def _one(self) -> ValueSpec:
        if sum(x is not None for x in (self.input, self.ratio, self.difference)) != 1:
            raise ValueError("value needs exactly one of input, ratio, difference")
        return self

    @property
    def inputs(self) -> list[str]:
        if self.input is not None:
            return [self.input]
        pair = self.ratio or self.difference
        assert pair is not None
        return list(pair)


class Item(BaseModel):
    """One indicator of a scheme."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name_zh: str
    name_en: str
    max: Decimal
    method: Method
    value: ValueSpec
    params: dict[str, Any]
    basis: str
    bonus: bool = False
    unit: str | None = None
    note: str | None = None


class LevelThreshold(BaseModel):
    level: int
    min_total: Decimal


class Levels(BaseModel):
    basis: str
    thresholds: list[LevelThreshold]


class Edition(BaseModel):
    """One edition of a scheme, in force from ``effective_from``."""

    model_config = ConfigDict(extra="forbid")

    edition: str
    effective_from: date
    note: str | None = None
    levels: Levels | None = None
    items: list[Item]

    @model_validator(mode="after")
    def _unique_ids(self) -> Edition:
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate item ids in edition {self.edition}")
        return self


class Rulebook(BaseModel):
    """A scheme's editions."""

    scheme: Scheme
    name_zh: str
    name_en: str
    source: str
    editions: list[Edition] = Field(min_length=1)

    def edition_for(self, as_of: date) -> Edition:
        """The newest edition in force on ``as_of``."""
        in_force = [e for e in self.editions if e.effective_from <= as_of]
        if not in_force:
            first = min(e.effective_from for e in self.editions)
            raise UnknownEdition(f"no {self.scheme.value} edition is in force on {as_of} (the first starts {first})")
        return max(in_force, key=lambda e: e.effective_from)

    def edition_named(self, name: str) -> Edition:
        for e in self.editions:
            if e.edition == name:
                return e
        raise UnknownEdition(
            f"{self.scheme.value} has no edition {name!r}; it has {[e.edition for e in self.editions]}"
        )


class UnknownEdition(LookupError):
    """No edition of the scheme fits the request."""


class Benchmarks(BaseModel):
    """Industry benchmarks (D-IND) in force, per GB/T 4754 code and indicator."""

    edition: str
    industries: dict[str, dict[str, dict[str, float]]]


def content_hash(*parts: Any) -> str:
    """A short, stable hash of JSON-able data: the rulebook version evaluations carry."""
    blob = json.dumps([p for p in parts], sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]


class RuleLibrary:
    """Every rulebook and benchmark edition under a rules/ folder."""

    def __init__(self, rulebooks: dict[Scheme, Rulebook], benchmark_editions: list[dict[str, Any]]) -> None:
        self.rulebooks = rulebooks
        self._benchmarks = sorted(benchmark_editions, key=lambda e: str(e["effective_from"]))

    @classmethod
    def load(cls, root: Path) -> RuleLibrary:
        rulebooks: dict[Scheme, Rulebook] = {}
        for scheme in Scheme:
            path = root / scheme.value / "rulebook.yaml"
            if path.exists():
                rulebooks[scheme] = Rulebook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        bench_path = root / "benchmarks" / "benchmarks.yaml"
        editions = yaml.safe_load(bench_path.read_text(encoding="utf-8"))["editions"] if bench_path.exists() else []
        return cls(rulebooks, editions)

    def rulebook(self, scheme: Scheme) -> Rulebook:
        try:
            return self.rulebooks[scheme]
        except KeyError:
            raise UnknownEdition(f"no rulebook for scheme {scheme.value}") from None

    def benchmarks_for(self, as_of: date) -> Benchmarks:
        in_force = [e for e in self._benchmarks if date.fromisoformat(str(e["effective_from"])) <= as_of]
        if not in_force:
            return Benchmarks(edition="none", industries={})
        latest = in_force[-1]
        return Benchmarks(edition=str(latest["edition"]), industries=latest.get("industries") or {})
