"""The envelope every message carries: id, type, schema version, time, correlation, actor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["enterprise", "evaluator", "district", "bureau", "expert", "auditor", "system", "public"]


class Actor(BaseModel):
    """Who caused a message: a person with a role and scope, or a service."""

    model_config = ConfigDict(frozen=True)

    role: Role = Field(description="The principal's role; `system` for a service acting on its own.")
    subject: str = Field(description="Who: a USCC, a staff id, or a service name.", max_length=128)
    scope: str | None = Field(
        default=None,
        description="What the principal may act on: the enterprise's USCC or the district name.",
        max_length=64,
    )


def new_id() -> str:
    """A fresh message id (UUID4, hex)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Fields every greenfab message carries; each message type subclasses it."""

    model_config = ConfigDict(extra="forbid")

    TYPE: ClassVar[str] = "envelope"
    SCHEMA_VERSION: ClassVar[int] = 1

    id: str = Field(
        default_factory=new_id, description="Unique message id; also the `Nats-Msg-Id` used for de-duplication."
    )
    type: str = Field(default="", description="Message type, e.g. `submission.received`.")
    schema_version: int = Field(default=0, description="Version of this message's schema.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When it happened (UTC).")
    correlation_id: str = Field(description="Id shared by every message caused by one declaration or action.")
    actor: Actor = Field(description="Who caused it.")

    def model_post_init(self, __context: object) -> None:
        if not self.type:
            self.type = self.TYPE
        if not self.schema_version:
            self.schema_version = self.SCHEMA_VERSION

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value.astimezone(UTC)
