"""Assembling decided facts into an Evaluation: parts, categories (D-NA), totals (D-ROUND), level, pass, vetoes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel

from contracts.evaluation import CategoryResult, Evaluation, Flag, ItemResult
from contracts.evaluation import Veto as VetoResult
from contracts.schemes import Scheme
from services.scoring.domain.facts import Fact, InputError
from services.scoring.domain.outcomes import Scored, holds
from services.scoring.domain.rulebook import Check, Edition, Item

CENT = Decimal("0.01")
UNMET = "unmet"  # the outcome flag of a basic or veto requirement that is not met
ZERO = Decimal(0)


# D-ROUND's context: the default one (precision 28, its traps), rounding half up. Its quantize takes no keyword
# argument to parse, which made it a tenth of an item's cost.
_HALF_UP = Context(rounding=ROUND_HALF_UP)
_round = _HALF_UP.quantize


def round_points(x: Decimal) -> Decimal:
    """D-ROUND: shown points to 2 decimals, half up."""
    return _round(x, CENT)


@dataclass(slots=True)
class Decided:
    """An item's exact outcome before rounding."""

    item: Item
    status: str
    points: Decimal | None
    explanation: str
    inputs: dict[str, Any]
    missing: list[str]
    flags: list[str]


def decide_fact(item: Item, fact: Fact, o: Scored) -> Decided:
    """An item of one fact (not a ``parts`` item), applicable and with its inputs, from that fact's outcome."""
    if o.missing:
        missing = list(o.missing)
        return Decided(item, "missing_input", None, "缺少输入：" + "、".join(missing), fact.inputs, missing, [])
    return Decided(item, o.status, o.points, o.explanation, fact.inputs, [], [o.flag] if o.flag else [])


def decide_item(item: Item, facts: list[Fact], scored: dict[str, Scored]) -> Decided:
    """One item from its fact(s): a ``parts`` item sums its parts, capped."""
    if len(facts) == 1 and facts[0].part is None and not facts[0].not_applicable and not facts[0].missing:
        # Most items: one fact, scored (the general path below gives the same, with more lists built).
        return decide_fact(item, facts[0], scored[facts[0].key])
    inputs = {k: v for f in facts for k, v in f.inputs.items()}
    missing = [m for f in facts for m in f.missing]
    if any(f.not_applicable for f in facts):
        return Decided(item, "not_applicable", None, f"不适用（{item.applies_if} = 否，D-NA）", {}, [], [])
    if missing:
        return Decided(item, "missing_input", None, "缺少输入：" + "、".join(missing), inputs, missing, [])
    outs = [scored[f.key] for f in facts]
    flags = [o.flag for o in outs if o.flag]
    lacking = [m for o in outs for m in o.missing]
    if lacking:
        return Decided(item, "missing_input", None, "缺少输入：" + "、".join(lacking), inputs, lacking, [])
    if len(facts) == 1 and facts[0].part is None:
        o = outs[0]
        return Decided(item, o.status, o.points, o.explanation, inputs, [], flags)
    text = "；".join(o.explanation for o in outs)
    if any(o.status == "needs_expert" for o in outs):
        partial = sum((o.points for o in outs if o.points is not None), ZERO)
        return Decided(
            item, "needs_expert", None, f"{text}（其余部分已得 {round_points(partial)} 分）", inputs, [], flags
        )
    total = sum((o.points for o in outs if o.points is not None), ZERO)
    cap = Decimal(str(item.params.get("cap", item.max)))
    capped = min(total, cap)
    if capped < total:
        text += f"；合计 {round_points(total)} 分，按满分 {cap} 分封顶"
    return Decided(item, "scored", capped, text, inputs, [], flags)


def apply_expert(d: Decided, expert_points: Mapping[str, Decimal]) -> None:
    """An expert's points for an item the rules could not score (酌情给分): the whole item, within its maximum."""
    given = expert_points.get(d.item.id)
    if given is None or d.status != "needs_expert":
        return
    if not ZERO <= given <= d.item.max:
        raise InputError(
            d.item.id,
            f"expert points {given} outside 0..{d.item.max}",
            message_zh=f"专家评分 {given} 不在 0 至 {d.item.max} 分之间",
        )
    d.status, d.points = "scored", given
    d.explanation = f"专家评定 {round_points(given)} 分（{d.explanation}）"


_Model = TypeVar("_Model", bound=BaseModel)
_new = object.__new__
# BaseModel's slots, set through their descriptors (object.__setattr__ looks each name up on the class first).
_slots = BaseModel.__dict__
_set_dict = _slots["__dict__"].__set__
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_FIELDS_SET: dict[type[BaseModel], set[str]] = {}


def built(model: type[_Model], values: dict[str, Any]) -> _Model:
    """A model over ``values`` without validating them: for data this module made to the model's types (what
    validation would hand back unchanged), so its JSON is byte for byte the validated model's. Every field must
    be given, in the model's order. Cheaper than ``model_construct`` (no defaults looked up, no per-field loop);
    tests/unit/test_differential.py checks it against ``model_validate`` on every generated declaration.
    """
    obj = _new(model)
    _set_dict(obj, values)
    # Every field is set, so every instance of a model can share one set of them: pydantic only adds a name to it
    # (on assignment: a name already there) and copies it for model_copy, __copy__ and unpickling.
    fields_set = _FIELDS_SET.get(model)
    if fields_set is None:
        fields_set = _FIELDS_SET[model] = set(values)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def _result(d: Decided) -> ItemResult:
    points, item = d.points, d.item
    return built(
        ItemResult,
        {
            "id": item.id,
            "name_zh": item.name_zh,
            "points": _round(points, CENT) if points is not None else None,  # D-ROUND
            "max": item.max,
            "status": d.status,
            "explanation": d.explanation,
            "basis": item.basis,
            "inputs": d.inputs,
            "missing": d.missing,
        },
    )


def _categories(edition: Edition, decided: list[Decided]) -> tuple[list[CategoryResult], Decimal]:
    out, total = [], ZERO
    # Per category: its applicable maximum and the points got, added up in the items' order.
    sums: dict[str | None, list[Decimal]] = {}
    for d in decided:
        if d.status != "not_applicable":
            acc = sums.get(d.item.category)
            if acc is None:
                acc = sums[d.item.category] = [ZERO, ZERO]
            acc[0] += d.item.max
            if d.points is not None:
                acc[1] += d.points
    for cat in edition.categories:
        applicable_max, got = sums.get(cat.id, (ZERO, ZERO))
        # D-NA: a category is scored on its applicable maximum and scaled back to its full points.
        points = got * cat.points / applicable_max if applicable_max else ZERO
        weighted = points * cat.weight
        total += weighted
        out.append(
            built(
                CategoryResult,
                {
                    "id": cat.id,
                    "name_zh": cat.name_zh,
                    "points": round_points(points),
                    "weight": cat.weight,
                    "weighted": round_points(weighted),
                },
            )
        )
    return out, total


def _cents(value: Decimal) -> str:
    """A value shown to the cent; one too large to quantize (a check's formula may multiply) as it is."""
    try:
        return f"{value.quantize(CENT)}"
    except InvalidOperation:
        return f"{value}"


def run_check(check: Check, data: dict[str, Any]) -> Flag | None:
    """An edition's cross-check over the declaration's inputs; None when it does not apply or holds not."""
    from services.scoring.domain.expressions import ExpressionError, parse
    from services.scoring.domain.facts import derive_error, number

    values: dict[str, Decimal] = {}
    for name, expr in check.derive.items():
        parsed = parse(expr)
        if any(data.get(n) is None for n in parsed.names if n not in values):
            return None
        values.update({n: number(n, data[n]) for n in parsed.names if n not in values})
        try:
            values[name] = parsed.evaluate(values)
        except ExpressionError as exc:  # as an item's derived value: the declaration's input problem
            raise derive_error(name, parsed, exc) from None
    if all(holds(op, values[f], c) for f, conds in check.when.items() for op, c in conds.items()):
        shown = {k: _cents(v) for k, v in values.items()}
        return Flag(code=check.code, item="-", detail=check.explain.format(**shown) + f"（{check.basis}）")
    return None


def verdict_zh(
    edition: Edition,
    decided: list[Decided],
    vetoes: list[VetoResult],
    failing: list[str],
    total: Decimal,
    level: int | None,
    passed: bool | None,
) -> str:
    """The result in a sentence; with no level or pass, the true reason (vetoes by clause, missing inputs, experts)."""
    binding = [v for v in vetoes if not v.overridable]
    missing = [f"{d.item.id}（{'、'.join(d.missing)}）" for d in decided if d.status == "missing_input"]
    experts = [d.item.id for d in decided if d.status == "needs_expert"]
    pending = []
    if missing:
        pending.append("缺少输入，请补充后重新申报：" + "；".join(missing))
    if experts:
        pending.append("待专家评定：" + "、".join(experts))
    if binding:
        why = "；".join(f"{v.clause}（{v.evidence}）" for v in binding)
        head = "无等级" if edition.levels is not None else "未通过" if edition.passing is not None else "不予认定"
        return f"{head}：存在否决项 {why}" + (f"；另{'；'.join(pending)}" if pending else "")
    if edition.passing is not None and failing:
        return "未通过：基本要求未满足 " + "、".join(failing) + (f"；另{'；'.join(pending)}" if pending else "")
    if pending:
        head = "暂无等级（" if edition.levels is not None else "暂无结论（" if edition.passing is not None else ""
        return f"{head}暂定总分 {total}{'）' if head else ''}：" + "；".join(pending)
    if level is not None:
        return f"{level} 级（总分 {total}）"
    if passed is not None:
        assert edition.passing is not None
        mark = edition.passing.min_total
        return f"通过（总分 {total} ≥ {mark}）" if passed else f"未通过：总分 {total} 低于 {mark}"
    return f"总分 {total}"


def gate_passes(edition: Edition, data: dict[str, Any]) -> bool:
    if edition.gate is None:
        return True
    return any(
        all(name in data and holds(op, data[name], c) for name, conds in option.items() for op, c in conds.items())
        for option in edition.gate.any_of
    )


def assemble(
    scheme: Scheme,
    edition: Edition,
    version: str,
    as_of: date,
    facts: list[Fact],
    scored: dict[str, Scored],
    vetoes: list[VetoResult],
    data: dict[str, Any],
    expert_points: Mapping[str, Decimal] | None = None,
    flags: list[Flag] | None = None,
) -> Evaluation:
    """The evaluation; exact sums inside, rounded once when shown. ``expert_points`` score needs_expert items;
    ``flags`` are findings for staff from before the rules ran (e.g. events after the as-of date)."""
    by_item: dict[str, list[Fact]] = {}
    for f in facts:
        by_item.setdefault(f.item.id, []).append(f)
    decided = [decide_item(item, by_item[item.id], scored) for item in edition.items]
    if expert_points:
        for d in decided:
            apply_expert(d, expert_points)
    return evaluation(scheme, edition, version, as_of, decided, vetoes, data, flags)


def evaluation(
    scheme: Scheme,
    edition: Edition,
    version: str,
    as_of: date,
    decided: list[Decided],
    vetoes: list[VetoResult],
    data: dict[str, Any],
    flags: list[Flag] | None = None,
) -> Evaluation:
    """The evaluation of decided items (one per item of ``edition``, in its order): what assemble does once
    every item is decided; the engine's compiled editions (engine.py) decide their items themselves."""
    vetoes = list(vetoes)
    # One pass over the items for what depends on their flags and status (each list in the items' order).
    failing: list[str] = []
    found: list[Flag] = []
    provisional = False
    for d in decided:
        if d.flags:
            if UNMET in d.flags:
                if d.item.requirement == "veto":
                    vetoes.append(
                        VetoResult(code=f"requirement:{d.item.id}", clause=d.item.basis, evidence=d.explanation)
                    )
                elif d.item.requirement == "basic":
                    failing.append(d.item.id)
            found += [Flag(code=code, item=d.item.id, detail=d.explanation) for code in d.flags if code != UNMET]
        if d.status == "needs_expert" or d.status == "missing_input":
            provisional = True
    if not gate_passes(edition, data):
        assert edition.gate is not None
        vetoes.append(VetoResult(code="gate", clause=edition.gate.basis, evidence=edition.gate.explain))
    categories, weighted_total = _categories(edition, decided)
    exact = weighted_total if edition.categories else sum((d.points for d in decided if d.points is not None), ZERO)
    binding = [v for v in vetoes if not v.overridable]
    level = None
    if edition.levels is not None and not provisional and not binding:
        level = next(
            (t.level for t in sorted(edition.levels.thresholds, key=lambda t: -t.min_total) if exact >= t.min_total),
            None,
        )
    passed = None
    if edition.passing is not None:
        if binding or failing:
            passed = False
        elif not provisional:
            passed = exact >= edition.passing.min_total
    found += [flag for check in edition.checks if (flag := run_check(check, data)) is not None]
    verdict = verdict_zh(edition, decided, vetoes, failing, round_points(exact), level, passed)
    return built(
        Evaluation,
        {
            "scheme": scheme,
            "edition": edition.edition,
            "rulebook_version": version,
            "as_of": as_of,
            "items": [_result(d) for d in decided],
            "total": round_points(exact),
            "provisional": provisional,
            "level": level,
            "passed": passed,
            "failing_basic": failing,
            "categories": categories,
            "vetoes": vetoes,
            "verdict_zh": verdict,
            "flags": [*(flags or []), *found],
        },
    )
