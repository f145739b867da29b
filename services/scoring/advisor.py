"""The green-diagnosis advisor (003 第十六条): which changes to a declaration earn which points, and the cheapest plan.

For each item not at its maximum, the advisor moves the item's levers (rules/advice.yaml) and finds
the smallest change that earns each further step of points: a box ticked, an answer turned to yes,
a better recognition, or a number moved just far enough (a monotone search over the batch scorer,
which applies the rulebook exactly as the engine does). Every change it proposes is then scored
by the rules engine (durable_rules) on the declaration with the change applied: the points, total,
level and pass it shows are the engine's.

The plan is the set of changes with the least total effort (the bureau's weights, default 1 per
change) whose combined total reaches the target: the next level (grading), the pass mark and every
basic requirement (green factory), or a target score (beautiful factory). Changes that touch the
same input are alternatives, never combined. Numbers are then pulled back to the least change that
still reaches the target, and the whole plan is scored by the engine again to confirm it.

What no change can move is said as such: expert items, missing inputs, and vetoes, each with its
clause and the date it stops counting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from contracts.advice import (
    Advice,
    AdviceOption,
    AdvicePlan,
    AdviceTarget,
    Blocker,
    Indicator,
    InputChange,
    ItemAdvice,
)
from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from services.scoring.advice_data import AdviceData, Lever
from services.scoring.batch import BatchScorer, EditionKernel, FactRule, Score
from services.scoring.domain.rulebook import Item, RuleLibrary
from services.scoring.domain.vetoes import event_facts, event_vetoes, years_after
from services.scoring.engine import RulesEngine

ZERO, ONE = Decimal(0), Decimal(1)
_MAX_OPTIONS_PER_ITEM = 4


@dataclass
class _Option:
    """A candidate change before (and after) the engine scores it."""

    item: Item
    rule: FactRule
    changes: dict[str, Any]
    effort: Decimal
    lever: Lever
    score: Score  # the batch scorer's exact score with only this change
    public: AdviceOption | None = None
    inputs: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.inputs = frozenset(self.changes)


@dataclass(frozen=True)
class _Goal:
    """The target, and how to tell that a score reaches it."""

    target: AdviceTarget
    reached: Callable[[Score], bool]
    fix: frozenset[str]  # items that must be brought to their requirement (failing basic rows, veto rows)


class Advisor:
    """Advice for declarations of any scheme, under the edition in force on each declaration's date."""

    def __init__(self, library: RuleLibrary, data: AdviceData, engine: RulesEngine | None = None) -> None:
        self.library = library
        self.data = data
        self.engine = engine or RulesEngine(library)
        self.scorer = BatchScorer(library)

    def advise(
        self,
        scheme: Scheme,
        as_of: date,
        data: Mapping[str, Any],
        *,
        level: int | None = None,
        target: Decimal | None = None,
    ) -> Advice:
        """The advice for one declaration. Raises the engine's InputError for a declaration it refuses."""
        started = time.perf_counter()
        data = dict(data)
        base = self.engine.evaluate(scheme, as_of, data)
        kernel = self.scorer.in_force(scheme, as_of)
        exact = kernel.score(as_of, data)
        items: list[ItemAdvice] = []
        options: list[_Option] = []
        for item, rules in kernel.rules:
            advice, found = self._item(scheme, kernel, item, rules, as_of, data, base)
            items.append(advice)
            options += found
        by_item = {i.id: i for i in items}
        for opt in options:
            opt.public = self._public(scheme, opt, as_of, data, base)
        for advice in items:
            advice.options = sorted(
                (o.public for o in options if o.item.id == advice.id and o.public is not None),
                key=lambda p: (-p.item_points_after, p.effort),
            )
            advice.movable = bool(advice.options)
            if not advice.movable and not advice.why_not_zh:
                advice.why_not_zh = "按现有杠杆调整填报数据无法提高本项得分"
        goal = self._goal(kernel, exact, level, target)
        plan = None
        if goal is not None and (goal.target.short_by > 0 or goal.fix):
            plan = self._plan(scheme, kernel, goal, [o for o in options if o.public is not None], as_of, data, base)
        return Advice(
            scheme=scheme,
            edition=base.edition,
            rulebook_version=base.rulebook_version,
            as_of=as_of,
            total=base.total,
            level=base.level,
            passed=base.passed,
            provisional=base.provisional,
            target=goal.target if goal else None,
            plan=plan,
            items=[by_item[i.id] for i, _ in kernel.rules],
            blockers=self._blockers(as_of, data, base),
            notes_zh=self._notes(scheme, base, goal),
            elapsed_ms=int((time.perf_counter() - started) * 1000),
        )

    # ----- item by item --------------------------------------------------------------------

    def _item(
        self,
        scheme: Scheme,
        kernel: EditionKernel,
        item: Item,
        rules: list[FactRule],
        as_of: date,
        data: dict[str, Any],
        base: Evaluation,
    ) -> tuple[ItemAdvice, list[_Option]]:
        result = next(i for i in base.items if i.id == item.id)
        advice = ItemAdvice(
            id=item.id,
            name_zh=item.name_zh,
            basis=item.basis,
            status=result.status,
            points=result.points,
            max=item.max,
            available=(item.max - result.points) if result.points is not None else ZERO,
            movable=False,
        )
        why = {
            "not_applicable": "不适用（D-NA），不计入得分",
            "missing_input": "缺少输入：" + "、".join(self.data.info(m).zh for m in result.missing),
            "needs_expert": "需专家评定（酌情给分），填报数据无法决定",
        }.get(result.status)
        if why:
            advice.why_not_zh = why
            return advice, []
        if result.points is not None and result.points >= item.max:
            advice.why_not_zh = "已得满分"
            return advice, []
        found: list[_Option] = []
        for rule in rules:
            for lever in self.data.levers(scheme, rule):
                found += self._lever_options(scheme, kernel, rule, lever, as_of, data)
        return advice, _best(found)

    def _lever_options(
        self,
        scheme: Scheme,
        kernel: EditionKernel,
        rule: FactRule,
        lever: Lever,
        as_of: date,
        data: dict[str, Any],
    ) -> list[_Option]:
        now = kernel.fact_points(rule, kernel.unit(as_of, data))
        now = now if now is not None else ZERO
        top = rule.part.max if rule.part is not None else rule.item.max
        effort = self.data.effort(scheme, rule.item.id)

        def points(changes: Mapping[str, Any]) -> Decimal | None:
            return kernel.fact_points(rule, kernel.unit(as_of, {**data, **changes}))

        candidates: list[tuple[dict[str, Any], Decimal]] = []  # (changes, effort)
        name = lever.names[0]
        current = data.get(name)
        if lever.kind == "boxes":
            boxes: dict[str, Any] = rule.item.params["boxes"]
            ticked = list(current) if isinstance(current, list) else []
            rest = sorted((b for b in boxes if b not in ticked), key=lambda b: (-Decimal(str(boxes[b])), b))
            for count in range(1, len(rest) + 1):
                candidates.append(({name: ticked + rest[:count]}, effort * count))
        elif lever.kind == "yes_no":
            candidates += [({name: value}, effort) for value in (True, False) if value is not current]
        elif lever.kind == "choice":
            candidates += [({name: w}, effort) for w in sorted(rule.words.get(name, ())) if w != current]
        else:
            for goal in _milestones(rule, top):
                if goal <= now:
                    continue
                found = self._numeric(kernel, rule, lever, goal, data, points)
                if found is not None:
                    candidates.append((found, effort))
        out = []
        seen: list[dict[str, Any]] = []
        for changes, cost in candidates:
            got = points(changes)
            if got is None or got <= now or changes in seen:
                continue
            seen.append(changes)
            changed = {**data, **changes}
            out.append(_Option(rule.item, rule, changes, cost, lever, kernel.score(as_of, changed)))
            if lever.kind == "boxes" and got >= top:
                break  # more boxes earn nothing more
        return out

    def _numeric(
        self,
        kernel: EditionKernel,
        rule: FactRule,
        lever: Lever,
        goal: Decimal,
        data: dict[str, Any],
        points: Callable[[Mapping[str, Any]], Decimal | None],
    ) -> dict[str, Any] | None:
        """The least move of a numeric lever (one value for every input it moves) that earns ``goal``."""
        infos = [self.data.info(n) for n in lever.names]
        starts = [_number(data.get(n)) for n in lever.names]
        start = min(starts) if starts else ZERO
        # The catalogue refuses a value above an input's limit (a share above 100 %): never advise one.
        uppers = [i.upper for i in infos if i.upper is not None]
        upper = min(uppers) if uppers else None
        integer = all(i.integer for i in infos)

        def changes(x: Decimal, direction: int) -> dict[str, Any]:
            moved = {}
            for n, s in zip(lever.names, starts, strict=True):
                v = max(s, x) if direction > 0 else min(s, x)
                moved[n] = _json_number(v)
            return moved

        best: tuple[Decimal, dict[str, Any]] | None = None
        for direction in (1, -1):
            ok = _ok(points, goal, lambda x, d=direction: changes(x, d))  # type: ignore[misc]
            found = _step(ok, start, direction, upper) if integer else None
            if found is None:
                found = _search(ok, start, direction, upper)
            if found is None:
                continue
            nice = _nice(found, start, direction, ok, integer, upper)
            move = abs(nice - start) / (abs(start) if start else ONE)
            if best is None or move < best[0]:
                best = (move, changes(nice, direction))
        return best[1] if best else None

    def _public(
        self, scheme: Scheme, opt: _Option, as_of: date, data: dict[str, Any], base: Evaluation
    ) -> AdviceOption | None:
        """The option as the engine scores it; None if the engine does not see the gain the search saw."""
        changed = {**data, **opt.changes}
        result = self.engine.evaluate(scheme, as_of, changed)
        before = {i.id: i.points for i in base.items}
        after = {i.id: i.points for i in result.items}
        mine_before, mine_after = before.get(opt.item.id), after.get(opt.item.id)
        if mine_after is None or (mine_before is not None and mine_after <= mine_before):
            return None
        kernel = self.scorer.in_force(scheme, as_of)
        unit_before, unit_after = kernel.unit(as_of, data), kernel.unit(as_of, changed)
        derived_before, derived_after = kernel.derived(opt.rule, unit_before), kernel.derived(opt.rule, unit_after)
        indicator = None
        if derived_before and derived_after:
            name = list(derived_after)[-1]
            indicator = Indicator(name=name, before=derived_before[name], after=derived_after[name])
        shown = [self._change(n, data.get(n), v) for n, v in opt.changes.items() if v != data.get(n)]
        gain_item = mine_after - (mine_before or ZERO)
        text = "，".join(
            f"{c.label_zh}：{c.after_text}"
            if isinstance(c.after, list)
            else f"{c.label_zh} {c.before_text} → {c.after_text}"
            for c in shown
        )
        text += f"，+{_points(gain_item)} 分，{_clause(opt.item.basis)}"
        if result.total - base.total != gain_item:
            text += f"（总分 {base.total} → {result.total}）"
        return AdviceOption(
            item=opt.item.id,
            changes=shown,
            indicator=indicator,
            effort=opt.effort,
            item_points_before=mine_before or ZERO,
            item_points_after=mine_after,
            total_after=result.total,
            gain=result.total - base.total,
            level_after=result.level,
            passed_after=result.passed,
            moved={k: [before.get(k), after[k]] for k in after if after[k] != before.get(k)},
            text_zh=text,
        )

    def _change(self, name: str, before: Any, after: Any) -> InputChange:
        info = self.data.info(name)
        if info.kind == "boxes" and isinstance(after, list):
            added = [b for b in after if b not in (before or [])]
            after_text = "加选 " + "、".join(info.boxes.get(b, b) for b in added)
        else:
            after_text = info.show(after)
        return InputChange(
            input=name,
            label_zh=info.zh,
            unit="%" if info.kind == "share" else info.unit,
            before=before,
            after=after,
            before_text=info.show(before),
            after_text=after_text,
        )

    # ----- the target and the plan ---------------------------------------------------------

    def _goal(self, kernel: EditionKernel, exact: Score, level: int | None, target: Decimal | None) -> _Goal | None:
        edition = kernel.edition
        fix = frozenset(exact.failing_basic) | frozenset(
            v.removeprefix("requirement:") for v in exact.vetoes if v.startswith("requirement:")
        )
        if target is not None:
            short = max(ZERO, target - exact.total)
            goal = AdviceTarget(kind="score", min_total=target, basis="目标分数（申请人或市局设定）", short_by=short)
            return _Goal(goal, lambda s: s.total >= target, fix)
        if edition.levels is not None:
            thresholds = sorted(edition.levels.thresholds, key=lambda t: t.min_total)
            above = [t for t in thresholds if t.min_total > exact.total]
            wanted = next((t for t in thresholds if t.level == level), None) if level is not None else None
            if wanted is None:
                if not above:
                    return None
                wanted = above[0]
            bar = wanted.min_total
            goal = AdviceTarget(
                kind="level",
                level=wanted.level,
                min_total=bar,
                basis=edition.levels.basis,
                short_by=max(ZERO, bar - exact.total),
            )
            return _Goal(goal, lambda s: s.total >= bar, fix)
        if edition.passing is not None:
            mark = edition.passing.min_total
            goal = AdviceTarget(
                kind="pass", min_total=mark, basis=edition.passing.basis, short_by=max(ZERO, mark - exact.total)
            )

            def passes(s: Score) -> bool:
                unmet = set(s.failing_basic) | {v for v in s.vetoes if v.startswith("requirement:")}
                return s.total >= mark and not unmet

            return _Goal(goal, passes, fix)
        return None

    def _plan(
        self,
        scheme: Scheme,
        kernel: EditionKernel,
        goal: _Goal,
        options: list[_Option],
        as_of: date,
        data: dict[str, Any],
        base: Evaluation,
    ) -> AdvicePlan | None:
        exact = kernel.score(as_of, data)
        groups = _groups(options)
        chosen = _cheapest(groups, goal, exact)
        if chosen is None:
            return None

        def combined(picked: Iterable[_Option]) -> dict[str, Any]:
            out = dict(data)
            for o in picked:
                out.update(o.changes)
            return out

        # Gains were measured one change at a time; together they may overlap: add the best next change until reached.
        picked = list(chosen)
        while not goal.reached(kernel.score(as_of, combined(picked))):
            used = {n for o in picked for n in o.inputs}
            spare = [o for o in options if not (o.inputs & used)]
            if not spare:
                return None
            now = kernel.score(as_of, combined(picked)).total

            def worth(o: _Option, now: Decimal = now) -> Decimal:
                return (kernel.score(as_of, combined([*picked, o])).total - now) / o.effort

            picked.append(max(spare, key=worth))
        picked = self._trim(kernel, goal, picked, as_of, data, combined)
        plan_data = combined(picked)
        result = self.engine.evaluate(scheme, as_of, plan_data)
        changes = []
        for o in picked:
            public = self._public(scheme, o, as_of, data, base)
            if public is not None:
                changes.append(public)
        reaches = _engine_reaches(goal, result)
        return AdvicePlan(
            changes=changes,
            effort=sum((o.effort for o in picked), ZERO),
            total_after=result.total,
            level_after=result.level,
            passed_after=result.passed,
            reaches_target=reaches,
            data_after=plan_data,
        )

    def _trim(
        self,
        kernel: EditionKernel,
        goal: _Goal,
        picked: list[_Option],
        as_of: date,
        data: dict[str, Any],
        combined: Callable[[Iterable[_Option]], dict[str, Any]],
    ) -> list[_Option]:
        """Drop changes the target does not need; pull each number back to the least value that still reaches it."""
        for o in sorted(picked, key=lambda o: o.score.total):
            rest = [p for p in picked if p is not o]
            if o.item.id not in goal.fix and goal.reached(kernel.score(as_of, combined(rest))):
                picked = rest
        # One number at a time, against the others as already pulled back: pulling each back against the
        # others' full changes would let all of them give up the same slack, and together miss the target.
        trimmed = list(picked)
        for index, o in enumerate(trimmed):
            if o.lever.kind != "numeric":
                continue
            others = [p for i, p in enumerate(trimmed) if i != index]
            name = o.lever.names[0]
            start, end = _number(data.get(name)), _number(o.changes[name])
            direction = 1 if end > start else -1

            def moved(x: Decimal, o: _Option = o, direction: int = direction) -> dict[str, Any]:
                return {
                    n: _json_number(max(_number(data.get(n)), x) if direction > 0 else min(_number(data.get(n)), x))
                    for n in o.lever.names
                }

            def ok(x: Decimal, others: list[_Option] = others, moved: Callable[..., dict[str, Any]] = moved) -> bool:
                return goal.reached(kernel.score(as_of, {**combined(others), **moved(x)}))

            x = _bisect(ok, end, start)
            info = self.data.info(name)
            x = _nice(x, start, direction, ok, info.integer, None)
            changes = moved(x)
            trimmed[index] = replace(o, changes=changes, score=kernel.score(as_of, {**data, **changes}))
        return trimmed

    # ----- what cannot move ----------------------------------------------------------------

    def _blockers(self, as_of: date, data: dict[str, Any], base: Evaluation) -> list[Blocker]:
        out = []
        for item in base.items:
            if item.status == "needs_expert":
                out.append(
                    Blocker(
                        kind="expert",
                        code=item.id,
                        clause=item.basis,
                        points_at_stake=item.max,
                        detail_zh=f"{item.name_zh}：{item.explanation}",
                    )
                )
            elif item.status == "missing_input":
                names = "、".join(self.data.info(m).zh for m in item.missing)
                out.append(
                    Blocker(
                        kind="missing_input",
                        code=item.id,
                        clause=item.basis,
                        points_at_stake=item.max,
                        detail_zh=f"{item.name_zh}：缺少 {names}，补充后方可评分",
                    )
                )
        until = self._veto_dates(as_of, data)
        for v in base.vetoes:
            if v.code == "gate":
                out.append(Blocker(kind="gate", code=v.code, clause=v.clause, detail_zh=v.evidence))
                continue
            if v.code.startswith("requirement:"):
                detail = f"一票否决项未满足（{v.evidence}），改正后不再否决"
                out.append(Blocker(kind="veto", code=v.code, clause=v.clause, detail_zh=detail))
                continue
            when = until.get((v.code, v.evidence))
            detail = f"{v.evidence}" + (f"；考察期 {v.window}" if v.window else "")
            if when is not None:
                detail += f"；自 {when.isoformat()} 起不再计入"
            elif v.evidence.startswith("events["):
                detail += "；事项仍在持续，结束后按考察期计算"
            else:
                detail += "；与填报的答复有关，情况改变后重新申报"
            out.append(
                Blocker(
                    kind="veto", code=v.code, clause=v.clause, detail_zh=detail, until=when, overridable=v.overridable
                )
            )
        return out

    def _veto_dates(self, as_of: date, data: dict[str, Any]) -> dict[tuple[str, str], date]:
        """Per (veto code, evidence): the first as-of date on which the event no longer vetoes (D-WINDOW)."""
        out: dict[tuple[str, str], date] = {}
        events = data.get("events")
        if not isinstance(events, list) or not events:
            return out
        facts, _ = event_facts(self.library.eligibility, self.library.inputs.events, events, as_of)
        for fact in facts:
            # A merged stoppage goes on while any of its periods does (D-STOPPAGE).
            ongoing = any(
                isinstance(raw := events[i], dict) and raw.get("to") is None and raw.get("date") is None
                for i in fact.indices
            )
            for veto in self.library.eligibility.vetoes:
                if not event_vetoes(veto, fact):
                    continue
                span = fact.start.isoformat() if fact.start == fact.end else f"{fact.start}..{fact.end}"
                evidence = f"{fact.label} {fact.kind} {span}"
                if veto.ban_years is not None:
                    out[(veto.code, evidence)] = years_after(fact.start, veto.ban_years)
                elif veto.window_years and not ongoing:
                    out[(veto.code, evidence)] = years_after(fact.end, veto.window_years) + timedelta(days=1)
        return out

    def _notes(self, scheme: Scheme, base: Evaluation, goal: _Goal | None) -> list[str]:
        notes = []
        if scheme == Scheme.GRADING and base.level is not None and base.level < 3:
            notes.append(
                "分级低于三级：应在一年内完成绿色诊断、两年内完成改造；三年内复评仍低于三级的，撤销称号（003 第十六条）"
            )
        if base.provisional:
            notes.append("总分为暂定：待专家评定或补充输入后确定等级或结论")
        if any(v for v in base.vetoes if not v.overridable):
            notes.append("存在否决情形：否决期间不评定等级、不予通过，计划中的分数仅供改进参考")
        if goal is not None and goal.target.short_by == 0 and not goal.fix:
            notes.append("已达到目标")
        return notes


# ----- helpers -------------------------------------------------------------------------------


def _best(found: list[_Option]) -> list[_Option]:
    """Per item, the strongest few options: for each points level the cheapest, best first."""
    by_points: dict[Decimal, _Option] = {}
    for o in found:
        key = o.score.points.get(o.item.id) or ZERO
        if key not in by_points or o.effort < by_points[key].effort:
            by_points[key] = o
    return [by_points[k] for k in sorted(by_points, reverse=True)][:_MAX_OPTIONS_PER_ITEM]


def _milestones(rule: FactRule, top: Decimal) -> list[Decimal]:
    """Points a numeric lever can aim at: full marks, each case's fixed points, D-IND's 60 % and 80 %."""
    levels = {top}
    for _, case in rule.cases:
        if case.then.points is not None and case.then.points > 0:
            levels.add(min(case.then.points, top))
    if rule.item.method == "industry_position":
        levels |= {top * Decimal("0.6"), top * Decimal("0.8")}
    return sorted(levels)


def _number(raw: Any) -> Decimal:
    if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        return ZERO
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        return ZERO


def _json_number(x: Decimal) -> int | float:
    """A number as a declaration carries it: an int when whole, else a float that prints as the Decimal does."""
    if x == x.to_integral_value():
        return int(x)
    return float(x)


def _ok(
    points: Callable[[Mapping[str, Any]], Decimal | None], goal: Decimal, move: Callable[[Decimal], dict[str, Any]]
) -> Callable[[Decimal], bool]:
    def ok(x: Decimal) -> bool:
        got = points(move(x))
        return got is not None and got >= goal

    return ok


def _search(ok: Callable[[Decimal], bool], start: Decimal, direction: int, upper: Decimal | None) -> Decimal | None:
    """The value nearest ``start`` in ``direction`` at which ``ok`` holds (assumed monotone), or None."""
    if direction > 0:
        far = None
        x = start if start > 0 else ONE / 2  # from nothing: try 1, 2, 4 …, then narrow down
        for _ in range(60):
            x = x * 2
            if upper is not None and x >= upper:
                x = upper
            if ok(x):
                far = x
                break
            if upper is not None and x >= upper:
                return None
        if far is None:
            return None
    else:
        if start <= 0:
            return None
        far = ZERO if ok(ZERO) else None
        x = start
        for _ in range(60 if far is None else 0):
            x = x / 2
            if ok(x):
                far = x
                break
        if far is None:
            return None
    return _bisect(ok, far, start)


def _step(ok: Callable[[Decimal], bool], start: Decimal, direction: int, upper: Decimal | None) -> Decimal | None:
    """Whole numbers (levels, counts) one at a time: their rules may stop short of a range (GR-20 above level 5)."""
    x = start.to_integral_value()
    for _ in range(64):
        x += direction
        if x < 0 or (upper is not None and x > upper):
            return None
        if ok(x):
            return x
    return None


def _bisect(ok: Callable[[Decimal], bool], good: Decimal, bad: Decimal) -> Decimal:
    """Narrow [good, bad] to the ``ok`` value nearest ``bad``."""
    for _ in range(60):
        # A millionth of the value is finer than any form is filled in (and _nice rounds far coarser).
        if abs(good - bad) <= max(abs(good), abs(bad), Decimal("1e-9")) * Decimal("1e-6"):
            break
        mid = (good + bad) / 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good


def _nice(
    x: Decimal, start: Decimal, direction: int, ok: Callable[[Decimal], bool], integer: bool, upper: Decimal | None
) -> Decimal:
    """A round value at or just past ``x`` that still holds: what a person would write on the form."""
    if integer:
        whole = Decimal(math.ceil(x) if direction > 0 else math.floor(x))
        return whole if ok(whole) else x
    if x == 0:
        return x
    change = abs(x - start)
    exponent = math.floor(math.log10(abs(float(x))))
    for digits in (2, 3, 4, 5, 6, 8):
        step = Decimal(1).scaleb(exponent - digits + 1)
        for candidate in (
            x.quantize(step, rounding=ROUND_HALF_UP),
            x.quantize(step, rounding=ROUND_HALF_UP) + direction * step,
        ):
            if upper is not None and candidate > upper:
                continue
            if candidate >= 0 and abs(candidate - x) <= change * Decimal("0.02") and ok(candidate):
                return candidate.normalize()
    return x


def _groups(options: list[_Option]) -> list[list[_Option]]:
    """Options that touch a common input are alternatives: one group each (union-find over inputs)."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    for o in options:
        names = sorted(o.inputs)
        for n in names[1:]:
            parent[find(n)] = find(names[0])
    groups: dict[str, list[_Option]] = {}
    for o in options:
        groups.setdefault(find(min(o.inputs)), []).append(o)
    return list(groups.values())


def _cheapest(groups: list[list[_Option]], goal: _Goal, base: Score) -> list[_Option] | None:
    """Least total effort whose summed gains reach the target, at most one option per group (exact DP)."""
    need = goal.target.short_by
    # state: effort → (capped gain, raw gain, choices). Groups that hold a row to fix must pick a fixing option.
    states: dict[Decimal, tuple[Decimal, Decimal, tuple[_Option, ...]]] = {ZERO: (ZERO, ZERO, ())}
    if goal.fix - {o.item.id for group in groups for o in group}:
        return None  # a row that must be fixed has no change that fixes it
    for group in groups:
        must = {i for o in group for i in goal.fix if o.item.id == i}
        choices = [o for o in group if not must or must <= _fixes(o)]
        if must and not choices:
            return None
        nxt: dict[Decimal, tuple[Decimal, Decimal, tuple[_Option, ...]]] = {} if must else dict(states)
        for effort, (_, raw, picked) in states.items():
            for o in choices:
                gain = o.score.total - base.total
                e, r = effort + o.effort, raw + gain
                cand = (min(need, r), r, (*picked, o))
                if e not in nxt or cand[:2] > nxt[e][:2]:
                    nxt[e] = cand
        best = ZERO - 1
        states = {}
        for e in sorted(nxt):  # keep only states no cheaper state beats
            if nxt[e][0] > best:
                states[e] = nxt[e]
                best = nxt[e][0]
    reached = [(e, s) for e, s in states.items() if s[0] >= need]
    if not reached:
        return None
    return list(min(reached, key=lambda es: (es[0], -es[1][1]))[1][2])


def _fixes(o: _Option) -> set[str]:
    """Rows this option brings to their requirement."""
    return (
        {o.item.id}
        if o.item.id not in o.score.failing_basic and f"requirement:{o.item.id}" not in o.score.vetoes
        else set()
    )


def _engine_reaches(goal: _Goal, result: Evaluation) -> bool:
    target = goal.target
    if target.kind == "level":
        if result.level is not None:
            return result.level >= (target.level or 0)
        return result.total >= target.min_total  # level withheld (veto, expert): the points are there
    if target.kind == "pass":
        if result.passed is not None:
            return result.passed
        return result.total >= target.min_total and not result.failing_basic
    return result.total >= target.min_total


def _points(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP).normalize():f}"


def _clause(basis: str) -> str:
    return basis.split(";")[0].strip()
