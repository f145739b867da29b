"""The scoring service's schema revisions (Alembic); see greenfab.migrations."""

from pathlib import Path

from greenfab.migrations import Migrations
from services.scoring.tables import ScoringBase

MIGRATIONS = Migrations("scoring", Path(__file__).resolve().parent / "versions", ScoringBase.metadata)
