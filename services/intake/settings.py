"""Intake's settings, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field

from greenfab.inputs import REPO_RULES
from greenfab.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """GREENFAB_INTAKE_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///.data/intake.db",
        validation_alias=AliasChoices("GREENFAB_INTAKE_DATABASE_URL"),
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema for intake's tables when services share one database.",
        validation_alias=AliasChoices("GREENFAB_INTAKE_DATABASE_SCHEMA"),
    )
    migrate: bool = Field(
        default=True,
        description="Bring the database to the code's schema at start-up; false: refuse to start unless it is.",
        validation_alias=AliasChoices("GREENFAB_INTAKE_MIGRATE", "GREENFAB_MIGRATE"),
    )
    http_port: int = Field(default=8001, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_INTAKE_HTTP_PORT"))
    max_body_bytes: int = Field(default=1_000_000, validation_alias=AliasChoices("GREENFAB_INTAKE_MAX_BODY_BYTES"))
    evidence_dir: str = Field(default=".data/evidence", validation_alias=AliasChoices("GREENFAB_INTAKE_EVIDENCE_DIR"))
    max_evidence_bytes: int = Field(
        default=20_000_000, validation_alias=AliasChoices("GREENFAB_INTAKE_MAX_EVIDENCE_BYTES")
    )
    body_timeout_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("GREENFAB_INTAKE_BODY_TIMEOUT_S"),
        description="Seconds a request body may pause before it is refused (408).",
    )
    outbox_poll_s: float = Field(default=0.5, gt=0, validation_alias=AliasChoices("GREENFAB_INTAKE_OUTBOX_POLL_S"))
    rules_dir: Path = Field(default=REPO_RULES, validation_alias=AliasChoices("GREENFAB_RULES_DIR"))
