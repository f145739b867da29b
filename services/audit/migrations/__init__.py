"""The audit service's schema revisions (Alembic); see greenfab.migrations."""

from pathlib import Path

from greenfab.migrations import Migrations
from services.audit.tables import AuditBase

MIGRATIONS = Migrations("audit", Path(__file__).resolve().parent / "versions", AuditBase.metadata)
