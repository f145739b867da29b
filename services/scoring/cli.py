"""`greenfab score` and `greenfab rules …`: the scoring engine from the command line."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.evaluation import Evaluation
from contracts.http import DeclarationCreate
from contracts.schemes import SCHEME_LABELS, Scheme
from greenfab.bodies import BodyError, parse_json
from greenfab.http import field_errors
from greenfab.terminal import table
from services.scoring.cases import load_cases, outcome
from services.scoring.domain import reference
from services.scoring.domain.expressions import ExpressionError
from services.scoring.domain.facts import InputError
from services.scoring.domain.reference import RuleError
from services.scoring.domain.rulebook import RuleLibrary, UnknownEdition, Version
from services.scoring.engine import RulesEngine
from services.scoring.settings import REPO_RULES

STATUS_ZH = {"scored": "已评分", "needs_expert": "待专家评定", "missing_input": "缺少输入", "not_applicable": "不适用"}


def render(result: Evaluation) -> str:
    rows = [
        [
            i.id,
            i.name_zh,
            "—" if i.points is None else str(i.points),
            str(i.max),
            STATUS_ZH[i.status],
            i.explanation,
        ]
        for i in result.items
    ]
    out = [
        f"{SCHEME_LABELS[result.scheme]}（{result.scheme.value}）版本 {result.edition}，"
        f"规则 {result.rulebook_version}，"
        f"评价日期 {result.as_of}",
        table(rows, ["编号", "指标", "得分", "满分", "状态", "说明"]),
    ]
    for c in result.categories:
        out.append(f"  {c.name_zh}: {c.points} × {c.weight} = {c.weighted}")
    summary = f"总分 {result.total}" + ("（暂定，待专家评定或补充输入）" if result.provisional else "")
    if result.level is not None:
        summary += f"；等级 {result.level} 级"
    if result.passed is not None:
        summary += "；通过" if result.passed else "；未通过"
    out.append(summary)
    if result.verdict_zh:
        out.append(f"结论：{result.verdict_zh}")
    if result.failing_basic:
        out.append("未满足的基本要求：" + "、".join(result.failing_basic))
    for v in result.vetoes:
        out.append(f"否决 {v.code}（{v.clause}）：{v.evidence}" + (f"，期间 {v.window}" if v.window else "")
                   + ("［原则性要求，可说明理由后例外处理］" if v.overridable else ""))  # fmt: skip
    for f in result.flags:
        out.append(f"提示 {f.code}：{f.detail}")
    return "\n".join(out)


def fail(message: str) -> int:
    print(f"greenfab: {message}", file=sys.stderr)
    return 2


def cmd_score(scheme_name: str, on: str | None, path: Path, fmt: str, engine_kind: str, rules_dir: Path | None) -> int:
    try:
        scheme = Scheme(scheme_name)
    except ValueError:
        return fail(f"unknown scheme {scheme_name!r}; one of {[s.value for s in Scheme]}")
    try:
        raw = parse_json(path.read_bytes())
    except OSError as exc:
        return fail(f"cannot read {path}: {exc}")
    except BodyError as exc:
        return fail(f"cannot read {path}: " + "; ".join(f"{e.path}: {e.message_en}" for e in exc.problem.errors))
    if not isinstance(raw, dict):
        return fail(f"{path}: should hold a JSON object (a declaration, or its data)")
    if "uscc" in raw or "data" in raw:
        # A whole declaration is held to what intake holds it to (the USCC's check character included).
        try:
            DeclarationCreate.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{e.path} ({e.code}): {e.message_en}" for e in field_errors(list(exc.errors())))
            return fail(f"{path} is not a valid declaration: {problems}")
    data: Any = raw.get("data", raw)
    if "scheme" in raw and raw["scheme"] != scheme.value:
        return fail(f"{path} is a {raw['scheme']} declaration, not {scheme.value}")
    if not isinstance(data, dict):
        return fail(f"{path}: data should be a JSON object")
    try:
        as_of = date.fromisoformat(on or str(raw.get("declared_on") or date.today()))
    except ValueError:
        return fail(f"--on {on!r} is not a date (YYYY-MM-DD)")
    try:
        library = RuleLibrary.load(rules_dir or REPO_RULES)
        if engine_kind == "reference":
            result = reference.evaluate(library, scheme, as_of, data)
        else:
            result = RulesEngine(library).evaluate(scheme, as_of, data)
    except InputError as exc:
        return fail(f"input {exc.field}: {exc.reason}")
    except (UnknownEdition, RuleError, ExpressionError, ValidationError) as exc:
        return fail(str(exc))
    print(render(result) if fmt == "table" else result.model_dump_json(indent=2))
    return 0


def _applies(v: Version) -> str:
    return f"{v.applies_from} …" + (f" {v.applies_until}" if v.applies_until else "")


def cmd_rules_list(rules_dir: Path | None) -> int:
    """Every edition with each benchmark edition it is used with: the versions evaluations record.

    One table per scheme; a version names the rulebook edition and the benchmark edition
    (``<edition>+<benchmarks>@sha256:…``) and is printed whole, as evaluations record it.
    """
    library = RuleLibrary.load(rules_dir or REPO_RULES)
    for scheme, book in library.rulebooks.items():
        rows = [[_applies(v), str(len(v.edition.items)), v.version] for v in library.versions(scheme)]
        print(f"{scheme.value}  {book.name_zh}")
        print(table(rows, ["applies to declarations", "items", "version"], whole=("version",)))
        print()
    return 0


def cmd_rules_show(spec: str, rules_dir: Path | None) -> int:
    """SCHEME, SCHEME@EDITION, or a version an evaluation recorded (EDITION+BENCHMARKS@sha256:…)."""
    try:
        library = RuleLibrary.load(rules_dir or REPO_RULES)
        if "@sha256:" in spec:
            found = library.find_version(spec)
            scheme, edition = found.scheme, found.edition
        else:
            name, _, edition_name = spec.partition("@")
            scheme = Scheme(name)
            book = library.rulebook(scheme)
            edition = book.edition_named(edition_name) if edition_name else book.edition_for(date.today())
    except ValueError:
        return fail(f"unknown scheme {spec.partition('@')[0]!r}; one of {[s.value for s in Scheme]}")
    except UnknownEdition as exc:
        return fail(str(exc))
    book = library.rulebook(scheme)
    print(f"{book.name_zh} {edition.edition}（自 {edition.effective_from} 起）{edition.source or ''}")
    for v in library.versions(scheme):
        if v.edition is edition:
            print(f"version {v.version}: with benchmarks {v.benchmarks.edition}, declarations {_applies(v)}")
    rows = [
        [i.id, i.name_zh, str(i.max), i.method, i.requirement or ("加分" if i.bonus else ""), i.basis]
        for i in edition.items
    ]
    print(table(rows, ["编号", "指标", "满分", "方法", "类型", "依据"]))
    for code, text in edition.inconsistencies.items():
        print(f"{code}: {text}")
    return 0


def cmd_rules_test(rules_dir: Path | None) -> int:
    root = rules_dir or REPO_RULES
    library = RuleLibrary.load(root)
    engine = RulesEngine(library)
    failed = 0
    cases = load_cases(root)
    for case in cases:
        problems: list[str] = []
        for label, run in (
            ("engine", engine.evaluate),
            ("reference", lambda s, d, i: reference.evaluate(library, s, d, i)),
        ):
            try:
                problems += [f"[{label}] {p}" for p in outcome(case, run)]
            except (UnknownEdition, RuleError) as exc:
                problems.append(f"[{label}] {type(exc).__name__}: {exc}")
        mark = "✓" if not problems else "✗"
        print(f"{mark} {case.file}: {case.name}")
        for p in problems:
            print(f"    {p}")
        failed += bool(problems)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0
