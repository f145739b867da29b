"""Rulebook editions as a lifecycle: a draft is checked, compared, tried on the registry, published, replayed.

- ``check``: a draft rulebook (the YAML of rules/<scheme>/rulebook.yaml, with the new edition among its
  editions and, optionally, its own ``cases``) is refused with every problem named by edition, item
  and field: the schema, every input defined in rules/inputs/inputs.yaml, every clause cited, points within
  each item's maximum, the totals the scheme requires (rules/totals.yaml), and the cases.
- ``diff``: items added, removed and changed (points, thresholds, formulas), and level, pass and
  category changes, between any two editions (published or drafts).
- ``snapshot``: everything an evaluation's ``rulebook_version`` hashes (the edition, the benchmark
  edition, the eligibility rules and the input catalogue), so an evaluation can be replayed exactly by that version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.schemes import Scheme
from greenfab.inputs import Catalogue
from services.scoring.batch import benchmark_editions
from services.scoring.cases import RuleCase, outcome
from services.scoring.domain import reference
from services.scoring.domain.expressions import ExpressionError, parse
from services.scoring.domain.outcomes import matches
from services.scoring.domain.rulebook import (
    BenchmarkEdition,
    Edition,
    Eligibility,
    FormulaError,
    Item,
    Part,
    Rulebook,
    RuleLibrary,
    UnknownEdition,
)
from services.scoring.engine import RulesEngine

ZERO = Decimal(0)
# A clause of a seed document (000–003 or a standard), a seed inconsistency (S1–S5) or a decision (D-…).
CATALOGUE = "rules/inputs/inputs.yaml"
CITES = re.compile(r"\b00[0-3]\b|GB/?T|\bS[1-9]\b|\bD-[A-Z0-9]+")


@dataclass(frozen=True)
class Problem:
    """One reason a draft is refused: where (edition, item, field) and why, in Chinese and English."""

    edition: str
    item: str
    field: str
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        where = f"edition {self.edition}" + (f", item {self.item}" if self.item else "") + f", field {self.field}"
        return f"{where}: {self.message_en} / {self.message_zh}"


class SchemeTotals(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Decimal | None = None
    bonus: Decimal | None = None
    category_points: bool = False
    weights: Decimal | None = None
    basis: str


@dataclass
class Draft:
    """A rulebook file as the bureau wrote it: the rulebook (when it parses) and its own cases."""

    path: Path
    raw: dict[str, Any]
    rulebook: Rulebook | None
    cases: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def edition(self, name: str | None = None) -> Edition:
        """The named edition, else the one with the latest effective date (the draft)."""
        assert self.rulebook is not None
        if name:
            return self.rulebook.edition_named(name)
        return max(self.rulebook.editions, key=lambda e: e.effective_from)


def load_draft(path: Path) -> Draft:
    """Read a draft rulebook file; schema problems are named by edition, item and field, never raised."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return Draft(path, {}, None, problems=[Problem("-", "", "-", f"无法读取：{exc}", f"cannot read: {exc}")])
    return parse_draft(raw, str(path))


def parse_draft(raw: Any, source: str) -> Draft:
    """A draft from its parsed YAML (or a JSON body): the rulebook, its own cases, or its problems."""
    if not isinstance(raw, dict):
        zh, en = "文件应为一个规则集（scheme、editions …）", "the file should hold one rulebook (scheme, editions, …)"
        return Draft(Path(source), {}, None, problems=[Problem("-", "", "-", zh, en)])
    raw = dict(raw)
    cases = raw.pop("cases", None) or []
    try:
        rulebook = Rulebook.model_validate(raw)
    except ValidationError as exc:
        return Draft(Path(source), raw, None, cases, [_schema_problem(raw, e) for e in exc.errors()])
    return Draft(Path(source), raw, rulebook, cases if isinstance(cases, list) else [])


def _schema_problem(raw: dict[str, Any], error: Any) -> Problem:
    loc = list(error.get("loc", ()))
    edition, item, rest = "-", "", loc
    if len(loc) >= 2 and loc[0] == "editions" and isinstance(loc[1], int):
        ed = _at(raw, ["editions", loc[1]])
        edition = str(ed.get("edition", f"editions[{loc[1]}]")) if isinstance(ed, dict) else f"editions[{loc[1]}]"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "items" and isinstance(rest[1], int):
            it = _at(raw, ["editions", loc[1], "items", rest[1]])
            item = str(it.get("id", f"items[{rest[1]}]")) if isinstance(it, dict) else f"items[{rest[1]}]"
            rest = rest[2:]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".") or "-"
    formula = (error.get("ctx") or {}).get("error")
    if isinstance(formula, FormulaError):  # a formula the language refuses: its field, both languages
        where = formula.field if path == "-" else f"{path}.{formula.field}"
        return Problem(edition, item, where, f"公式无效：{formula.message_zh}", f"bad formula: {formula.message_en}")
    message = str(error.get("msg", "invalid"))
    return Problem(edition, item, path, f"不符合规则集格式：{message}", message)


def _at(raw: Any, path: list[Any]) -> Any:
    for p in path:
        try:
            raw = raw[p]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


# ----- check -------------------------------------------------------------------------------------


class Checker:
    """Checks editions against the catalogue, the scheme's totals and the benchmarks; runs draft cases."""

    def __init__(self, library: RuleLibrary, rules_dir: Path) -> None:
        self.library = library
        self.inputs: set[str] = set(library.inputs.inputs)
        totals = yaml.safe_load((rules_dir / "totals.yaml").read_text(encoding="utf-8"))
        self.totals = {Scheme(k): SchemeTotals.model_validate(v) for k, v in totals.items()}
        self.indicators = {i for b in benchmark_editions(library) for ind in b.industries.values() for i in ind}

    def check(self, draft: Draft, only: str | None = None) -> list[Problem]:
        """Every problem of the draft's editions (or of edition ``only``), then of its cases."""
        if draft.rulebook is None:
            return draft.problems
        book = draft.rulebook
        problems: list[Problem] = []
        for edition in book.editions:
            if only is None or edition.edition == only:
                problems += self.check_edition(book.scheme, edition)
        if not problems:
            problems += self.run_cases(book.scheme, draft)
        return problems

    def check_edition(self, scheme: Scheme, edition: Edition) -> list[Problem]:
        out: list[Problem] = []
        name = edition.edition

        def bad(item: str, where: str, zh: str, en: str) -> None:
            out.append(Problem(name, item, where, zh, en))

        for item in edition.items:
            if not CITES.search(item.basis):
                bad(item.id, "basis", f"未注明依据条款（“{item.basis}”）", f"no clause cited ({item.basis!r})")
            for rule, prefix in _rules(item):
                self._check_rule(item, rule, prefix, bad)
            self._check_points(item, bad)
        for label, basis in (
            ("levels.basis", edition.levels.basis if edition.levels else None),
            ("passing.basis", edition.passing.basis if edition.passing else None),
            ("gate.basis", edition.gate.basis if edition.gate else None),
        ):
            if basis is not None and not CITES.search(basis):
                bad("", label, f"未注明依据条款（“{basis}”）", f"no clause cited ({basis!r})")
        for i, check in enumerate(edition.checks):
            if not CITES.search(check.basis) and "DOMAIN" not in check.basis:
                bad("", f"checks[{i}].basis", "未注明依据条款", "no clause cited")
            for key, expr in check.derive.items():
                try:
                    names = parse(expr).names
                except ExpressionError as exc:  # the model refuses these first; an Edition built in code may not
                    where = f"checks[{i}].derive.{key}"
                    bad("", where, f"公式无效：{exc.message_zh}", f"bad formula: {exc.message_en}")
                    continue
                for n in names:
                    if n not in self.inputs and n not in check.derive:
                        bad("", f"checks[{i}].derive", f"未定义的输入 {n}", f"input {n} is not in {CATALOGUE}")
        if edition.gate is not None:
            for option in edition.gate.any_of:
                for n in option:
                    if n not in self.inputs:
                        bad("", "gate.any_of", f"未定义的输入 {n}", f"input {n} is not defined in {CATALOGUE}")
        self._check_totals(scheme, edition, bad)
        return out

    def _check_rule(self, item: Item, rule: Item | Part, prefix: str, bad: Any) -> None:
        derived = list(rule.derive)
        reads: list[str] = [*rule.inputs, *rule.optional]
        for key, expr in rule.derive.items():
            try:
                names = parse(expr).names
            except ExpressionError as exc:
                bad(item.id, f"{prefix}derive.{key}", f"公式无效：{exc.message_zh}", f"bad formula: {exc.message_en}")
                continue
            reads += [n for n in names if n not in derived]
        if item.applies_if:
            reads.append(item.applies_if)
        for n in dict.fromkeys(reads):
            if n not in self.inputs:
                where = (
                    f"{prefix}inputs"
                    if n in rule.inputs
                    else f"{prefix}derive"
                    if n not in rule.optional
                    else f"{prefix}optional"
                )
                bad(
                    item.id,
                    where,
                    f"未定义的输入 {n}（请先在 rules/inputs/inputs.yaml 中登记）",
                    f"input {n} is not defined in rules/inputs/inputs.yaml",
                )
        fields = set(reads) | set(derived)
        for i, case in enumerate(rule.cases):
            for n in case.when:
                if n not in fields:
                    bad(
                        item.id,
                        f"{prefix}cases[{i}].when.{n}",
                        f"条件所用的 {n} 不是本项的输入或推导值",
                        f"{n} is neither an input nor a derived value of this item",
                    )
            then = case.then
            for kind, spec in (("linear", then.linear), ("inverse", then.inverse)):
                if spec is None:
                    continue
                of = spec.get("of")
                if of not in fields:
                    bad(
                        item.id,
                        f"{prefix}cases[{i}].then.{kind}.of",
                        f"{of} 不是本项的输入或推导值",
                        f"{of} is neither an input nor a derived value of this item",
                    )
                if kind == "linear" and _num(spec.get("zero_at")) == _num(spec.get("full_at")):
                    bad(item.id, f"{prefix}cases[{i}].then.linear", "零分点与满分点相同", "zero_at equals full_at")
        gap = _gap(rule)
        if gap is not None:
            name, value = gap
            bad(
                item.id,
                f"{prefix}cases",
                f"{name} = {value} 时没有任何情形成立（分段之间有空档）",
                f"no case holds when {name} = {value} (the cases leave a gap)",
            )
        if item.method == "industry_position":
            indicator = item.params.get("indicator")
            if indicator not in self.indicators:
                bad(
                    item.id,
                    "params.indicator",
                    f"基准数据中没有指标 {indicator}",
                    f"no benchmark edition has the indicator {indicator!r}",
                )
            if item.params.get("direction") not in ("higher_is_better", "lower_is_better"):
                bad(
                    item.id,
                    "params.direction",
                    "应为 higher_is_better 或 lower_is_better",
                    "should be higher_is_better or lower_is_better",
                )
        if item.method == "checklist" and (len(item.inputs) != 1 or not item.params.get("boxes")):
            bad(item.id, "params.boxes", "勾选项应有一个输入和选项", "a checklist needs one input and its boxes")

    def _check_points(self, item: Item, bad: Any) -> None:
        for rule, prefix in _rules(item):
            top = rule.max
            if top > item.max:
                bad(
                    item.id,
                    f"{prefix}max",
                    f"分项满分 {top} 超过本项满分 {item.max}",
                    f"the part's maximum {top} exceeds the item's {item.max}",
                )
            for i, case in enumerate(rule.cases):
                points = case.then.points
                if points is not None and not ZERO <= points <= top:
                    bad(
                        item.id,
                        f"{prefix}cases[{i}].then.points",
                        f"分值 {points} 超出 0–{top}",
                        f"points {points} outside 0..{top}",
                    )
        boxes = item.params.get("boxes") if item.method == "checklist" else None
        for box, points in (boxes or {}).items():
            if not ZERO <= _num(points) <= item.max:
                bad(
                    item.id,
                    f"params.boxes.{box}",
                    f"分值 {points} 超出 0–{item.max}",
                    f"points {points} outside 0..{item.max}",
                )
        for key in ("cap",):
            if key in item.params and _num(item.params[key]) > item.max:
                bad(
                    item.id,
                    f"params.{key}",
                    f"上限 {item.params[key]} 超过本项满分 {item.max}",
                    f"{key} {item.params[key]} exceeds the item's maximum {item.max}",
                )
        for p in item.params.get("expert_points", []) or []:
            if not ZERO <= _num(p) <= item.max:
                bad(
                    item.id,
                    "params.expert_points",
                    f"专家分值 {p} 超出 0–{item.max}",
                    f"expert points {p} outside 0..{item.max}",
                )

    def _check_totals(self, scheme: Scheme, edition: Edition, bad: Any) -> None:
        rule = self.totals.get(scheme)
        if rule is None:
            return
        base = sum((i.max for i in edition.items if not i.bonus), ZERO)
        bonus = sum((i.max for i in edition.items if i.bonus), ZERO)
        if rule.base is not None and base != rule.base:
            bad(
                "",
                "items.max",
                f"基础指标满分合计 {base}，应为 {rule.base}（{rule.basis}）",
                f"the base items' maxima add up to {base}, not {rule.base} ({rule.basis})",
            )
        if rule.bonus is not None and bonus != rule.bonus:
            bad(
                "",
                "items.max (bonus)",
                f"加分项满分合计 {bonus}，应为 {rule.bonus}（{rule.basis}）",
                f"the bonus items' maxima add up to {bonus}, not {rule.bonus} ({rule.basis})",
            )
        if rule.category_points:
            for cat in edition.categories:
                got = sum((i.max for i in edition.items if i.category == cat.id), ZERO)
                if got != cat.points:
                    bad(
                        "",
                        f"categories.{cat.id}",
                        f"{cat.name_zh} 各项满分合计 {got}，应为 {cat.points}（{rule.basis}）",
                        f"category {cat.id}'s items add up to {got}, not {cat.points} ({rule.basis})",
                    )
        if rule.weights is not None and sum((c.weight for c in edition.categories), ZERO) != rule.weights:
            got = sum((c.weight for c in edition.categories), ZERO)
            bad(
                "",
                "categories.weight",
                f"权重合计 {got}，应为 {rule.weights}（{rule.basis}）",
                f"the categories' weights add up to {got}, not {rule.weights} ({rule.basis})",
            )
        if edition.levels is not None:
            ordered = sorted(edition.levels.thresholds, key=lambda t: t.level)
            if len({t.level for t in ordered}) != len(ordered):
                bad("", "levels.thresholds", "等级重复", "a level is listed twice")
            for low, high in pairwise(ordered):
                if high.min_total <= low.min_total:
                    bad(
                        "",
                        f"levels.level {high.level}.min_total",
                        f"{high.level} 级门槛 {high.min_total} 应高于 {low.level} 级的 {low.min_total}",
                        f"level {high.level}'s threshold {high.min_total} must exceed level {low.level}'s "
                        f"{low.min_total}",
                    )
            top = base + bonus
            for t in ordered:
                if t.min_total > top:
                    bad(
                        "",
                        f"levels.level {t.level}.min_total",
                        f"门槛 {t.min_total} 高于可得最高分 {top}",
                        f"threshold {t.min_total} is above the most a unit can score ({top})",
                    )
        if edition.passing is not None:
            top = sum((c.points * c.weight for c in edition.categories), ZERO) if edition.categories else base + bonus
            if edition.passing.min_total > top:
                bad(
                    "",
                    "passing.min_total",
                    f"通过分数 {edition.passing.min_total} 高于可得最高分 {top}",
                    f"the pass mark {edition.passing.min_total} is above the most a unit can score ({top})",
                )

    def run_cases(self, scheme: Scheme, draft: Draft) -> list[Problem]:
        """The draft's own cases, through durable_rules and the reference, under the edition they name."""
        out: list[Problem] = []
        if not draft.cases or draft.rulebook is None:
            return out
        rulebooks = {**self.library.rulebooks, scheme: draft.rulebook}
        library = RuleLibrary(
            rulebooks, self.library.eligibility, benchmark_editions(self.library), self.library.inputs
        )
        engine = RulesEngine(library)
        for i, raw in enumerate(draft.cases):
            try:
                case = RuleCase(
                    scheme=scheme,
                    file=str(draft.path.name),
                    name=str(raw["name"]),
                    on=raw["as_of"] if isinstance(raw["as_of"], date) else date.fromisoformat(str(raw["as_of"])),
                    input=dict(raw.get("input") or {}),
                    expect=dict(raw["expect"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                out.append(Problem("-", "", f"cases[{i}]", f"用例格式有误：{exc}", f"malformed case: {exc}"))
                continue
            try:
                edition = library.rulebook(scheme).edition_for(case.on).edition
            except UnknownEdition:
                edition = "-"
            for label, run in (
                ("engine", engine.evaluate),
                ("reference", lambda s, d, x, lib=library: reference.evaluate(lib, s, d, x)),
            ):
                try:
                    found = outcome(case, run)
                except (UnknownEdition, reference.RuleError) as exc:
                    found = [f"{type(exc).__name__}: {exc}"]
                for m in found:
                    out.append(
                        Problem(
                            edition,
                            "",
                            f"cases[{i}] {case.name}",
                            f"用例未通过（{label}）：{m}",
                            f"case fails ({label}): {m}",
                        )
                    )
        return out


def _gap(rule: Item | Part) -> tuple[str, Decimal] | None:
    """A value of the one number a rule's cases compare at which no case holds (at, and a hair either side of,
    every constant they name); None when they cover it, or compare more than one field or anything but numbers."""
    fields = {name for case in rule.cases for name in case.when}
    if len(fields) != 1 or not rule.cases:
        return None
    (name,) = fields
    constants = [c for case in rule.cases for c in case.when.get(name, {}).values() if isinstance(c, Decimal)]
    if len(constants) != sum(len(case.when.get(name, {})) for case in rule.cases):
        return None  # a yes/no or a word: nothing between
    hair = Decimal("1e-9")
    probes = sorted({max(ZERO, c + d) for c in constants for d in (-hair, ZERO, hair)} | {ZERO})
    for value in probes:
        if not any(matches(case, {name: value}) for case in rule.cases):
            return name, value
    return None


def _rules(item: Item) -> Iterator[tuple[Item | Part, str]]:
    if item.method == "parts":
        for i, p in enumerate(item.parts):
            yield p, f"parts[{i}]."
    else:
        yield item, ""


def _num(raw: Any) -> Decimal:
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        return Decimal("NaN")


# ----- diff --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One value that differs between two editions."""

    item: str  # item id, or "" for the edition's own settings (levels, pass, categories, gate)
    path: str
    before: Any
    after: Any


@dataclass
class EditionDiff:
    before: str
    after: str
    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    same: frozenset[str] = frozenset()  # items defined identically in both (the what-if reuses their outcomes)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(before: Edition, after: Edition) -> EditionDiff:
    """What changed from ``before`` to ``after``: items added, removed and changed, and the edition's settings."""
    out = EditionDiff(before=before.edition, after=after.edition)
    a = {i.id: i for i in before.items}
    b = {i.id: i for i in after.items}
    out.added = [b[k] for k in b if k not in a]
    out.removed = [a[k] for k in a if k not in b]
    same = set()
    for key in a:
        if key not in b:
            continue
        left, right = _flat(a[key].model_dump(mode="json")), _flat(b[key].model_dump(mode="json"))
        changes = [Change(key, p, left.get(p), right.get(p)) for p in _keys(left, right) if left.get(p) != right.get(p)]
        out.changed += changes
        if not changes:
            same.add(key)
    out.same = frozenset(same)
    settings = ("levels", "passing", "gate", "categories", "checks")
    left = _flat({k: _keyed(k, before.model_dump(mode="json")[k]) for k in settings})
    right = _flat({k: _keyed(k, after.model_dump(mode="json")[k]) for k in settings})
    out.changed += [Change("", p, left.get(p), right.get(p)) for p in _keys(left, right) if left.get(p) != right.get(p)]
    return out


def _keyed(section: str, value: Any) -> Any:
    """Lists whose entries have a natural key are compared by it (level 4, category C1), not by position."""
    if section == "levels" and isinstance(value, dict):
        return {**value, "thresholds": {f"level {t['level']}": t["min_total"] for t in value.get("thresholds", [])}}
    if section == "categories" and isinstance(value, list):
        return {c["id"]: c for c in value}
    return value


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _keys(left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys([*left, *right]))


# ----- snapshots: replay by version ---------------------------------------------------------------


class Snapshot(BaseModel):
    """Everything a rulebook version hashes: evaluations scored by it can be scored again exactly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    scheme: Scheme
    edition: dict[str, Any]
    benchmarks: dict[str, Any]
    eligibility: dict[str, Any]
    inputs: dict[str, Any]

    def library(self) -> RuleLibrary:
        """A library holding exactly this edition, benchmark edition and eligibility; its version is checked."""
        edition = Edition.model_validate(self.edition)
        benchmarks = BenchmarkEdition.model_validate(self.benchmarks)
        book = Rulebook(scheme=self.scheme, name_zh=self.scheme.value, name_en=self.scheme.value, editions=[edition])
        eligibility = Eligibility.model_validate(self.eligibility)
        library = RuleLibrary({self.scheme: book}, eligibility, [benchmarks], Catalogue.model_validate(self.inputs))
        again = library.version(edition, benchmarks)
        if again != self.version:
            raise ValueError(f"snapshot {self.version} hashes to {again}: it was altered")
        return library


def snapshot(library: RuleLibrary, scheme: Scheme, edition: Edition, as_of: date) -> Snapshot:
    """The snapshot of what an evaluation of ``scheme`` as of ``as_of`` under ``edition`` used."""
    benchmarks = library.benchmarks_for(as_of)
    return Snapshot(
        version=library.version(edition, benchmarks),
        scheme=scheme,
        edition=plain(edition),
        benchmarks=plain(benchmarks),
        eligibility=plain(library.eligibility),
        inputs=plain(library.inputs),
    )


def plain(value: Any) -> Any:
    """Rule data as JSON that validates back to the same models: numbers stay numbers.

    (pydantic's JSON mode writes Decimals as strings, and a condition's constant may be a number or a
    word: "5" would come back as the word "5".)
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Decimal):
        # The rulebooks' numbers come from YAML: 3 and 3.0 read back as they were written, so must be written so.
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# ----- publishing --------------------------------------------------------------------------------


class PublishRefused(ValueError):
    """The edition cannot be published; ``problems`` name why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def refuse(edition: str, field_name: str, zh: str, en: str) -> PublishRefused:
    return PublishRefused([Problem(edition, "", field_name, zh, en)])


def publishable(current: Rulebook, edition: Edition, effective_from: date, today: date, reason: str) -> Edition:
    """The edition as it will be published (with its effective date), or PublishRefused naming why not."""
    name = edition.edition
    if any(e.edition == name for e in current.editions):
        raise refuse(name, "edition", f"已有同名版本 {name}", f"an edition named {name!r} is already published")
    if effective_from < today:
        zh = f"生效日期 {effective_from} 早于今天：已作出的评价不追溯变更"
        raise refuse(
            name, "effective_from", zh, f"effective date {effective_from} is in the past: no retroactive rules"
        )
    if any(e.effective_from == effective_from for e in current.editions):
        zh, en = f"{effective_from} 已有版本生效", f"an edition already takes effect on {effective_from}"
        raise refuse(name, "effective_from", zh, en)
    if len(reason.strip()) < 4:
        raise refuse(name, "reason", "请说明发布理由", "give the reason for publishing")
    return edition.model_copy(update={"effective_from": effective_from})


def append_edition(path: Path, edition: Edition) -> None:
    """Add ``edition`` to the rulebook file at ``path``, keeping the file as the bureau wrote it.

    The editions list is the file's last key: the edition is appended to it as YAML. The file is read
    back; if it does not hold the edition exactly, the old text is restored and ValueError raised.
    """
    before = path.read_text(encoding="utf-8")
    data = plain(edition.model_dump(mode="python", exclude_defaults=True))
    block = yaml.safe_dump([data], allow_unicode=True, sort_keys=False, width=120)
    indented = "".join(f"  {line}" if line.strip() else line for line in block.splitlines(keepends=True))
    stamp = (
        f"\n  # Published {date.today().isoformat()}: edition {edition.edition}, effective {edition.effective_from}.\n"
    )
    path.write_text(before.rstrip("\n") + "\n" + stamp + indented, encoding="utf-8")
    try:
        book = Rulebook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if book.edition_named(edition.edition) != edition:
            raise ValueError("the edition reads back differently")
    except (ValueError, UnknownEdition, yaml.YAMLError) as exc:
        path.write_text(before, encoding="utf-8")
        raise ValueError(f"{path}: could not add the edition ({exc}); the file is unchanged") from exc
