"""The result of scoring one declaration, item by item."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.schemes import Scheme

ItemStatus = Literal["scored", "needs_expert", "missing_input", "not_applicable"]


class ItemResult(BaseModel):
    """One indicator's outcome."""

    id: str = Field(description="Item id as in the rulebook, e.g. `GR-4`.")
    name_zh: str = Field(description="Indicator name in Chinese.")
    points: Decimal | None = Field(description="Points awarded; null unless status is `scored`.")
    max: Decimal = Field(description="Maximum points of the item.")
    status: ItemStatus = Field(description="scored | needs_expert | missing_input | not_applicable.")
    explanation: str = Field(description="Why, in Chinese.")
    basis: str = Field(
        description="The clause in the source document, and the decision id (rules/DECISIONS.md) it follows."
    )
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs the item used.")
    missing: list[str] = Field(default_factory=list, description="Inputs the item needs and did not get.")


class Veto(BaseModel):
    """An eligibility veto (003 第十一条 and others; rules/eligibility/vetoes.yaml)."""

    code: str = Field(description="Stable veto code.")
    clause: str = Field(description="The clause that vetoes.")
    evidence: str = Field(description="What triggered it.")
    window: str | None = Field(default=None, description="The period looked at, e.g. `2022-10-08..2025-10-08`.")
    overridable: bool = Field(
        default=False,
        description="An 'in principle' rule (003 第八/九条): staff may override it with a recorded reason.",
    )


class CategoryResult(BaseModel):
    """A weighted category's subtotal (green-factory scheme)."""

    id: str = Field(description="Category id.")
    name_zh: str = Field(description="Category name in Chinese.")
    points: Decimal = Field(description="Points out of the category's 100, scaled for not-applicable items (D-NA).")
    weight: Decimal = Field(description="The category's weight, e.g. 0.20.")
    weighted: Decimal = Field(description="points × weight: the category's share of the total.")


class Flag(BaseModel):
    """Something staff must see that is not a veto, e.g. a pollutant above its standard."""

    code: str = Field(description="Stable flag code.")
    item: str = Field(description="The item that raised it.")
    detail: str = Field(description="What, in Chinese.")


class Evaluation(BaseModel):
    """A scored declaration."""

    scheme: Scheme = Field(description="The scheme scored.")
    edition: str = Field(description="The rulebook edition used.")
    rulebook_version: str = Field(description="Content hash of the rulebook data used.")
    as_of: date = Field(description="The date the rules were applied as of.")
    items: list[ItemResult] = Field(description="Every item of the rulebook.")
    total: Decimal = Field(
        description="Total points (weighted where the scheme weights categories), rounded to 2 decimals (D-ROUND)."
    )
    provisional: bool = Field(description="True while any item needs an expert or misses an input.")
    level: int | None = Field(
        default=None,
        description="Grade level 1–4 (grading scheme, D-LEVEL); null if vetoed, or while inputs are missing or "
        "expert items are pending (`verdict_zh` says which).",
    )
    passed: bool | None = Field(
        default=None, description="Pass or fail (green-factory scheme, D-GF-PASS); null while provisional."
    )
    failing_basic: list[str] = Field(default_factory=list, description="Basic requirements not met (green-factory).")
    categories: list[CategoryResult] = Field(default_factory=list, description="Weighted categories (green-factory).")
    vetoes: list[Veto] = Field(default_factory=list, description="Vetoes found; any veto means no level and no pass.")
    verdict_zh: str | None = Field(
        default=None,
        description="The result in a sentence, in Chinese; where there is no level or no pass, the true reason: "
        "the vetoes by clause, the items missing inputs (to be completed by the enterprise), or the items "
        "awaiting an expert.",
    )
    flags: list[Flag] = Field(default_factory=list, description="Findings staff must see.")


class EvaluationHead(BaseModel):
    """What scored an evaluation (scheme, edition, rulebook version, date): read from its JSON, its items skipped."""

    scheme: Scheme
    edition: str
    rulebook_version: str
    as_of: date
