"""Scoring's settings, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field

from greenfab.paths import RULES
from greenfab.settings import ServiceSettings

REPO_RULES = RULES  # the repository's rules/, or the installed wheel's copy (greenfab.paths)


class ScoringSettings(ServiceSettings):
    """GREENFAB_SCORING_* plus the shared GREENFAB_* settings."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///.data/scoring.db",
        validation_alias=AliasChoices("GREENFAB_SCORING_DATABASE_URL"),
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema for scoring's tables when services share one database.",
        validation_alias=AliasChoices("GREENFAB_SCORING_DATABASE_SCHEMA"),
    )
    migrate: bool = Field(
        default=True,
        description="Bring the database to the code's schema at start-up; false: refuse to start unless it is.",
        validation_alias=AliasChoices("GREENFAB_SCORING_MIGRATE", "GREENFAB_MIGRATE"),
    )
    http_port: int = Field(default=8004, ge=0, le=65535, validation_alias=AliasChoices("GREENFAB_SCORING_HTTP_PORT"))
    rules_dir: Path = Field(default=REPO_RULES, validation_alias=AliasChoices("GREENFAB_RULES_DIR"))
    engine_processes: int = Field(default=1, ge=1, le=16, validation_alias=AliasChoices("GREENFAB_SCORING_PROCESSES"))
