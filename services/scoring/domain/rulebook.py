"""Rulebooks: the YAML data of rules/ as typed, validated, effective-dated models.

An item's points come from its ``method``:

- ``cases``: ordered cases, each a condition on the item's fields (inputs and ``derive``d values)
  and an outcome; the first case that holds decides. The conditions compile to durable_rules.
- ``checklist``: ticked boxes' points, capped.
- ``industry_position``: D-IND against the industry benchmarks.
- ``expert``: an expert scores it (酌情给分, photo-judged items).
- ``parts``: the sum of sub-rules, each itself a ``cases`` rule, capped (BF-4, BF-5).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.schemes import Scheme
from greenfab.inputs import Catalogue, load_catalogue
from services.scoring.domain.expressions import ExpressionError, parse

Op = Literal["lt", "lte", "gt", "gte", "eq", "ne"]
Scalar = Decimal | bool | str


class FormulaError(ValueError):
    """A ``derive`` formula the expression language refuses; ``field`` is where (``derive.ratio``,
    ``parts[0].derive.x``), so a draft's problem names the field, with the reason in Chinese and English."""

    def __init__(self, field: str, error: ExpressionError) -> None:
        super().__init__(f"{field}: {error.message_en}")
        self.field = field
        self.message_en = error.message_en
        self.message_zh = error.message_zh


def _check_formulas(prefix: str, derive: dict[str, str]) -> None:
    for key, expr in derive.items():
        try:
            parse(expr)
        except ExpressionError as exc:
            raise FormulaError(f"{prefix}derive.{key}", exc) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Outcome(_Strict):
    """What a case awards: fixed points, a linear share of a field, K / field, or an expert's judgement."""

    points: Decimal | None = None
    full: bool | None = Field(default=None, description="The item's (or part's) maximum.")
    linear: dict[str, Any] | None = Field(default=None, description="{of, zero_at, full_at}: D-LIN / D-PROP")
    floor: dict[str, Any] | None = Field(
        default=None,
        description="{of, floor, full_at, share_at_floor}: D-FLOOR; 0 below the floor, then linear to full",
    )
    inverse: dict[str, Any] | None = Field(default=None, description="{of, numerator}: numerator / field (D-BF1)")
    expert: str | None = Field(default=None, description="Why an expert must score it.")
    flag: str | None = Field(default=None, description="An eligibility flag raised with this outcome.")
    explain: str = Field(description="The Chinese explanation shown with the points.")

    @model_validator(mode="after")
    def _one(self) -> Outcome:
        kinds = (self.points, self.full, self.linear, self.floor, self.inverse, self.expert)
        if sum(x is not None for x in kinds) != 1:
            raise ValueError("an outcome needs exactly one of points, full, linear, floor, inverse, expert")
        if self.floor is not None:
            f = self.floor
            if set(f) != {"of", "floor", "full_at", "share_at_floor"}:
                raise ValueError("floor takes of, floor, full_at and share_at_floor")
            share, low, high = (Decimal(str(f[k])) for k in ("share_at_floor", "floor", "full_at"))
            if not 0 <= share <= 1 or high <= low:
                raise ValueError("floor: share_at_floor is within 0..1 and full_at is above the floor")
        return self


class Case(_Strict):
    """``when`` every condition holds (field → {op: value}), ``then`` this outcome."""

    when: dict[str, dict[Op, Scalar]] = Field(default_factory=dict)
    then: Outcome


class Part(_Strict):
    """A sub-rule of a ``parts`` item."""

    id: str
    max: Decimal
    inputs: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list, description="Inputs only some cases need.")
    derive: dict[str, str] = Field(default_factory=dict)
    cases: list[Case]
    basis: str | None = None


class Item(_Strict):
    """One indicator (or requirement row) of a scheme."""

    id: str
    name_zh: str
    name_en: str
    max: Decimal
    basis: str
    method: Literal["cases", "checklist", "industry_position", "expert", "parts"]
    inputs: list[str] = Field(default_factory=list, description="Inputs the item needs besides those in derive.")
    optional: list[str] = Field(
        default_factory=list, description="Inputs only some cases need: absent, those cases cannot hold."
    )
    derive: dict[str, str] = Field(default_factory=dict, description="Named values computed from inputs, in order.")
    cases: list[Case] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    category: str | None = None
    requirement: Literal["basic", "expected", "veto"] | None = None
    applies_if: str | None = Field(default=None, description="A yes/no input; no → not_applicable (D-NA).")
    bonus: bool = False
    evidence: str | None = None
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _yes_no(cls, raw: Any) -> Any:
        # `yes_no`: a conformity answer (符合 → full points; 不符合 → 0, and unmet for a basic or veto row).
        if not isinstance(raw, dict) or raw.get("method") != "yes_no":
            return raw
        (answer,) = raw["inputs"]
        name = raw.get("name_zh", answer)
        unmet: dict[str, Any] = {"points": 0, "explain": f"不符合：{name}"}
        if raw.get("requirement") in ("basic", "veto"):
            unmet["flag"] = "unmet"
        return {
            **raw,
            "method": "cases",
            "cases": [
                {"when": {answer: {"eq": True}}, "then": {"full": True, "explain": f"符合：{name}"}},
                # Answers are checked to be true/false before scoring, so this case is "otherwise".
                {"then": unmet},
            ],
        }

    @model_validator(mode="after")
    def _shape(self) -> Item:
        _check_formulas("", self.derive)
        for i, part in enumerate(self.parts):
            _check_formulas(f"parts[{i}].", part.derive)
        if self.method == "cases" and not self.cases:
            raise ValueError(f"{self.id}: method cases needs cases")
        if self.method == "parts" and not self.parts:
            raise ValueError(f"{self.id}: method parts needs parts")
        return self


class Category(_Strict):
    id: str
    name_zh: str
    weight: Decimal = Field(description="Share of the category's 100 points in the total, e.g. 0.20.")
    points: Decimal = Decimal(100)


class LevelThreshold(_Strict):
    level: int
    min_total: Decimal


class Levels(_Strict):
    basis: str
    thresholds: list[LevelThreshold]


class Pass(_Strict):
    basis: str
    min_total: Decimal
    all_basic_met: bool = True


class Gate(_Strict):
    """Who may apply at all (e.g. the beautiful-factory gate): any one condition suffices."""

    basis: str
    any_of: list[dict[str, dict[Op, Scalar]]]
    explain: str


class Check(_Strict):
    """A cross-check that raises a flag for staff, e.g. self-evaluation and third-party totals disagreeing."""

    code: str
    basis: str
    derive: dict[str, str]
    when: dict[str, dict[Op, Scalar]]
    explain: str

    @model_validator(mode="after")
    def _formulas(self) -> Check:
        _check_formulas("", self.derive)
        return self


class Edition(_Strict):
    """One edition of a scheme, in force from ``effective_from``."""

    edition: str = Field(max_length=24, description="Its name, e.g. 2025; part of the version evaluations record.")
    effective_from: date
    source: str | None = None
    note: str | None = None
    levels: Levels | None = None
    passing: Pass | None = None
    gate: Gate | None = None
    categories: list[Category] = Field(default_factory=list)
    inconsistencies: dict[str, str] = Field(default_factory=dict, description="Seed inconsistencies (S1–S5) here.")
    checks: list[Check] = Field(default_factory=list)
    items: list[Item]

    @model_validator(mode="after")
    def _consistent(self) -> Edition:
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate item ids in edition {self.edition}")
        known = {c.id for c in self.categories}
        for item in self.items:
            if self.categories and item.category not in known:
                raise ValueError(f"{item.id}: category {item.category!r} is not one of {sorted(known)}")
        return self


class Rulebook(_Strict):
    """A scheme's editions."""

    scheme: Scheme
    name_zh: str
    name_en: str
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


class Veto(_Strict):
    """An eligibility rule: an event kind (or a yes/no input) that vetoes within a window."""

    code: str
    clause: str
    name_zh: str
    event: str | None = Field(default=None, description="Event kind in the declaration's `events` list.")
    window_years: int | None = Field(default=None, description="Look-back window (D-WINDOW); none = any time.")
    min_months: int | None = Field(default=None, description="Only events lasting at least this long (D-YISHANG).")
    ban_years: int | None = Field(default=None, description="The event bans declaring for this long after it.")
    unless: dict[str, Scalar] | None = Field(default=None, description="The event does not veto if it has this.")
    when: dict[str, dict[Op, Scalar]] | None = Field(
        default=None, description="Conditions on the declaration's answers that veto when all hold (第七、八、九条)."
    )
    schemes: list[Scheme] | None = None
    overridable: bool = Field(default=False, description="'In principle' rules: staff may override with a reason.")

    @model_validator(mode="after")
    def _shape(self) -> Veto:
        if (self.event is None) == (self.when is None):
            raise ValueError(f"veto {self.code}: give either event or when")
        if self.unless is not None and (len(self.unless) != 1 or not all(v is True for v in self.unless.values())):
            raise ValueError(f"veto {self.code}: unless takes one yes/no field that must be true")
        return self


class Eligibility(_Strict):
    vetoes: list[Veto]


class BenchmarkEdition(_Strict):
    edition: str = Field(max_length=19, description="Its name; part of the version evaluations record.")
    effective_from: date
    note: str | None = None
    industries: dict[str, dict[str, dict[str, Decimal]]]


def content_hash(*parts: Any) -> str:
    """A short, stable hash of JSON-able data: the rulebook version evaluations carry."""
    blob = json.dumps(list(parts), sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Version:
    """What scored an evaluation: a rulebook edition with a benchmark edition, and the days it applies to."""

    scheme: Scheme
    edition: Edition
    benchmarks: BenchmarkEdition
    version: str
    applies_from: date
    applies_until: date | None  # the day before the next edition or benchmark edition, if any


class RuleLibrary:
    """Every rulebook, eligibility rule, input catalogue and benchmark edition under a rules/ folder."""

    def __init__(
        self,
        rulebooks: dict[Scheme, Rulebook],
        eligibility: Eligibility,
        benchmarks: list[BenchmarkEdition],
        inputs: Catalogue,
    ) -> None:
        self.rulebooks = rulebooks
        self.eligibility = eligibility
        self.inputs = inputs
        self._benchmarks = sorted(benchmarks, key=lambda e: e.effective_from)
        self._versions: dict[tuple[int, str], str] = {}
        for veto in eligibility.vetoes:
            if veto.event is not None and veto.event not in inputs.events.kinds:
                raise ValueError(f"veto {veto.code}: event kind {veto.event!r} is not in eligibility/events.yaml")

    @classmethod
    def load(cls, root: Path) -> RuleLibrary:
        def read(path: Path) -> Any:
            return yaml.safe_load(path.read_text(encoding="utf-8"))

        rulebooks = {}
        for scheme in Scheme:
            path = root / scheme.value / "rulebook.yaml"
            if path.exists():
                rulebooks[scheme] = Rulebook.model_validate(read(path))
        eligibility = Eligibility.model_validate(read(root / "eligibility" / "vetoes.yaml"))
        benchmarks = [
            BenchmarkEdition.model_validate(e) for e in read(root / "benchmarks" / "benchmarks.yaml")["editions"]
        ]
        return cls(rulebooks, eligibility, benchmarks, load_catalogue(root))

    def rulebook(self, scheme: Scheme) -> Rulebook:
        try:
            return self.rulebooks[scheme]
        except KeyError:
            raise UnknownEdition(f"no rulebook for scheme {scheme.value}") from None

    def benchmarks_for(self, as_of: date) -> BenchmarkEdition:
        in_force = [e for e in self._benchmarks if e.effective_from <= as_of]
        if not in_force:
            return BenchmarkEdition(edition="none", effective_from=date.min, industries={})
        return in_force[-1]

    def version(self, edition: Edition, benchmarks: BenchmarkEdition) -> str:
        """``<rulebook edition>+<benchmark edition>@sha256:<hash>``: what an evaluation used, by name and content.

        The hash covers the edition, the benchmarks, the eligibility rules and the input catalogue;
        the models are frozen, so it is computed once.
        """
        # Editions live as long as the library; benchmark editions are told apart by name.
        key = (id(edition), benchmarks.edition)
        if key not in self._versions:
            digest = content_hash(
                edition.model_dump(mode="json"),
                benchmarks.model_dump(mode="json"),
                self.eligibility.model_dump(mode="json"),
                self.inputs.model_dump(mode="json"),
            )
            self._versions[key] = f"{edition.edition}+{benchmarks.edition}@{digest[:19]}"
        return self._versions[key]

    def versions(self, scheme: Scheme) -> list[Version]:
        """Every (edition, benchmark edition) pair that can score a declaration of ``scheme``, oldest first."""
        book = self.rulebook(scheme)
        editions = sorted(book.editions, key=lambda e: e.effective_from)
        out = []
        for i, edition in enumerate(editions):
            until = editions[i + 1].effective_from if i + 1 < len(editions) else None
            starts = [edition.effective_from] + [
                b.effective_from
                for b in self._benchmarks
                if edition.effective_from < b.effective_from and (until is None or b.effective_from < until)
            ]
            for j, start in enumerate(starts):
                end = starts[j + 1] if j + 1 < len(starts) else until
                bench = self.benchmarks_for(start)
                last = end - timedelta(days=1) if end is not None else None
                out.append(Version(scheme, edition, bench, self.version(edition, bench), start, last))
        return out

    def find_version(self, version: str) -> Version:
        """The edition and benchmarks behind a version string an evaluation recorded."""
        for scheme in self.rulebooks:
            for v in self.versions(scheme):
                if v.version == version:
                    return v
        raise UnknownEdition(f"no rulebook edition in these rules has version {version!r}")
