"""The scoring methods: generic formulas whose every number comes from the rulebook's parameters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Outcome:
    """What a method decided for one item."""

    status: str  # scored | needs_expert
    points: Decimal | None
    explanation: str


def _d(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def _clamp01(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def _fmt(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.0001')).normalize():f}"


def proportional(value: Any, max_points: Decimal, params: dict[str, Any]) -> Outcome:
    """D-PROP: max × min(1, value / full_at)."""
    v, full_at = _d(value), _d(params["full_at"])
    points = max_points * _clamp01(v / full_at)
    return Outcome("scored", points, f"指标值 {_fmt(v)}，达到 {_fmt(full_at)} 得满分，按比例得分（D-PROP）")


def linear(value: Any, max_points: Decimal, params: dict[str, Any]) -> Outcome:
    """D-LIN: 0 at or below zero_at, full at or beyond full_at, linear between."""
    v, lo, hi = _d(value), _d(params["zero_at"]), _d(params["full_at"])
    points = max_points * _clamp01((v - lo) / (hi - lo))
    return Outcome(
        "scored", points, f"指标值 {_fmt(v)}：{_fmt(lo)} 及以下得 0 分，{_fmt(hi)} 及以上得满分，其间线性插值（D-LIN）"
    )


def checklist(value: Any, max_points: Decimal, params: dict[str, Any]) -> Outcome:
    """Sum of the ticked boxes' points, capped."""
    boxes: dict[str, Any] = params["boxes"]
    ticked = [b for b in value if b in boxes]
    total = sum((_d(boxes[b]) for b in ticked), ZERO)
    cap = _d(params.get("cap", max_points))
    points = min(total, cap, max_points)
    names = "、".join(ticked) if ticked else "无"
    return Outcome("scored", points, f"满足项：{names}；合计 {_fmt(total)} 分，上限 {_fmt(cap)} 分")


def industry_position(
    value: Any, max_points: Decimal, params: dict[str, Any], benchmark: dict[str, Any] | None
) -> Outcome:
    """D-IND against the industry's benchmark; none → an expert decides, never a silent 0."""
    if benchmark is None:
        return Outcome("needs_expert", None, "本行业暂无基准值，需专家评定（D-IND）")
    v = _d(value)
    avg, top20, leading = _d(benchmark["average"]), _d(benchmark["top20"]), _d(benchmark["leading"])
    higher = params["direction"] == "higher_is_better"
    # Map to a scale where larger is better, then interpolate between the anchors of D-IND.
    sign = ONE if higher else -ONE
    x, a, t, lead = sign * v, sign * avg, sign * top20, sign * leading
    floor = sign * (avg / 2 if higher else avg * 2)
    anchors = [(floor, ZERO), (a, Decimal("0.6")), (t, Decimal("0.8")), (lead, ONE)]
    if x >= lead:
        share = ONE
    elif x <= floor:
        share = ZERO
    else:
        share = ZERO
        for (x0, s0), (x1, s1) in pairwise(anchors):
            if x0 <= x <= x1 and x1 != x0:
                share = s0 + (s1 - s0) * (x - x0) / (x1 - x0)
                break
    return Outcome(
        "scored",
        max_points * share,
        f"指标值 {_fmt(v)}，行业平均 {_fmt(avg)}、前20% {_fmt(top20)}、领先 {_fmt(leading)}（D-IND）",
    )
