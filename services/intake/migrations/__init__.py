"""The intake service's schema revisions (Alembic); see greenfab.migrations."""

from pathlib import Path

from greenfab.migrations import Migrations
from services.intake.tables import IntakeBase

MIGRATIONS = Migrations("intake", Path(__file__).resolve().parent / "versions", IntakeBase.metadata)
