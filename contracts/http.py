"""HTTP request and response bodies of every greenfab API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from contracts.evaluation import Evaluation
from contracts.identifiers import District, PlannedDay, Uscc
from contracts.schemes import Scheme
from contracts.text import Line


class DeclarationCreate(BaseModel):
    """A declaration as a front end sends it."""

    model_config = ConfigDict(extra="forbid")

    declaration_id: str | None = Field(
        default=None,
        description="Optional client-chosen id, unique within the enterprise: sending it again returns the first "
        "answer. The stored declaration's `id` is intake's own.",
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
    )
    scheme: Scheme = Field(description="grading | green-factory | beautiful-factory.")
    uscc: Uscc
    enterprise_name: Line = Field(description="申报单位名称.", min_length=1, max_length=200)
    district: District
    declared_on: PlannedDay = Field(description="申报日期 (ISO date, 1949-10-01 … 2100-12-31).")
    data: dict[str, Any] = Field(description="Indicator inputs of the scheme, keyed by item input name.")

    @field_validator("data")
    @classmethod
    def _within_limits(cls, data: dict[str, Any]) -> dict[str, Any]:
        problems = list(_limit_problems(data, "data", depth=0))
        if problems:
            # One error for the field (a validator raises one), every problem in it, in both languages.
            raise PydanticCustomError(
                "data_limit",
                "{message_en}",
                {
                    "message_en": "; ".join(en for en, _ in problems[:20]),
                    "message_zh": "；".join(zh for _, zh in problems[:20]),
                },
            )
        return data


# Limits on what a declaration's data may hold (the body as a whole is limited by the service too).
MAX_KEYS, MAX_KEY_CHARS, MAX_STRING_CHARS, MAX_ITEMS, MAX_DEPTH = 500, 64, 2000, 100, 4


def _limit_problems(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """Each limit ``value`` passes, as (English, Chinese), naming where."""
    if depth > MAX_DEPTH:
        yield f"{path}: nested deeper than {MAX_DEPTH} levels", f"{path}：嵌套超过 {MAX_DEPTH} 层"
    elif isinstance(value, dict):
        if len(value) > MAX_KEYS:
            yield (
                f"{path}: more than {MAX_KEYS} fields ({len(value)})",
                f"{path}：输入项超过 {MAX_KEYS} 个（共 {len(value)} 个）",
            )
        for key, item in value.items():
            if len(str(key)) > MAX_KEY_CHARS:
                yield (
                    f"{path}: field name longer than {MAX_KEY_CHARS} characters",
                    f"{path}：输入项名称超过 {MAX_KEY_CHARS} 个字符",
                )
            yield from _limit_problems(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_ITEMS:
            yield (
                f"{path}: more than {MAX_ITEMS} items ({len(value)})",
                f"{path}：列表超过 {MAX_ITEMS} 项（共 {len(value)} 项）",
            )
        for i, item in enumerate(value[:MAX_ITEMS]):
            yield from _limit_problems(item, f"{path}[{i}]", depth + 1)
    elif isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        yield (
            f"{path}: text longer than {MAX_STRING_CHARS} characters",
            f"{path}：文字超过 {MAX_STRING_CHARS} 个字符",
        )


class DeclarationHead(BaseModel):
    """What a declaration and its list row both show: who, what, when, and its status."""

    id: str = Field(description="The declaration's id.")
    declaration_id: str | None = Field(default=None, description="The client-chosen id it was sent with, if any.")
    scheme: Scheme = Field(description="The scheme.")
    uscc: str = Field(description="The enterprise's USCC.")
    enterprise_name: str = Field(description="申报单位名称.")
    district: str = Field(description="所在区.")
    declared_on: date = Field(description="申报日期.")
    received_at: datetime = Field(description="When intake stored it (UTC).")
    status: Literal["pending", "evaluated", "failed"] = Field(description="pending until scoring answers.")
    status_zh: str = Field(description="The status in Chinese.")


class DeclarationPublic(DeclarationHead):
    """A stored declaration, with its evaluation once scoring has finished."""

    data: dict[str, Any] = Field(description="The inputs as stored (normalised).")
    raw: dict[str, Any] | None = Field(default=None, description="For a form: each input's value exactly as typed.")
    evaluation: Evaluation | None = Field(default=None, description="The evaluation; null while pending.")
    error: str | None = Field(default=None, description="Why scoring failed, when it did.")


class DeclarationSummary(DeclarationHead):
    """A declaration as lists show it: who, what, when, its status and the headline of its result. The
    items, inputs and explanations are on the declaration itself (`GET /v1/declarations/{id}`)."""

    total: Decimal | None = Field(default=None, description="The evaluation's total points; null unless evaluated.")
    level: int | None = Field(default=None, description="The evaluation's grade level (grading), if any.")
    passed: bool | None = Field(default=None, description="Pass or fail (green-factory), if decided.")
    provisional: bool | None = Field(
        default=None, description="True while an item needs an expert or misses an input; null unless evaluated."
    )
    error: str | None = Field(default=None, description="Why scoring failed, when it did.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="A URI naming the problem type.")
    title: str = Field(description="Short summary.")
    status: int = Field(description="HTTP status.")
    detail: str | None = Field(default=None, description="Human-readable explanation.")
    errors: list[FieldError] = Field(default_factory=list, description="Every bad field at once.")


class FieldError(BaseModel):
    """One bad field in a request."""

    path: str = Field(description="JSON path of the field, e.g. `$.data.GR-4`.")
    code: str = Field(description="Stable error code.")
    message_zh: str = Field(description="Message in Chinese.")
    message_en: str = Field(description="Message in English.")


Problem.model_rebuild()


class Notification(BaseModel):
    """One in-app notification."""

    id: str = Field(description="Notification id.")
    recipient: str = Field(description="Who it is for (USCC or staff scope).")
    title: str = Field(description="Title, in Chinese.")
    body: str = Field(description="Body, in Chinese.")
    created_at: datetime = Field(description="When it was recorded (UTC).")
    source_event: str = Field(description="Id of the event that caused it.")


class Health(BaseModel):
    """A service's health."""

    service: str = Field(description="Service name.")
    status: Literal["ok", "degraded"] = Field(description="ok when every dependency answers.")
    checks: dict[str, str] = Field(description="Each dependency's state.")


class DeclareRequest(BaseModel):
    """A declaration sent over NATS request/reply (subject `greenfab.intake.declare`)."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(description="The enterprise's access token (as in the HTTP Authorization header).")
    declaration: DeclarationCreate | None = Field(default=None, description="A typed declaration, or:")
    scheme: Scheme | None = Field(default=None, description="With `form`: which scheme's form it is.")
    form: dict[str, Any] | None = Field(default=None, description="A form exactly as typed (Chinese labels).")
    idempotency_key: str | None = Field(
        default=None, max_length=128, description="Makes a retry return the first answer."
    )


class DeclareReply(BaseModel):
    """Intake's answer over NATS (to a DeclareRequest or a StatusRequest): the HTTP status it would have given,
    and the body."""

    status: int = Field(description="202 stored, 200 a retry of a stored one, 4xx refused.")
    declaration: DeclarationPublic | None = Field(default=None, description="The stored declaration.")
    problem: Problem | None = Field(default=None, description="Why it was refused (RFC 9457, every bad field).")


class StatusRequest(BaseModel):
    """A declaration's status and evaluation read over NATS request/reply (subject `greenfab.intake.status`).

    The answer is a DeclareReply, as `GET /v1/declarations/{id}` would give it: 200 with the declaration (its
    `status` stays `pending` until scoring answers), or 404 for one that is absent or not the caller's.
    """

    model_config = ConfigDict(extra="forbid")

    token: str = Field(description="The caller's access token (as in the HTTP Authorization header).")
    declaration_id: str = Field(
        min_length=1, max_length=128, description="The stored declaration's `id`, from the DeclareReply."
    )


class EvidencePublic(BaseModel):
    """One evidence file linked to an indicator."""

    item: str = Field(description="The indicator, e.g. `BF-10`.")
    sha256: str = Field(description="The file's content hash (its address).")
    filename: str = Field(description="The name it was uploaded with.")
    content_type: str = Field(description="Its media type, checked against its content.")
    size: int = Field(description="Bytes.")
    uploaded_at: datetime = Field(description="When (UTC).")


class EvidenceStatus(BaseModel):
    """What one indicator needs as evidence, and what it has."""

    item: str = Field(description="The indicator.")
    required: bool = Field(description="False where the form says 无需提供证明材料.")
    what: str = Field(description="What the form asks for, in Chinese.")
    status: Literal["ok", "missing_required", "missing_optional"] = Field(description="ok, or what is missing.")
    severity: Literal["error", "warning"] | None = Field(
        description="error for missing required evidence; warning otherwise."
    )
    files: list[EvidencePublic] = Field(description="Files linked to it.")


class EvidenceIndicator(BaseModel):
    """An indicator evidence may be filed under."""

    id: str = Field(description="The indicator's id, e.g. `GF-1-1`.")
    name_zh: str = Field(description="Its name, in Chinese (from the rulebook).")


class EvidenceReport(BaseModel):
    """A declaration's evidence, indicator by indicator."""

    declaration_id: str = Field(description="The declaration.")
    complete: bool = Field(description="True when no required evidence is missing.")
    items: list[EvidenceStatus] = Field(
        description="Every indicator the form asks evidence for, and any other with files."
    )
    indicators: list[EvidenceIndicator] = Field(
        description="The indicators a file may be uploaded to: the form's evidence list where it has one, else "
        "the items of the scheme's rulebook edition in force on the declaration's date. Any other is 422."
    )


class NoticePublic(BaseModel):
    """A stored notice."""

    id: str = Field(description="The notice's id.")
    kind: str = Field(description="rename | major_adjustment | objection | district_report.")
    uscc: str = Field(description="The unit it is about.")
    received_at: datetime = Field(description="When intake stored it (UTC).")
    actor: dict[str, Any] = Field(description="Who sent it: role, subject, scope.")
    notice: dict[str, Any] = Field(description="The notice as sent.")
