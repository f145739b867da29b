"""The console's settings, from the environment (GREENFAB_CONSOLE_* plus the shared GREENFAB_AUTH_SECRET)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_WEAK = {"", "changeme", "changethis", "secret", "default"}


class ConsoleSettings(BaseSettings):
    """Where the services are, how people sign in, and how long a session lasts.

    The console holds no business data: everything it shows comes from the services' APIs,
    called with the signed-in person's token.
    """

    model_config = SettingsConfigDict(env_prefix="GREENFAB_CONSOLE_", extra="ignore", populate_by_name=True)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8006, ge=0, le=65535)
    intake_url: str = "http://127.0.0.1:8001"
    workflow_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    audit_url: str = "http://127.0.0.1:8005"
    scoring_url: str = "http://127.0.0.1:8004"
    auth_secret: str = Field(
        description="The secret the services check tokens with; the console signs session tokens with it.",
        validation_alias=AliasChoices("GREENFAB_AUTH_SECRET"),
    )
    signin: Literal["off", "dev", "oidc"] = Field(
        default="off",
        description="off: nobody signs in (public pages only); dev: pick a role and scope (for trying the system, "
        "`greenfab up` sets it); oidc: an OpenID Connect provider (GREENFAB_CONSOLE_OIDC_*).",
    )
    oidc_issuer: str | None = Field(default=None, description="The provider's issuer URL (its discovery document).")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_role_claim: str = Field(default="greenfab_role", description="The ID-token claim naming the role.")
    oidc_scope_claim: str = Field(default="greenfab_scope", description="The claim naming the USCC or district.")
    session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60, description="How long a sign-in lasts.")
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only (browsers treat 127.0.0.1 as secure)."
    )
    api_timeout_s: float = Field(default=15.0, gt=0)

    @field_validator("auth_secret")
    @classmethod
    def _strong(cls, value: str) -> str:
        if value.lower() in _WEAK or len(value) < 32:
            raise ValueError("GREENFAB_AUTH_SECRET must be set to a random string of at least 32 characters")
        return value
