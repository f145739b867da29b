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
    http_port: int = Field(default=8005, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_AUDIT_HTTP_PORT"))
