"""the load record keeps missing values per column, before and after cleaning

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Loads recorded before this revision have no such record (null); the insights report says so.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "load_files",
        sa.Column(
            "missing",
            pg.JSONB(),
            nullable=True,
            comment="column -> {before: empty fields delivered, after: nulls loaded}",
        ),
    )


def downgrade() -> None:
    op.drop_column("load_files", "missing")
