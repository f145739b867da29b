"""Assembling item outcomes into an Evaluation: totals, level, provisional (D-ROUND, D-LEVEL)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from contracts.evaluation import Evaluation, ItemResult
from contracts.schemes import Scheme
from services.scoring.domain.facts import ItemFact
from services.scoring.domain.methods import Outcome
from services.scoring.domain.rulebook import Edition

CENT = Decimal("0.01")


def round_points(x: Decimal) -> Decimal:
    """D-ROUND: shown points to 2 decimals, half up."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def item_result(fact: ItemFact, outcome: Outcome | None) -> ItemResult:
    item = fact.item
    if outcome is None:
        return ItemResult(
            id=item.id,
            name_zh=item.name_zh,
            points=None,
            max=item.max,
            status="missing_input",
            explanation="缺少输入：" + "、".join(fact.missing),
            basis=item.basis,
            inputs={},
            missing=fact.missing,
        )
    return ItemResult(
        id=item.id,
        name_zh=item.name_zh,
        points=round_points(outcome.points) if outcome.points is not None else None,
        max=item.max,
        status=outcome.status,
        explanation=outcome.explanation,
        basis=item.basis,
        inputs=fact.inputs,
    )


def assemble(
    scheme: Scheme, edition: Edition, version: str, as_of: date, facts: list[ItemFact], outcomes: dict[str, Outcome]
) -> Evaluation:
    """The evaluation; exact sums inside, rounded once when shown."""
    items = [item_result(f, outcomes.get(f.item.id)) for f in facts]
    exact = sum((o.points for o in outcomes.values() if o.points is not None), Decimal(0))
    provisional = any(i.status in ("needs_expert", "missing_input") for i in items)
    level = None
    if edition.levels is not None and not provisional:
        for t in sorted(edition.levels.thresholds, key=lambda t: t.min_total, reverse=True):
            if exact >= t.min_total:
                level = t.level
                break
    return Evaluation(
        scheme=scheme,
        edition=edition.edition,
        rulebook_version=version,
        as_of=as_of,
        items=items,
        total=round_points(exact),
        provisional=provisional,
        level=level,
    )
