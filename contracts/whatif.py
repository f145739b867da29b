"""A policy what-if: every unit's latest declaration rescored under a draft edition beside the edition in force.

Served by the scoring API (``POST /v1/whatif``, bureau only) and written by ``greenfab whatif`` as
HTML, CSV and SVG. A what-if publishes nothing and writes nothing to any unit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from contracts.schemes import Scheme


class EditionRef(BaseModel):
    """An edition taking part in the what-if."""

    scheme: Scheme = Field(description="Its scheme.")
    edition: str = Field(description="Its name.")
    effective_from: date = Field(
        description="Its effective date (a draft's is not applied: it is tried on every unit)."
    )
    version: str = Field(description="Its content hash, with the benchmark edition and eligibility rules of today.")


class SettingChange(BaseModel):
    """A change of the edition's own settings (a level threshold, the pass mark, a category weight)."""

    path: str = Field(description="e.g. `levels.thresholds.level 4`.")
    before: str = Field(description="The value in force.")
    after: str = Field(description="The draft's value.")


class Counts(BaseModel):
    """How many units moved, and which way."""

    units: int = Field(default=0, description="Units of the scheme in the registry.")
    refused: int = Field(default=0, description="Units either edition refuses (invalid input): compared no further.")
    level_up: int = Field(default=0, description="Grading: a higher level under the draft.")
    level_down: int = Field(default=0, description="Grading: a lower level (or none) under the draft.")
    failed_to_passed: int = Field(default=0, description="Green factory: fails now, passes under the draft.")
    passed_to_failed: int = Field(default=0, description="Green factory: passes now, fails under the draft.")
    total_up: int = Field(default=0, description="A higher total under the draft.")
    total_down: int = Field(default=0, description="A lower total under the draft.")
    unchanged: int = Field(default=0, description="Same total, level and pass.")


class SchemeSummary(Counts):
    scheme: Scheme = Field(description="The scheme.")
    level_matrix: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Grading: units by level in force (rows) and under the draft (columns)."
    )
    histogram_edges: list[Decimal] = Field(default_factory=list, description="Bin edges of the totals.")
    histogram_before: list[int] = Field(default_factory=list, description="Units per bin, edition in force.")
    histogram_after: list[int] = Field(default_factory=list, description="Units per bin, draft.")


class DistrictSummary(Counts):
    scheme: Scheme = Field(description="The scheme.")
    district: str = Field(description="The district.")


class ItemMove(BaseModel):
    """An item whose points differ under the draft."""

    id: str = Field(description="Item id.")
    before: Decimal | None = Field(description="Points in force (null: not scored).")
    after: Decimal | None = Field(description="Points under the draft (null: not scored, or the item is gone).")


class Mover(BaseModel):
    """A unit whose level or pass changes under the draft."""

    uscc: str
    enterprise_name: str
    district: str
    scheme: Scheme
    total_before: Decimal
    total_after: Decimal
    level_before: int | None = None
    level_after: int | None = None
    passed_before: bool | None = None
    passed_after: bool | None = None
    items: list[ItemMove] = Field(default_factory=list, description="The items that moved it.")
    settings: list[str] = Field(default_factory=list, description="Edition settings that moved it (thresholds …).")


class WhatIfReport(BaseModel):
    """The whole what-if."""

    drafts: list[EditionRef] = Field(description="The draft editions tried.")
    in_force: list[EditionRef] = Field(description="The editions in force the units were scored by.")
    settings: list[SettingChange] = Field(default_factory=list, description="The drafts' changed settings.")
    items_changed: list[str] = Field(default_factory=list, description="Items added, removed or changed by the drafts.")
    units: int = Field(description="Units read from the registry.")
    other_schemes: int = Field(default=0, description="Units of schemes no draft covers (not rescored).")
    by_scheme: list[SchemeSummary] = Field(description="Per scheme.")
    by_district: list[DistrictSummary] = Field(description="Per scheme and district.")
    movers: list[Mover] = Field(description="Units whose level or pass changes (all of them, or the first `limit`).")
    movers_count: int = Field(description="How many units change level or pass in all.")
    elapsed_s: float = Field(description="Seconds the what-if took.")
    units_per_s: float = Field(description="Units rescored per second.")
    published: bool = Field(default=False, description="Always false: a what-if never publishes a draft.")
