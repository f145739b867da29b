"""evaluations say who (district, enterprise name); rulebook editions kept by version

Issue 16: the advisor checks a unit's district (scope) and the what-if counts by district, so each stored
evaluation says whom it is about; ``rulebook_editions`` keeps what a rulebook version hashes (replay by
version) and who published an edition and why. Data-preserving: both columns are added nullable and no
row changes. Scoring has nothing to fill them from for rows stored before (the declared event carried
them, not the stored row): such a row reads as "no district" (only the enterprise itself and city-wide
roles see its advice) until the unit's next declaration is scored. Versions used before this revision
have no snapshot: their evaluations cannot be replayed, and say so.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 11:44:04.502576
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rulebook_editions",
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("edition", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("first_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("published_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("enterprise_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_evaluations_district"), ["district"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_district"))
        batch_op.drop_column("enterprise_name")
        batch_op.drop_column("district")

    op.drop_table("rulebook_editions")
