"""From the services' answers to what a page shows: rows with days left, timelines, score bars, dashboards.

Pure functions (no I/O): the pages call the APIs, these shape the answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from markupsafe import Markup

from contracts import labels
from contracts.advice import Advice
from contracts.evaluation import Evaluation
from contracts.staff import GradeCount, ListedCount, TaskPublic, UnitDetail
from services.console import charts, days
from services.console.reference import TASK_KINDS_ZH

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class TaskRow:
    task: TaskPublic
    due: days.Remaining | None

    @property
    def kind_zh(self) -> str:
        return TASK_KINDS_ZH.get(self.task.kind, self.task.title_zh)

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due.overdue


def task_rows(tasks: Iterable[TaskPublic], on: date) -> list[TaskRow]:
    return [TaskRow(t, days.remaining(days.due_day(t.due_at), on) if t.due_at else None) for t in tasks]


def filter_tasks(
    rows: Sequence[TaskRow], on: date, kind: str | None, district: str | None, within_7: bool, mine: str | None
) -> list[TaskRow]:
    """The inbox's filters: kind, the unit's district, due within 7 days (or overdue), claimed by me."""
    out = []
    for r in rows:
        if kind and r.task.kind != kind:
            continue
        if district and r.task.district != district:
            continue
        if within_7 and (r.due is None or (not r.due.overdue and (r.due.due - on).days > 7)):
            continue
        if mine and r.task.claimed_by != mine:
            continue
        out.append(r)
    return out


def kind_counts(rows: Sequence[TaskRow]) -> list[tuple[str, str, int]]:
    """(kind, kind in Chinese, count), most first."""
    counts = Counter(r.task.kind for r in rows)
    names = {r.task.kind: r.kind_zh for r in rows}
    return [(k, names[k], n) for k, n in counts.most_common()]


def unit_timeline(unit: UnitDetail, on: date, ident: str = "timeline") -> Markup:
    """Steps (with who acted) and running deadlines, drawn as a timeline."""
    marks = [
        charts.Mark(
            days.beijing_day(t.at),
            "step",
            t.state_zh if not t.task_id else f"{t.state_zh}（{t.actor.subject}）",
            t.reason,
        )
        for t in unit.timeline
    ]
    for d in unit.deadlines:
        # The deadline and the role by their Chinese names (期限：区工业主管部门推荐), never their ids.
        owner = labels.zh(labels.ROLE_ZH, d.owner)
        marks.append(charts.Mark(d.due_on, "deadline", f"期限：{d.deadline_zh or d.deadline}", f"办理方：{owner}"))
    return charts.timeline(marks, on, ident)


def score_chart(evaluation: Evaluation, ident: str = "score") -> Markup:
    """By weighted category where the scheme has them (out of 100 each), else item by item, against the maximum."""
    if evaluation.categories:
        rows = [charts.Bar(c.name_zh, c.points, Decimal(100)) for c in evaluation.categories]
    else:
        rows = [
            charts.Bar(
                f"{i.id} {i.name_zh}", i.points or Decimal(0), i.max, "（待评）" if i.status == "needs_expert" else ""
            )
            for i in evaluation.items
            if i.status != "not_applicable"
        ]
    total = "暂定" if evaluation.provisional else "最终"
    return charts.bars(rows, f"得分（{total}总分 {evaluation.total}）", ident)


def expert_gap(evaluation: Evaluation) -> tuple[Decimal, Decimal]:
    """(points awarded so far, the most the expert items can still add)."""
    scored = sum((i.points or Decimal(0) for i in evaluation.items if i.status == "scored"), Decimal(0))
    open_max = sum((i.max for i in evaluation.items if i.status == "needs_expert"), Decimal(0))
    return scored, open_max


LEVEL_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}


def levels_by_district(counts: Iterable[GradeCount]) -> tuple[list[tuple[str, dict[int, int]]], list[int]]:
    """Published grades per district per level (those without a level left out), busiest district first."""
    groups: dict[str, Counter[int]] = {}
    for c in counts:
        if c.level is not None:
            groups.setdefault(c.district, Counter())[c.level] += c.count
    keys = sorted({k for c in groups.values() for k in c})
    return sorted(((d, dict(c)) for d, c in groups.items()), key=lambda x: -sum(x[1].values())), keys


def listed_by_district(counts: Iterable[ListedCount]) -> list[tuple[str, int]]:
    """Units on the lists per district (every designation), most first."""
    per: Counter[str] = Counter()
    for c in counts:
        per[c.district] += c.count
    return sorted(per.items(), key=lambda x: -x[1])


def week_columns(rows: Sequence[TaskRow], on: date) -> list[tuple[str, int, bool]]:
    """Tasks due on each day of this week (Monday to Sunday), and those already overdue."""
    monday = on - timedelta(days=on.weekday())
    per_day = Counter(r.due.due for r in rows if r.due is not None and not r.due.overdue)
    cols = [("已逾期", sum(r.overdue for r in rows), True)]
    for i in range(7):
        day = monday + timedelta(days=i)
        cols.append((f"{WEEKDAYS_ZH[i]} {day.month}/{day.day}", per_day.get(day, 0), False))
    return cols


@dataclass(frozen=True)
class AdvicePanel:
    """The advisor's answer as the unit page shows it: where the unit stands, the plan, the rest by item."""

    summary: str
    plan: list[dict[str, str]]
    rows: list[dict[str, str]]
    blockers: list[str]


def advice_panel(advice: Advice) -> AdvicePanel:
    """What to show of ``advice``: the target and plan in a sentence, the plan's changes, each item's best change."""
    now = f"现状：总分 {advice.total:.2f}" + (f"，{advice.level} 级" if advice.level is not None else "")
    target, plan = advice.target, advice.plan
    if target is None:
        summary = f"{now}；已无更高的等级或目标。"
    elif target.short_by <= 0 and plan is None:
        summary = f"{now}；已达到目标（总分 ≥ {target.min_total:.2f}）。"
    else:
        aim = f"{target.level} 级" if target.kind == "level" else "通过" if target.kind == "pass" else "目标分"
        summary = f"{now}；目标：{aim}（总分 ≥ {target.min_total:.2f}），尚差 {target.short_by:.2f} 分。"
        if plan is None:
            summary += "按现有可调整的填报数据无法达到。"
        else:
            confirmed = "规则引擎复核：达到目标" if plan.reaches_target else "规则引擎复核：未达到目标"
            level = f"，{plan.level_after} 级" if plan.level_after is not None else ""
            summary += f"最省力的方案：总分 {plan.total_after:.2f}{level}；{confirmed}。"
    return AdvicePanel(
        summary=summary,
        plan=[{"item": o.item, "text_zh": o.text_zh} for o in (plan.changes if plan else [])],
        rows=[{"item": i.id, "text_zh": i.options[0].text_zh} for i in advice.items if i.options],
        blockers=[b.detail_zh for b in advice.blockers],
    )
