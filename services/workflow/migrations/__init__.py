"""The workflow service's schema revisions (Alembic); see greenfab.migrations."""

from pathlib import Path

from greenfab.migrations import Migrations
from services.workflow.tables import WorkflowBase

MIGRATIONS = Migrations("workflow", Path(__file__).resolve().parent / "versions", WorkflowBase.metadata)
