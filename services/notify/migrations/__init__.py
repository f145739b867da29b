"""The notify service's schema revisions (Alembic); see greenfab.migrations."""

from pathlib import Path

from greenfab.migrations import Migrations
from services.notify.tables import NotifyBase

MIGRATIONS = Migrations("notify", Path(__file__).resolve().parent / "versions", NotifyBase.metadata)
