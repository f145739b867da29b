"""Audit's settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from greenfab.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    """GREENFAB_AUDIT_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///.data/audit.db",
        validation_alias=AliasChoices("GREENFAB_AUDIT_DATABASE_URL"),
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema for audit's tables when services share one database.",
        validation_alias=AliasChoices("GREENFAB_AUDIT_DATABASE_SCHEMA"),
    )
    migrate: bool = Field(
        default=True,
        description="Bring the database to the code's schema at start-up; false: refuse to start unless it is.",
        validation_alias=AliasChoices("GREENFAB_AUDIT_MIGRATE", "GREENFAB_MIGRATE"),
    )
    http_port: int = Field(default=8005, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_AUDIT_HTTP_PORT"))
