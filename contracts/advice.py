"""The green-diagnosis advisor's answer (003 第十六条): points still available, the changes that earn them, a plan.

Served by the scoring API (``GET /v1/units/{uscc}/advice``, ``POST /v1/advice``) and printed by
``greenfab advise``. Every number in it was scored by the rules engine (durable_rules) on the
declaration with the change applied; nothing is estimated by a separate model.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.schemes import Scheme


class InputChange(BaseModel):
    """One input of the declaration, as it is and as the advice proposes, in the declaration's own units."""

    input: str = Field(description="The input's name in the declaration's `data`, e.g. `renewable_energy_share`.")
    label_zh: str = Field(description="Its label on the form, e.g. 可再生能源使用量占比.")
    unit: str = Field(default="", description="Its unit (万元, t, m², tce, %, 台 …); empty for yes/no and choices.")
    before: Any = Field(description="The declared value (JSON as declared: number, true/false, word, box list).")
    after: Any = Field(description="The proposed value, in the same form as `before`.")
    before_text: str = Field(description="The declared value as people read it, e.g. `8.5%`, `3100 t`, `否`.")
    after_text: str = Field(description="The proposed value as people read it, e.g. `15%`.")


class Indicator(BaseModel):
    """The value an item's formula derives from the inputs (e.g. 绿色物料使用率 = 绿色物料使用量 / 物料总量)."""

    name: str = Field(description="The derived value's name in the rulebook, e.g. `rate`.")
    before: Decimal = Field(description="Derived from the declared inputs.")
    after: Decimal = Field(description="Derived from the proposed inputs.")


class AdviceOption(BaseModel):
    """A change to the declaration that earns an item more points, scored by the engine."""

    item: str = Field(description="The item it is for, e.g. `GR-15`.")
    changes: list[InputChange] = Field(description="The inputs to change.")
    indicator: Indicator | None = Field(default=None, description="The item's derived value before and after.")
    effort: Decimal = Field(description="Effort the bureau counts for it (rules/advice.yaml; default 1 per change).")
    item_points_before: Decimal = Field(description="The item's points now.")
    item_points_after: Decimal = Field(description="The item's points with the change (engine).")
    total_after: Decimal = Field(description="The unit's total with only this change (engine).")
    gain: Decimal = Field(
        description="total_after − the total now: can exceed the item's own gain when the change moves other "
        "items too (e.g. a higher output value lowers every intensity)."
    )
    level_after: int | None = Field(default=None, description="Grading: the level with only this change.")
    passed_after: bool | None = Field(default=None, description="Green factory: pass with only this change.")
    moved: dict[str, list[Decimal | None]] = Field(
        default_factory=dict, description="Every item whose points the change moves: [before, after]."
    )
    text_zh: str = Field(description="In one line, e.g. `可再生能源使用量占比 8.5% → 15%，+2.6 分，003 附表 序号15`.")


class ItemAdvice(BaseModel):
    """One item: what it scores, what is still available, and how to earn it (or why it cannot be moved)."""

    id: str = Field(description="Item id, e.g. `GR-15`.")
    name_zh: str = Field(description="Indicator name.")
    basis: str = Field(description="The clause behind the item.")
    status: str = Field(description="The item's status now: scored, needs_expert, missing_input, not_applicable.")
    points: Decimal | None = Field(description="Points now (null unless scored).")
    max: Decimal = Field(description="The item's maximum.")
    available: Decimal = Field(description="Points still available: max − points (0 when not scored).")
    movable: bool = Field(description="Whether a change to the declaration can earn more points on this item.")
    why_not_zh: str = Field(default="", description="When not movable: why (满分, 专家评定, 缺少输入, 不适用, …).")
    options: list[AdviceOption] = Field(default_factory=list, description="Changes that earn more, best first.")


class Blocker(BaseModel):
    """Something the declaration's numbers cannot move: an expert item or a veto."""

    kind: Literal["expert", "veto", "missing_input", "gate"] = Field(description="What blocks.")
    code: str = Field(description="Item id (expert, missing input) or veto code.")
    clause: str = Field(description="The clause behind it.")
    detail_zh: str = Field(description="What it is and what would lift it.")
    points_at_stake: Decimal | None = Field(default=None, description="Expert items: the points an expert may give.")
    until: date | None = Field(
        default=None, description="Vetoes: the first as-of date on which it no longer counts (null: not by time)."
    )
    overridable: bool = Field(default=False, description="An 'in principle' veto staff may override with a reason.")


class AdviceTarget(BaseModel):
    """What the plan aims at."""

    kind: Literal["level", "pass", "score"] = Field(description="Next level (grading), pass (green factory), score.")
    level: int | None = Field(default=None, description="The level aimed at (grading).")
    min_total: Decimal = Field(description="The total that reaches it (from the rulebook, or the target asked for).")
    basis: str = Field(default="", description="The clause or decision that sets it.")
    short_by: Decimal = Field(description="Points still missing (0 when reached already).")


class AdvicePlan(BaseModel):
    """The cheapest set of changes (by the bureau's effort weights) that reaches the target."""

    changes: list[AdviceOption] = Field(description="The changes, each as scored alone; the plan applies them all.")
    effort: Decimal = Field(description="Sum of the changes' effort.")
    total_after: Decimal = Field(description="The total with every change applied (engine).")
    level_after: int | None = Field(default=None, description="Grading: the level with every change (engine).")
    passed_after: bool | None = Field(default=None, description="Green factory: pass with every change (engine).")
    reaches_target: bool = Field(description="The engine confirms the declaration with these changes reaches it.")
    data_after: dict[str, Any] = Field(
        description="The declaration's data with every change applied: score it to check."
    )


class Advice(BaseModel):
    """A unit's diagnosis: item by item, what is available and how; a plan to the target; what cannot move."""

    scheme: Scheme = Field(description="The scheme.")
    edition: str = Field(description="The rulebook edition (the one that scored the declaration).")
    rulebook_version: str = Field(description="Its content hash.")
    as_of: date = Field(description="The declaration's as-of date.")
    uscc: str | None = Field(default=None, description="The unit, when the advice is for a stored declaration.")
    enterprise_name: str | None = Field(default=None, description="The unit's name, when known.")
    district: str | None = Field(default=None, description="The unit's district, when known.")
    submission_id: str | None = Field(default=None, description="The declaration advised on, when stored.")
    total: Decimal = Field(description="The total now (engine).")
    level: int | None = Field(default=None, description="The level now (grading).")
    passed: bool | None = Field(default=None, description="Pass now (green factory).")
    provisional: bool = Field(description="The total waits for experts or missing inputs.")
    target: AdviceTarget | None = Field(default=None, description="What the plan aims at; null when nothing is above.")
    plan: AdvicePlan | None = Field(default=None, description="The plan; null when reached, or out of reach.")
    items: list[ItemAdvice] = Field(description="Every item of the edition, in its order.")
    blockers: list[Blocker] = Field(default_factory=list, description="Expert items, vetoes, missing inputs.")
    notes_zh: list[str] = Field(default_factory=list, description="What else the unit should know (e.g. 第十六条).")
    elapsed_ms: int = Field(default=0, description="How long the advice took to compute.")
