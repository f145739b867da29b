"""`greenfab advise`, `whatif`, `registry generate` and `rules check|diff|publish|replay`: the work behind them."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from contracts.advice import Advice
from contracts.schemes import SCHEME_LABELS, Scheme
from greenfab.terminal import table
from services.scoring.domain.facts import InputError
from services.scoring.domain.rulebook import Edition, RuleLibrary, UnknownEdition
from services.scoring.editions import Checker, Draft, Problem, diff, load_draft
from services.scoring.settings import REPO_RULES


def fail(message: str) -> int:
    print(f"greenfab: {message}", file=sys.stderr)
    return 2


def _problems(problems: list[Problem]) -> None:
    for p in problems:
        print(f"  ✗ {p}", file=sys.stderr)


# ----- advise ------------------------------------------------------------------------------------


def cmd_advise(a: argparse.Namespace) -> int:
    try:
        target = Decimal(a.target) if a.target else None
    except InvalidOperation:
        return fail(f"--target {a.target!r} is not a number")
    if a.unit:
        advice = _advice_from_stack(a, target)
        if isinstance(advice, int):
            return advice
    elif a.file:
        got = _advice_from_file(a, target)
        if isinstance(got, int):
            return got
        advice = got
    else:
        return fail("give a declaration file, or --unit USCC for a unit's latest declaration in the running stack")
    print(advice.model_dump_json(indent=2) if a.format == "json" else render_advice(advice))
    return 0


def _advice_from_file(a: argparse.Namespace, target: Decimal | None) -> Advice | int:
    from services.scoring.advice_data import AdviceData
    from services.scoring.advisor import Advisor

    try:
        raw = json.loads(a.file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return fail(f"cannot read {a.file}: {exc}")
    if not isinstance(raw, dict) or not isinstance(raw.get("data", raw), dict):
        return fail(f"{a.file}: should hold a declaration (or its data) as a JSON object")
    name = a.scheme or raw.get("scheme")
    try:
        scheme = Scheme(str(name))
    except ValueError:
        return fail(f"unknown scheme {name!r}; give --scheme, one of {[s.value for s in Scheme]}")
    try:
        as_of = date.fromisoformat(a.on or str(raw.get("declared_on") or date.today()))
    except ValueError:
        return fail(f"--on {a.on!r} is not a date (YYYY-MM-DD)")
    rules = a.rules or REPO_RULES
    try:
        advisor = Advisor(RuleLibrary.load(rules), AdviceData.load(rules))
        return advisor.advise(scheme, as_of, raw.get("data", raw), level=a.level, target=target)
    except InputError as exc:
        return fail(f"input {exc.field}: {exc.reason}")
    except UnknownEdition as exc:
        return fail(str(exc))


def _advice_from_stack(a: argparse.Namespace, target: Decimal | None) -> Advice | int:
    params: dict[str, Any] = {"scheme": a.scheme or "grading"}
    if a.level:
        params["level"] = a.level
    if target is not None:
        params["target"] = str(target)
    answer = _call("GET", a, f"/v1/units/{a.unit}/advice", params=params)
    if isinstance(answer, int):
        return answer
    return Advice.model_validate(answer)


def render_advice(advice: Advice) -> str:
    out = [
        f"{SCHEME_LABELS[advice.scheme]}（{advice.scheme.value}）版本 {advice.edition}，"
        f"规则 {advice.rulebook_version}，评价日期 {advice.as_of}"
        + (f"；单位 {advice.uscc} {advice.enterprise_name or ''}" if advice.uscc else ""),
        f"现状：总分 {advice.total}"
        + (f"，{advice.level} 级" if advice.level else "")
        + ("，通过" if advice.passed else "，未通过" if advice.passed is False else "")
        + ("（暂定）" if advice.provisional else ""),
    ]
    t = advice.target
    if t is not None:
        goal = {
            "level": f"{t.level} 级（总分 ≥ {t.min_total}）",
            "pass": f"通过（总分 ≥ {t.min_total} 且满足全部基本要求）",
            "score": f"目标总分 {t.min_total}",
        }[t.kind]
        out.append(f"目标：{goal}，尚差 {t.short_by.quantize(Decimal('0.01'))} 分（{t.basis}）")
    plan = advice.plan
    if plan is not None:
        verdict = "引擎复核：达到目标" if plan.reaches_target else "引擎复核：未达到目标"
        after = f"总分 {plan.total_after}" + (f"，{plan.level_after} 级" if plan.level_after else "")
        after += "，通过" if plan.passed_after else ""
        out.append(f"\n最省力的方案（工作量 {plan.effort}）：{after}；{verdict}")
        out += [f"  {i}. {c.text_zh}" for i, c in enumerate(plan.changes, 1)]
    elif t is not None and t.short_by > 0:
        out.append("\n未找到可达到目标的方案（可调整的指标不足，见下表和不可调整事项）")
    rows = []
    for item in advice.items:
        best = item.options[0].text_zh if item.options else item.why_not_zh
        points = "—" if item.points is None else str(item.points)
        rows.append([item.id, item.name_zh[:16], f"{points}/{item.max}", str(item.available), best[:90]])
    out.append("\n" + table(rows, ["编号", "指标", "得分/满分", "可得", "可行的调整（引擎计分）"]))
    for b in advice.blockers:
        kind = {"expert": "专家评定", "veto": "否决", "missing_input": "缺少输入", "gate": "申报条件"}[b.kind]
        until = f"；自 {b.until} 起不再计入" if b.until and "不再计入" not in b.detail_zh else ""
        out.append(f"不可调整［{kind}］{b.code}（{b.clause}）：{b.detail_zh}{until}")
    out += [f"提示：{n}" for n in advice.notes_zh]
    out.append(f"（用时 {advice.elapsed_ms} ms）")
    return "\n".join(out)


# ----- talking to the running stack --------------------------------------------------------------


def _base_url(a: argparse.Namespace) -> str:
    # The shell (greenfab_cli) hands over how to find the running stack: a service's command knows no launcher.
    return str(a.url or a.stack_url()).rstrip("/")


def _token(a: argparse.Namespace) -> str:
    return str(a.token or a.stack_token())


def _call(method: str, a: argparse.Namespace, path: str, **kwargs: Any) -> Any:
    url = _base_url(a) + path
    try:
        r = httpx.request(method, url, headers={"Authorization": f"Bearer {_token(a)}"}, timeout=300, **kwargs)
    except httpx.HTTPError as exc:
        return fail(f"cannot reach the scoring API at {url} ({exc}); is the stack up (`greenfab up`)?")
    if r.status_code >= 400:
        try:
            problem = r.json()
            print(f"greenfab: {r.status_code} {problem.get('title')}: {problem.get('detail') or ''}", file=sys.stderr)
            for e in problem.get("errors", []):
                print(f"  ✗ {e.get('path')}: {e.get('message_en')} / {e.get('message_zh')}", file=sys.stderr)
        except ValueError:
            print(f"greenfab: {r.status_code} {r.text[:500]}", file=sys.stderr)
        return 1
    return r.json()


# ----- rules check / diff / publish / replay -----------------------------------------------------


def _repo_drafts(rules: Path) -> list[Draft]:
    drafts = []
    for scheme in Scheme:
        path = rules / scheme.value / "rulebook.yaml"
        if not path.exists():
            continue
        draft = load_draft(path)
        for case_file in sorted((rules / scheme.value / "cases").glob("*.yaml")):
            draft.cases += yaml.safe_load(case_file.read_text(encoding="utf-8")) or []
        drafts.append(draft)
    return drafts


def cmd_rules_check(a: argparse.Namespace) -> int:
    rules = a.rules or REPO_RULES
    checker = Checker(RuleLibrary.load(rules), rules)
    drafts = [load_draft(f) for f in a.files] if a.files else _repo_drafts(rules)
    failed = 0
    for draft in drafts:
        problems = checker.check(draft)
        name = draft.rulebook.scheme.value if draft.rulebook else "?"
        editions = ", ".join(e.edition for e in draft.rulebook.editions) if draft.rulebook else "-"
        if problems:
            failed += 1
            print(f"✗ {draft.path} ({name}: {editions}): {len(problems)} problem(s) — refused", file=sys.stderr)
            _problems(problems)
        else:
            print(
                f"✓ {draft.path} ({name}: {editions}): schema, inputs, clauses, points, totals, "
                f"{len(draft.cases)} case(s)"
            )
    return 1 if failed else 0


def _edition_spec(spec: str, library: RuleLibrary) -> tuple[Scheme, Edition] | str:
    """SCHEME@EDITION (published) or FILE[@EDITION] (a draft)."""
    head, _, name = spec.rpartition("@") if "@" in spec else (spec, "", "")
    path = Path(head)
    if path.suffix in (".yaml", ".yml") or path.exists():
        draft = load_draft(path)
        if draft.rulebook is None:
            return f"{path}: " + "; ".join(str(p) for p in draft.problems)
        try:
            return draft.rulebook.scheme, draft.edition(name or None)
        except UnknownEdition as exc:
            return str(exc)
    try:
        scheme = Scheme(head)
        book = library.rulebook(scheme)
        return scheme, book.edition_named(name) if name else book.edition_for(date.today())
    except ValueError:
        return f"{spec!r} is neither SCHEME@EDITION nor a rulebook file"
    except UnknownEdition as exc:
        return str(exc)


def cmd_rules_diff(a: argparse.Namespace) -> int:
    library = RuleLibrary.load(a.rules or REPO_RULES)
    left, right = _edition_spec(a.before, library), _edition_spec(a.after, library)
    for side in (left, right):
        if isinstance(side, str):
            return fail(side)
    assert not isinstance(left, str) and not isinstance(right, str)
    if left[0] != right[0]:
        return fail(f"cannot compare a {left[0].value} edition with a {right[0].value} one")
    d = diff(left[1], right[1])
    if a.format == "json":
        print(
            json.dumps(
                {
                    "before": d.before,
                    "after": d.after,
                    "added": [i.id for i in d.added],
                    "removed": [i.id for i in d.removed],
                    "changed": [c.__dict__ for c in d.changed],
                },
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return 0
    print(f"{left[0].value}: {d.before} → {d.after}")
    for i in d.added:
        print(f"  + {i.id} {i.name_zh}（满分 {i.max}，{i.basis}）")
    for i in d.removed:
        print(f"  - {i.id} {i.name_zh}（满分 {i.max}）")
    rows = [[c.item or "（设置）", c.path, _short(c.before), _short(c.after)] for c in d.changed]
    if rows:
        print(table(rows, ["指标", "字段", "之前", "之后"]))
    if d.empty:
        print("  (no difference)")
    return 0


def _short(value: Any) -> str:
    text = "—" if value is None else json.dumps(value, ensure_ascii=False, default=str).strip('"')
    return text if len(text) <= 60 else text[:57] + "…"


def cmd_rules_publish(a: argparse.Namespace) -> int:
    try:
        raw = yaml.safe_load(a.file.read_text(encoding="utf-8"))
        effective = date.fromisoformat(a.effective_from)
    except (OSError, yaml.YAMLError) as exc:
        return fail(f"cannot read {a.file}: {exc}")
    except ValueError:
        return fail(f"--effective-from {a.effective_from!r} is not a date (YYYY-MM-DD)")
    body = {
        "rulebook": json.loads(json.dumps(raw, default=str)),
        "edition": a.edition,
        "effective_from": effective.isoformat(),
        "reason": a.reason,
    }
    answer = _call("POST", a, "/v1/rulebooks/publish", json=body)
    if isinstance(answer, int):
        return answer
    print(
        f"published {answer['scheme']} edition {answer['edition']}, effective {answer['effective_from']}, "
        f"version {answer['version']}, by {answer['published_by']} (on the audit record)"
    )
    return 0


def cmd_rules_replay(a: argparse.Namespace) -> int:
    from contracts.evaluation import Evaluation
    from greenfab.db import Database, make_engine
    from services.scoring import store
    from services.scoring.engine import RulesEngine
    from services.scoring.tables import StoredEvaluation

    url = a.database_url or f"sqlite+aiosqlite:///{(a.data_dir / 'scoring.db').resolve()}"
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return fail(f"no scoring store at {url.split('///', 1)[-1]}: start the stack or pass --database-url")

    async def read() -> tuple[StoredEvaluation | None, Any]:
        db = Database(make_engine(url))
        try:
            async with db.session() as s:
                row = await s.get(StoredEvaluation, a.submission_id)
            version = (row.result or {}).get("rulebook_version") if row else None
            return row, (await store.snapshot_of(db, version) if version else None)
        finally:
            await db.close()

    row, snap = asyncio.run(read())
    if row is None or row.result is None or row.data is None or row.declared_on is None:
        return fail(f"no stored evaluation {a.submission_id}")
    stored = Evaluation.model_validate(row.result)
    if snap is None:
        return fail(f"version {stored.rulebook_version} was not kept (scored before versions were kept)")
    replayed = RulesEngine(snap.library()).evaluate(snap.scheme, row.declared_on, row.data)
    same = replayed == stored
    print(
        f"{a.submission_id}: {stored.scheme.value} edition {stored.edition}, version {stored.rulebook_version}: "
        f"stored total {stored.total}, replayed total {replayed.total} — {'identical' if same else 'DIFFERENT'}"
    )
    return 0 if same else 1


# ----- whatif and the synthetic registry ---------------------------------------------------------


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )


def _registry_lines(a: argparse.Namespace, schemes: set[Scheme]) -> tuple[list[str] | Iterator[str], int] | str:
    if a.registry:
        if not a.registry.exists():
            return f"no registry file {a.registry}"
        with a.registry.open(encoding="utf-8") as f:
            total = sum(1 for line in f if line.strip())
        return _read_lines(a.registry), total
    from greenfab.db import Database, make_engine
    from services.scoring import store

    url = a.database_url or f"sqlite+aiosqlite:///{(a.data_dir / 'scoring.db').resolve()}"
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return f"no scoring store at {url.split('///', 1)[-1]}: give --registry FILE, or start the stack"

    async def read() -> list[str]:
        db = Database(make_engine(url))
        try:
            return await store.latest_declarations(db, schemes)
        finally:
            await db.close()

    lines = asyncio.run(read())
    return lines, len(lines)


def _read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as f:
        yield from f


def cmd_whatif(a: argparse.Namespace) -> int:
    from services.scoring import whatif, whatif_report

    rules = a.rules or REPO_RULES
    library = RuleLibrary.load(rules)
    checker = Checker(library, rules)
    drafts: dict[Scheme, Edition] = {}
    for path in a.rulebook:
        draft = load_draft(path)
        if draft.rulebook is None:
            print(f"✗ {path}: the draft is refused; no what-if runs on it", file=sys.stderr)
            _problems(draft.problems)
            return 2
        try:
            edition = draft.edition(a.edition if len(a.rulebook) == 1 else None)
        except UnknownEdition as exc:
            return fail(str(exc))
        problems = checker.check(draft, only=edition.edition)
        if problems:
            print(f"✗ {path}: edition {edition.edition} fails its check; no what-if runs on it", file=sys.stderr)
            _problems(problems)
            return 2
        if draft.rulebook.scheme in drafts:
            return fail(f"two drafts for {draft.rulebook.scheme.value}: give one per scheme")
        drafts[draft.rulebook.scheme] = edition
    source = _registry_lines(a, set(drafts))
    if isinstance(source, str):
        return fail(source)
    lines, total = source
    started = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("rescoring", total=total, rate="")
        done = {"n": 0}

        def advance(n: int) -> None:
            done["n"] += n
            rate = done["n"] / max(1e-9, time.perf_counter() - started)
            bar.update(task, advance=n, rate=f"{rate:,.0f} units/s")

        outcomes = whatif.rescore_all(rules, drafts, lines, max(1, a.processes), advance)
        report = whatif.build_report(outcomes, drafts, library, started)
    files = whatif_report.write(report, a.out)
    rows = [
        [
            SCHEME_LABELS[s.scheme],
            str(s.units),
            str(s.refused),
            str(s.level_up),
            str(s.level_down),
            str(s.failed_to_passed),
            str(s.passed_to_failed),
            str(s.total_up),
            str(s.total_down),
            str(s.unchanged),
        ]
        for s in report.by_scheme
    ]
    print(
        table(rows, ["方案", "单位", "无法评分", "升级", "降级", "未过→通过", "通过→未过", "总分升", "总分降", "不变"])
    )
    print(
        f"{report.units} units ({report.other_schemes} of schemes no draft covers) in {report.elapsed_s} s, "
        f"{report.units_per_s:,.0f} units/s; {report.movers_count} change level or pass. Nothing was published."
    )
    print("report: " + ", ".join(str(f) for f in files))
    return 0


def _generate_chunk(rules: str, seed: int, start: int, count: int) -> list[str]:
    from services.scoring.synthetic import Generator

    generator = Generator(RuleLibrary.load(Path(rules)), seed=seed * 1_000_003 + start)
    generator.serial = start
    return list(generator.lines(count))


def cmd_registry_generate(a: argparse.Namespace) -> int:
    if a.units < 1:
        return fail("--units should be at least 1")
    rules = str(a.rules or REPO_RULES)
    chunk = 2000
    starts = list(range(0, a.units, chunk))
    with _progress() as bar, a.output.open("w", encoding="utf-8") as out:
        task = bar.add_task("generating", total=a.units, rate="")
        with ProcessPoolExecutor(max(1, a.processes), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_generate_chunk, rules, a.seed, s, min(chunk, a.units - s)) for s in starts]
            for future in futures:  # in order: the file is the same for the same seed, whatever the processes
                lines = future.result()
                out.writelines(lines)
                bar.update(task, advance=len(lines))
    print(f"wrote {a.units} units to {a.output}")
    return 0
