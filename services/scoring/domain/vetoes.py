"""Eligibility: the declaration's events and answers as facts, and the vetoes they trigger (rules/eligibility).

Dates are turned into plain fields here (in the window? how many months? is a ban running?) so the
engine's veto rules compare single facts with constants, as durable_rules requires.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from contracts.evaluation import Flag
from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from greenfab.inputs import EventCatalogue, as_date
from services.scoring.domain.facts import InputError, not_yes_or_no_zh, number, shown_zh
from services.scoring.domain.rulebook import Eligibility, Veto

EVENT_AFTER_AS_OF = "event_after_as_of"


def years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def years_after(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later; the month's last day where it has no such day (31 Jan + 1 → 28/29 Feb)."""
    year, month = divmod(d.month - 1 + months, 12)
    year, month = d.year + year, month + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def whole_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end``, both days included (D-STOPPAGE).

    n months are reached when the day before ``start`` + n months is on or before ``end``:
    2024-03-01 … 2025-02-28 is 12 months; 2023-01-01 … 2023-12-30 is 11.
    """
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    while months > 0 and add_months(start, months) - timedelta(days=1) > end:
        months -= 1
    return max(months, 0)


def _date(at: str, raw: Any) -> date | None:
    if raw is None:
        return None
    day = as_date(raw)
    if day is None:
        raise InputError(
            at, f"should be a date (YYYY-MM-DD), got {raw!r}", "not_a_date", f"应为日期（YYYY-MM-DD），而不是“{raw}”"
        )
    return day


@dataclass
class EventFact:
    """One declared event (or several touching periods of a continuous kind), with what each veto compares."""

    indices: list[int]
    kind: str
    start: date
    end: date
    extra: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> int:
        return self.indices[0]

    @property
    def label(self) -> str:
        return "+".join(f"events[{i}]" for i in self.indices)


@dataclass
class _Span:
    index: int
    kind: str
    start: date
    end: date
    extra: dict[str, Any]


def _spans(catalogue: EventCatalogue, events: Any, as_of: date) -> tuple[list[_Span], list[Flag]]:
    """Each counted event as a period ending by ``as_of``; events after ``as_of`` become flags (D-EVENTS)."""
    if not isinstance(events, list):
        raise InputError(
            "events",
            "should be a list of {kind, date | from/to}",
            "not_events",
            "应为事件的列表，每项含 kind，以及 date 或 from/to",
        )
    spans, flags = [], []
    for i, raw in enumerate(events):
        at = f"events[{i}]"
        if not isinstance(raw, dict) or raw.get("kind") not in catalogue.kinds:
            kinds = sorted(catalogue.kinds)
            raise InputError(
                at,
                f"should be an object with one of the kinds {kinds}",
                "event_kind",
                f"应为一个对象，其 kind 为 {'、'.join(kinds)} 之一",
            )
        kind = catalogue.kinds[raw["kind"]]
        start = _date(f"{at}.from", raw.get("from")) or _date(f"{at}.date", raw.get("date"))
        if start is None:
            raise InputError(
                at,
                "needs a date, or from (and to, unless it is ongoing)",
                "event_dates",
                "须填写 date，或填写 from（尚未结束的除外，还须填写 to）",
            )
        # D-STOPPAGE: the end day is the last day of the event; one still going on runs to the as-of date.
        end = _date(f"{at}.to", raw.get("to")) or _date(f"{at}.date", raw.get("date")) or max(start, as_of)
        if end < start:
            raise InputError(f"{at}.to", "ends before it starts", "event_ends_before_start", "结束日期早于开始日期")
        if start > as_of:
            flags.append(
                Flag(
                    code=EVENT_AFTER_AS_OF,
                    item=at,
                    detail=f"{kind.name_zh}（{start.isoformat()}）晚于评价日期 {as_of.isoformat()}，"
                    "未计入，请核实（D-EVENTS）",
                )
            )
            continue
        if end > as_of:
            flags.append(
                Flag(
                    code=EVENT_AFTER_AS_OF,
                    item=at,
                    detail=f"{kind.name_zh}结束日期 {end.isoformat()} 晚于评价日期 {as_of.isoformat()}，"
                    f"只计至评价日期，请核实（D-EVENTS）",
                )
            )
            end = as_of
        extra = {k: v for k, v in raw.items() if k in kind.fields and isinstance(v, bool)}
        spans.append(_Span(i, raw["kind"], start, end, extra))
    return spans, flags


def _merged(catalogue: EventCatalogue, spans: list[_Span]) -> list[tuple[list[int], _Span]]:
    """Periods of a continuous kind that touch or overlap are one period (D-STOPPAGE: 连续停产)."""
    out: list[tuple[list[int], _Span]] = []
    open_by_kind: dict[str, tuple[list[int], _Span]] = {}
    for span in sorted(spans, key=lambda s: (s.start, s.index)):
        if not catalogue.kinds[span.kind].continuous:
            out.append(([span.index], span))
            continue
        current = open_by_kind.get(span.kind)
        if current is not None and span.start <= current[1].end + timedelta(days=1):
            current[0].append(span.index)
            current[1].end = max(current[1].end, span.end)
            continue
        current = ([span.index], _Span(span.index, span.kind, span.start, span.end, dict(span.extra)))
        open_by_kind[span.kind] = current
        out.append(current)
    return sorted(out, key=lambda m: m[0][0])


def event_facts(
    eligibility: Eligibility, catalogue: EventCatalogue, events: Any, as_of: date
) -> tuple[list[EventFact], list[Flag]]:
    """Per event: for each veto on its kind, whether it is in that veto's window, lasts long enough, bans now.

    Also the flags for staff: events dated after ``as_of`` are not counted (D-EVENTS).
    """
    if events is None:
        return [], []
    spans, flags = _spans(catalogue, events, as_of)
    out = []
    for indices, span in _merged(catalogue, spans):
        fact = EventFact(sorted(indices), span.kind, span.start, span.end, span.extra)
        for veto in eligibility.vetoes:
            if veto.event != span.kind:
                continue
            window_start = years_before(as_of, veto.window_years) if veto.window_years else date.min
            fact.fields[f"in_window_{veto.code}"] = span.end >= window_start
            fact.fields["months"] = whole_months(span.start, span.end)
            if veto.ban_years is not None:
                fact.fields[f"ban_{veto.code}"] = as_of < years_after(span.start, veto.ban_years)
            # An event that does not say it was removed or rectified was not: the rule sees false.
            for name in veto.unless or {}:
                fact.fields.setdefault(name, False)
        fact.fields.update(span.extra)
        out.append(fact)
    return out, flags


def applies(veto: Veto, scheme: Scheme) -> bool:
    return veto.schemes is None or scheme in veto.schemes


def event_vetoes(veto: Veto, fact: EventFact) -> bool:
    """The reference reading of one event veto (the engine compiles the same conditions)."""
    if veto.event != fact.kind:
        return False
    if veto.ban_years is not None:
        hit = bool(fact.fields.get(f"ban_{veto.code}"))
    else:
        hit = bool(fact.fields.get(f"in_window_{veto.code}"))
    if veto.min_months is not None:
        hit = hit and int(fact.fields["months"]) >= veto.min_months
    if veto.unless:
        hit = hit and not all(fact.fields.get(k) == v for k, v in veto.unless.items())
    return hit


def input_vetoes(veto: Veto, data: dict[str, Any]) -> bool:
    """The reference reading of an answer-based veto: every condition holds on the declared answers."""
    from services.scoring.domain.outcomes import holds

    if veto.when is None:
        return False
    return all(
        data.get(name) is not None and holds(op, data[name], c)
        for name, conds in veto.when.items()
        for op, c in conds.items()
    )


def answers(eligibility: Eligibility, data: dict[str, Any]) -> dict[str, Any]:
    """The declaration's answers that answer-based vetoes read, type-checked."""
    out: dict[str, Any] = {}
    for veto in eligibility.vetoes:
        for name, conds in (veto.when or {}).items():
            raw = data.get(name)
            if raw is None:
                continue
            expected = next(iter(conds.values()))
            if isinstance(expected, bool) != isinstance(raw, bool):
                if isinstance(expected, bool):
                    raise InputError(name, "should be yes or no (true/false)", message_zh=not_yes_or_no_zh(raw))
                raise InputError(name, "should be a number", message_zh=f"应为数字，而不是“{shown_zh(raw)}”")
            out[name] = raw if isinstance(raw, bool) else number(name, raw)
    return out


def describe(veto: Veto, as_of: date, fact: EventFact | None, data: dict[str, Any]) -> VetoResult:
    if fact is None:
        shown = "，".join(f"{name} = {data.get(name)}" for name in (veto.when or {}))
        return VetoResult(code=veto.code, clause=veto.clause, evidence=f"{veto.name_zh}：{shown}", window=None)
    span = fact.start.isoformat() if fact.start == fact.end else f"{fact.start.isoformat()}..{fact.end.isoformat()}"
    if veto.ban_years is not None:
        window = f"{fact.start.isoformat()}..{years_after(fact.start, veto.ban_years).isoformat()}"
    elif veto.window_years:
        window = f"{years_before(as_of, veto.window_years).isoformat()}..{as_of.isoformat()}"
    else:
        window = None
    return VetoResult(code=veto.code, clause=veto.clause, evidence=f"{fact.label} {fact.kind} {span}", window=window)
