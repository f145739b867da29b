"""Notify's settings, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator

from greenfab.settings import ServiceSettings
from services.notify.webhook_address import AllowList


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"GREENFAB_NOTIFY_{name}")


class NotifySettings(ServiceSettings):
    """GREENFAB_NOTIFY_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(default="sqlite+aiosqlite:///.data/notify.db", validation_alias=_env("DATABASE_URL"))
    http_port: int = Field(default=8003, ge=0, le=65535, validation_alias=_env("HTTP_PORT"))
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema for notify's tables when services share one database.",
        validation_alias=_env("DATABASE_SCHEMA"),
    )
    migrate: bool = Field(
        default=True,
        description="Bring the database to the code's schema at start-up; false: refuse to start unless it is.",
        validation_alias=AliasChoices("GREENFAB_NOTIFY_MIGRATE", "GREENFAB_MIGRATE"),
    )
    smtp_host: str = Field(default="127.0.0.1", validation_alias=_env("SMTP_HOST"))
    smtp_port: int = Field(default=1025, ge=1, le=65535, validation_alias=_env("SMTP_PORT"))
    smtp_from: str = Field(default="greenfab@jxj.beijing.gov.cn", validation_alias=_env("SMTP_FROM"))
    smtp_username: str | None = Field(default=None, validation_alias=_env("SMTP_USERNAME"))
    smtp_password: str | None = Field(default=None, validation_alias=_env("SMTP_PASSWORD"))
    smtp_starttls: bool = Field(default=False, validation_alias=_env("SMTP_STARTTLS"))
    send_timeout_s: float = Field(default=10.0, gt=0, validation_alias=_env("SEND_TIMEOUT_S"))
    max_attempts: int = Field(default=8, ge=1, validation_alias=_env("MAX_ATTEMPTS"))
    retry_base_s: float = Field(default=5.0, gt=0, validation_alias=_env("RETRY_BASE_S"))
    retry_cap_s: float = Field(default=3600.0, gt=0, validation_alias=_env("RETRY_CAP_S"))
    lease_s: float = Field(default=120.0, gt=0, validation_alias=_env("LEASE_S"))
    poll_s: float = Field(default=1.0, gt=0, validation_alias=_env("POLL_S"))
    webhook_allow: str = Field(
        default="",
        description="Comma-separated networks (CIDR) and host names that webhooks may reach although they are "
        "not public, e.g. `10.20.0.0/16,hooks.intranet.example` (tests, intranets). Empty: public addresses only.",
        validation_alias=_env("WEBHOOK_ALLOW"),
    )
    webhook_require_https: bool = Field(
        default=True,
        description="Refuse webhook URLs that are not https:// (turn off only for development).",
        validation_alias=_env("WEBHOOK_REQUIRE_HTTPS"),
    )
    templates: Path | None = Field(default=None, validation_alias=_env("TEMPLATES"))
    enterprise_url: str = Field(
        default="http://127.0.0.1:8006/my",
        description="Where enterprises act (the console).",
        validation_alias=_env("PORTAL_URL"),
    )
    staff_url: str = Field(
        default="http://127.0.0.1:8006/tasks",
        description="Where staff act (the console).",
        validation_alias=_env("STAFF_URL"),
    )

    @field_validator("webhook_allow")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        AllowList.parse(value.split(","))
        return value

    @property
    def webhook_allow_list(self) -> AllowList:
        return AllowList.parse(self.webhook_allow.split(","))
