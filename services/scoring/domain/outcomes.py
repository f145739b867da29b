"""What an item scores once its case is decided: generic formulas whose numbers all come from the rulebook."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from string import Formatter
from typing import Any, NamedTuple

from services.scoring.domain.facts import Fact
from services.scoring.domain.rulebook import BenchmarkEdition, Case, Op, Outcome, Scalar

ZERO, ONE = Decimal(0), Decimal(1)
AT_AVERAGE, AT_TOP20 = Decimal("0.6"), Decimal("0.8")  # D-IND: the share of the points at these positions


class Scored(NamedTuple):
    """A decided outcome for one fact (a named tuple: made for every fact of every evaluation, and a frozen
    dataclass's __init__, one object.__setattr__ per field, cost three times as much)."""

    status: str  # scored | needs_expert | missing_input
    points: Decimal | None
    explanation: str
    flag: str | None = None
    missing: tuple[str, ...] = ()


def _fmt(x: Any) -> str:
    """Numbers as staff read them: up to 6 significant digits, no trailing zeros."""
    return _fmt_decimal(str(x)) if isinstance(x, Decimal) else str(x)


@lru_cache(maxsize=8192)
def _fmt_decimal(exact: str) -> str:
    # Cached by the exact text (equal Decimals such as 1E+7 and 10000000 can be shown differently): the same
    # constants and benchmark values appear in most explanations.
    text = f"{Decimal(exact):.6g}"
    return text if "e" in text else f"{Decimal(text).normalize():f}"


@lru_cache(maxsize=4096)
def _names(template: str) -> tuple[str, ...]:
    """The fields an explanation names: only these are formatted (a name it lacks still raises KeyError)."""
    return tuple({name.split(".")[0].split("[")[0] for _, name, _, _ in Formatter().parse(template) if name})


@lru_cache(maxsize=4096)
def _pieces(template: str) -> tuple[tuple[str, str | None], ...] | None:
    """The template as (literal text, field name) pairs when it names plain fields only (``{ratio}``, all of
    the rulebooks'), so it is filled by joining strings; None sends it to str.format."""
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in Formatter().parse(template):
        if name is not None and (spec or conversion or not name.isidentifier()):
            return None
        out.append((literal, name))
    return tuple(out)


def explain(template: str, fields: dict[str, Any]) -> str:
    """The explanation with the named fields as staff read numbers (_fmt); a name not in ``fields`` raises
    KeyError, as str.format does."""
    pieces = _pieces(template)
    if pieces is None:
        return template.format(**{k: _fmt(fields[k]) for k in _names(template) if k in fields})
    return "".join([literal if name is None else literal + _fmt(fields[name]) for literal, name in pieces])


def holds(op: Op, value: Any, constant: Scalar) -> bool:
    """One condition, as the reference interpreter reads it (the engine compiles the same to durable_rules)."""
    if isinstance(constant, bool) or isinstance(value, bool):
        return (value == constant) if op == "eq" else (value != constant) if op == "ne" else False
    if isinstance(constant, str) or isinstance(value, str):
        return (str(value) == str(constant)) if op == "eq" else (str(value) != str(constant)) if op == "ne" else False
    v, c = Decimal(value), Decimal(constant)
    return {"lt": v < c, "lte": v <= c, "gt": v > c, "gte": v >= c, "eq": v == c, "ne": v != c}[op]


def matches(case: Case, fields: dict[str, Any]) -> bool:
    return all(
        name in fields and holds(op, fields[name], c) for name, conds in case.when.items() for op, c in conds.items()
    )


@lru_cache(maxsize=4096, typed=True)
def constant(value: int | float | str | Decimal) -> Decimal:
    """A rulebook constant (a YAML number) as the Decimal of its text, made once (``typed``: 1 and 1.0 apart)."""
    return Decimal(str(value))


def apply(outcome: Outcome, fact: Fact) -> Scored:
    """Points of a decided case."""
    top = fact.max
    text = explain(outcome.explain, fact.fields)
    if outcome.expert is not None:
        return Scored("needs_expert", None, f"{text}（需专家评定：{outcome.expert}）", outcome.flag)
    if outcome.full:
        return Scored("scored", top, text, outcome.flag)
    if outcome.points is not None:
        return Scored("scored", min(outcome.points, top), text, outcome.flag)
    if outcome.linear is not None:
        v = Decimal(fact.fields[outcome.linear["of"]])  # type: ignore[arg-type]
        lo, hi = constant(outcome.linear["zero_at"]), constant(outcome.linear["full_at"])
        share = max(ZERO, min(ONE, (v - lo) / (hi - lo)))
        return Scored("scored", top * share, text, outcome.flag)
    if outcome.floor is not None:
        return Scored("scored", top * floor_share(outcome.floor, fact), text, outcome.flag)
    assert outcome.inverse is not None
    v = Decimal(fact.fields[outcome.inverse["of"]])  # type: ignore[arg-type]
    k = constant(outcome.inverse["numerator"])
    return Scored("scored", min(top, k / v) if v else top, text, outcome.flag)


def floor_share(spec: dict[str, Any], fact: Fact) -> Decimal:
    """D-FLOOR: below the floor 0; at it ``share_at_floor`` of the points, rising linearly to full at ``full_at``."""
    v = Decimal(fact.fields[spec["of"]])  # type: ignore[arg-type]
    floor, full_at = constant(spec["floor"]), constant(spec["full_at"])
    at_floor = constant(spec["share_at_floor"])
    if v < floor:
        return ZERO
    return min(ONE, at_floor + (ONE - at_floor) * (v - floor) / (full_at - floor))


def checklist(fact: Fact) -> Scored:
    boxes: dict[str, Any] = fact.item.params["boxes"]
    ticked = fact.fields[fact.item.inputs[0]]
    assert isinstance(ticked, list)
    total = sum((Decimal(str(boxes[b])) for b in ticked), ZERO)
    cap = Decimal(str(fact.item.params.get("cap", fact.max)))
    names = "、".join(ticked) if ticked else "无"
    return Scored("scored", min(total, cap, fact.max), f"满足项：{names}；合计 {_fmt(total)} 分，上限 {_fmt(cap)} 分")


_BENCHMARK_TEXTS: dict[int, tuple[dict[str, Decimal], str]] = {}


def _benchmark_text(bench: dict[str, Decimal]) -> str:
    """An indicator's benchmarks as staff read them, made once per benchmark (by identity: benchmark editions
    are frozen and live as long as their library)."""
    found = _BENCHMARK_TEXTS.get(id(bench))
    if found is None or found[0] is not bench:
        if len(_BENCHMARK_TEXTS) >= 4096:  # editions of replayed snapshots come and go
            _BENCHMARK_TEXTS.clear()
        avg, top20, lead = _fmt(bench["average"]), _fmt(bench["top20"]), _fmt(bench["leading"])
        found = _BENCHMARK_TEXTS[id(bench)] = (bench, f"行业平均 {avg}、前20% {top20}、领先 {lead}")
    return found[1]


def industry_position(fact: Fact, benchmarks: BenchmarkEdition, industry: str | None) -> Scored:
    """D-IND: leading → 100 %, top 20 % → 80 %, average → 60 %, linear between, down to 0 at 2× (or ½×) average."""
    params = fact.item.params
    bench = benchmarks.industries.get(industry or "", {}).get(params["indicator"])
    if bench is None:
        return Scored(
            "needs_expert", None, f"行业 {industry or '未填'} 暂无“{params['indicator']}”基准值，需专家评定（D-IND）"
        )
    v = Decimal(fact.fields["value"])  # type: ignore[arg-type]
    points, why = position_points(params, v, bench, fact.max)
    text = f"指标值 {_fmt(v)}；{_benchmark_text(bench)}"
    if why in ("met", "unmet"):
        # A basic requirement: met (full points) when not worse than average; strictly better when `strict`.
        verdict = "满足" if why == "met" else "未满足"
        return Scored("scored", points, f"{text}；{verdict}基本要求（D-IND）", None if why == "met" else "unmet")
    if why == "not_better":
        return Scored("scored", points, f"{text}；未优于行业前20%，不得分（D-IND）")
    return Scored("scored", points, f"{text}（D-IND）")


def position_points(
    params: dict[str, Any], value: Decimal, bench: dict[str, Decimal], maximum: Decimal
) -> tuple[Decimal, str]:
    """D-IND's points for a value against its industry's benchmarks, and which rule gave them: ``met`` or
    ``unmet`` (mode not_worse_than_average), ``not_better`` (better_than_top20 not reached) or ``position``.

    The one computation behind industry_position and the what-if's batch path (which needs no text).
    """
    avg, top20, lead = bench["average"], bench["top20"], bench["leading"]
    higher = params["direction"] == "higher_is_better"
    sign = ONE if higher else -ONE
    x = sign * value
    mode = params.get("mode", "position")
    if mode == "not_worse_than_average":
        met = x > sign * avg if params.get("strict") else x >= sign * avg
        return (maximum, "met") if met else (ZERO, "unmet")
    if mode == "better_than_top20":
        better = x > sign * top20 if params.get("strict", True) else x >= sign * top20
        if not better:
            return ZERO, "not_better"
    floor = sign * (avg / 2 if higher else avg * 2)
    anchors = [(floor, ZERO), (sign * avg, AT_AVERAGE), (sign * top20, AT_TOP20), (sign * lead, ONE)]
    if x >= anchors[-1][0]:
        share = ONE
    elif x <= floor:
        share = ZERO
    else:
        share = next(
            s0 + (s1 - s0) * (x - x0) / (x1 - x0)
            for (x0, s0), (x1, s1) in pairwise(anchors)
            if x0 <= x <= x1 and x1 != x0
        )
    return maximum * share, "position"
