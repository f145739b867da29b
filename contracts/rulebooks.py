"""Rulebook editions over HTTP (scoring API): list, check, publish, replay; advice and what-if requests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.evaluation import Evaluation
from contracts.schemes import Scheme
from contracts.text import Paragraph


class EditionRow(BaseModel):
    """One edition of a scheme."""

    scheme: Scheme = Field(description="The scheme.")
    edition: str = Field(description="The edition's name.")
    effective_from: date = Field(description="The first as-of date it scores.")
    items: int = Field(description="How many items it has.")
    version: str = Field(description="Its content hash with the benchmark edition in force on its effective date.")
    published_by: str | None = Field(default=None, description="Who published it through greenfab (else: as shipped).")
    published_reason: str | None = Field(default=None, description="Why.")


class RuleProblem(BaseModel):
    """One reason a draft is refused."""

    edition: str = Field(description="The edition.")
    item: str = Field(description="The item id, or empty for the edition's own settings.")
    field: str = Field(description="The field, e.g. `cases[0].then.points`.")
    message_zh: str = Field(description="Why, in Chinese.")
    message_en: str = Field(description="Why, in English.")


class DraftBody(BaseModel):
    """A draft rulebook as the bureau wrote it (the YAML of rules/<scheme>/rulebook.yaml, as a JSON object)."""

    model_config = ConfigDict(extra="forbid")

    rulebook: dict[str, Any] = Field(description="scheme, name_zh, name_en, editions (and optionally its own cases).")
    edition: str | None = Field(default=None, max_length=64, description="The draft edition (default: the latest).")


class CheckResult(BaseModel):
    ok: bool = Field(description="No problem found.")
    problems: list[RuleProblem] = Field(description="Every problem, by edition, item and field.")


class PublishBody(DraftBody):
    effective_from: date = Field(description="From when it scores declarations: today or later.")
    reason: Paragraph = Field(
        min_length=4, max_length=2000, description="Why the bureau publishes it (on the audit record)."
    )


class PublishResult(BaseModel):
    scheme: Scheme
    edition: str
    effective_from: date
    version: str = Field(description="The published edition's version (with the benchmark edition of that date).")
    published_by: str


class WhatIfBody(BaseModel):
    """Draft rulebooks to try on every unit's latest declaration (one per scheme)."""

    model_config = ConfigDict(extra="forbid")

    drafts: list[DraftBody] = Field(min_length=1, max_length=3)
    limit: int = Field(default=1000, ge=0, le=100_000, description="How many movers to list (all are counted).")


class AdviceBody(BaseModel):
    """A declaration to advise on (not stored): as `greenfab advise FILE` takes it."""

    model_config = ConfigDict(extra="forbid")

    scheme: Scheme
    declared_on: date
    data: dict[str, Any]
    level: int | None = Field(default=None, ge=1, le=4, description="Grading: the level to plan for (default next).")
    target: Decimal | None = Field(default=None, ge=0, le=200, description="A target total to plan for.")


class Replay(BaseModel):
    """A stored evaluation scored again under the rulebook version that scored it."""

    submission_id: str
    rulebook_version: str
    identical: bool = Field(description="The replay gives exactly the stored evaluation.")
    stored: Evaluation
    replayed: Evaluation
