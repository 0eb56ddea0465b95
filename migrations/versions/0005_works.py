"""one work, several platforms: titles.work_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The loader recognises the same film or show delivered by two or more platforms
(loader/works.py) and gives its copies one work_id: the id of the work's first title. Until
the next load, every title is a work of its own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("titles", sa.Column("work_id", sa.Text(), nullable=True))
    op.execute("UPDATE titles SET work_id = id")
    op.alter_column("titles", "work_id", nullable=False)
    op.create_index("ix_titles_work_id", "titles", ["work_id"])


def downgrade() -> None:
    op.drop_index("ix_titles_work_id", table_name="titles")
    op.drop_column("titles", "work_id")
