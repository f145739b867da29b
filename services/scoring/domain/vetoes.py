"""Eligibility: the declaration's events and answers as facts, and the vetoes they trigger (DOMAIN.md §3).

Dates are turned into plain fields here (in the window? how many months? is a ban running?) so the
engine's veto rules compare single facts with constants, as durable_rules requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from services.scoring.domain.facts import InputError, number
from services.scoring.domain.rulebook import Eligibility, Veto


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


def whole_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months - (1 if end.day < start.day else 0)


def _date(index: int, name: str, raw: Any) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(f"events[{index}].{name}", f"should be a date (YYYY-MM-DD), got {raw!r}") from None


@dataclass
class EventFact:
    """One declared event, with the fields each veto rule compares."""

    index: int
    kind: str
    start: date
    end: date
    extra: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)


def event_facts(eligibility: Eligibility, events: Any, as_of: date) -> list[EventFact]:
    """Per event: for each veto on its kind, whether it is in that veto's window, lasts long enough, bans now."""
    if events is None:
        return []
    if not isinstance(events, list):
        raise InputError("events", "should be a list of {kind, date | from/to}")
    known = {v.event for v in eligibility.vetoes if v.event}
    out = []
    for i, raw in enumerate(events):
        if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
            raise InputError(f"events[{i}]", "should be an object with a kind")
        kind = raw["kind"]
        if kind not in known:
            raise InputError(f"events[{i}].kind", f"unknown event kind {kind!r}; known: {sorted(known)}")
        start = _date(i, "from", raw.get("from")) or _date(i, "date", raw.get("date"))
        if start is None:
            raise InputError(f"events[{i}]", "needs a date, or from (and to, unless it is ongoing)")
        end = _date(i, "to", raw.get("to")) or (_date(i, "date", raw.get("date")) or as_of)
        if end < start:
            raise InputError(f"events[{i}].to", "ends before it starts")
        extra = {k: v for k, v in raw.items() if k not in ("kind", "date", "from", "to") and isinstance(v, bool | str)}
        fact = EventFact(i, kind, start, end, extra)
        for veto in eligibility.vetoes:
            if veto.event != kind:
                continue
            window_start = years_before(as_of, veto.window_years) if veto.window_years else date.min
            fact.fields[f"in_window_{veto.code}"] = start <= as_of and end >= window_start
            fact.fields["months"] = whole_months(start, end)
            if veto.ban_years is not None:
                fact.fields[f"ban_{veto.code}"] = start <= as_of < years_after(start, veto.ban_years)
        fact.fields.update(extra)
        for veto in eligibility.vetoes:
            if veto.event == kind:
                # An event that does not say it was removed or rectified was not: the rule sees false.
                for name in veto.unless or {}:
                    fact.fields.setdefault(name, False)
        out.append(fact)
    return out


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
                raise InputError(
                    name, "should be yes or no (true/false)" if isinstance(expected, bool) else "should be a number"
                )
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
    return VetoResult(
        code=veto.code, clause=veto.clause, evidence=f"events[{fact.index}] {fact.kind} {span}", window=window
    )
