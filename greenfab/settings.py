"""Settings every service shares, read from the environment (pydantic-settings)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_WEAK_SECRETS = {"", "changeme", "changethis", "secret", "default"}


@dataclass(frozen=True)
class NatsCredentials:
    """A service's own NATS user; its replies arrive under its own inbox prefix."""

    user: str
    password: str

    @property
    def inbox_prefix(self) -> str:
        return f"_INBOX_{self.user}"


class ServiceSettings(BaseSettings):
    """Base for each service's settings; subclasses set their own `env_prefix`."""

    model_config = SettingsConfigDict(env_prefix="GREENFAB_", extra="ignore", populate_by_name=True)

    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        description="NATS server URL(s), comma-separated: give every node of a cluster.",
    )
    nats_user: str | None = Field(default=None, description="This service's own NATS user (none: connect anonymously).")
    nats_password: str | None = Field(default=None, description="That user's password.")
    nats_stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of each JetStream stream: 3 on a three-node cluster."
    )
    database_url: str = Field(description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    http_host: str = "127.0.0.1"
    http_port: int = Field(ge=0, le=65535)
    auth_secret: str = Field(description="HMAC secret signing access tokens; at least 32 characters.")
    max_deliveries: int = Field(default=5, ge=1, description="Tries before a message is dead-lettered.")
    startup_timeout_s: float = Field(
        default=10.0, gt=0, description="How long to wait for NATS or Temporal at start-up."
    )

    @field_validator("auth_secret")
    @classmethod
    def _strong(cls, value: str) -> str:
        if value.lower() in _WEAK_SECRETS or len(value) < 32:
            raise ValueError("GREENFAB_AUTH_SECRET must be set to a random string of at least 32 characters")
        return value

    @model_validator(mode="after")
    def _nats_password(self) -> ServiceSettings:
        if self.nats_user and (not self.nats_password or self.nats_password.lower() in _WEAK_SECRETS):
            raise ValueError("GREENFAB_NATS_PASSWORD must be set to the NATS user's generated password")
        return self

    @property
    def nats_credentials(self) -> NatsCredentials | None:
        return NatsCredentials(self.nats_user, self.nats_password or "") if self.nats_user else None

    @property
    def nats_servers(self) -> list[str]:
        return [s.strip() for s in self.nats_url.split(",") if s.strip()]
