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

    id: str = Field(description="Item id as in DOMAIN.md, e.g. `GR-4`.")
    name_zh: str = Field(description="Indicator name in Chinese.")
    points: Decimal | None = Field(description="Points awarded; null unless status is `scored`.")
    max: Decimal = Field(description="Maximum points of the item.")
    status: ItemStatus = Field(description="scored | needs_expert | missing_input | not_applicable.")
    explanation: str = Field(description="Why, in Chinese.")
    basis: str = Field(description="The clause in the source document, or the DOMAIN.md decision id.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs the item used.")
    missing: list[str] = Field(default_factory=list, description="Inputs the item needs and did not get.")


class Veto(BaseModel):
    """An eligibility veto (DOMAIN.md §3)."""

    code: str = Field(description="Stable veto code.")
    clause: str = Field(description="The clause that vetoes.")
    evidence: str = Field(description="What triggered it.")
    window: str | None = Field(default=None, description="The period looked at, e.g. `2022-10-08..2025-10-08`.")


class Evaluation(BaseModel):
    """A scored declaration."""

    scheme: Scheme = Field(description="The scheme scored.")
    edition: str = Field(description="The rulebook edition used.")
    rulebook_version: str = Field(description="Content hash of the rulebook data used.")
    as_of: date = Field(description="The date the rules were applied as of.")
    items: list[ItemResult] = Field(description="Every item of the rulebook.")
    total: Decimal = Field(description="Total points of the scored items, rounded to 2 decimals (D-ROUND).")
    provisional: bool = Field(description="True while any item needs an expert.")
    level: int | None = Field(default=None, description="Grade level 1–4 (grading scheme, D-LEVEL); null if vetoed.")
    passed: bool | None = Field(default=None, description="Pass or fail (green-factory scheme).")
    vetoes: list[Veto] = Field(default_factory=list, description="Vetoes found; any veto means no level and no pass.")
