"""Notify's settings, from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from greenfab.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """GREENFAB_NOTIFY_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///.data/notify.db",
        validation_alias=AliasChoices("GREENFAB_NOTIFY_DATABASE_URL"),
    )
    http_port: int = Field(default=8003, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_NOTIFY_HTTP_PORT"))
