"""an API rating is one row per (user, title); ratings taken out are archived, never deleted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Posting a rating again replaces the earlier one (the recommender upserts), so flooding one title
adds no rows. Rows that this revision folds together (all but the latest per pair) move to
ratings_archive with reason 'replaced'. The loader moves there, on request, the API ratings of
titles a reload drops (reason 'title_dropped'). The recommender's role may now update the
rating and time of its own partition's rows, which the upsert needs, and read the cast and the
genres, which the trainer's content model needs (the trainer runs as that role).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RECOMMENDER = "streamrec_recommender"


def upgrade() -> None:
    op.create_table(
        "ratings_archive",
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Text(), nullable=False),
        sa.Column("rating", sa.REAL(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('replaced', 'title_dropped')", name=op.f("ck_ratings_archive_reason")
        ),
    )
    op.create_index(
        "ix_ratings_archive_user_id_title_id", "ratings_archive", ["user_id", "title_id"]
    )
    op.execute(
        "WITH replaced AS ("
        " DELETE FROM ratings_api a USING ratings_api b"
        " WHERE a.user_id = b.user_id AND a.title_id = b.title_id AND a.seq < b.seq"
        " RETURNING a.*)"
        " INSERT INTO ratings_archive (archived_at, reason, seq, user_id, title_id, rating,"
        " rated_at) SELECT now(), 'replaced', seq, user_id, title_id, rating, rated_at"
        " FROM replaced"
    )
    op.execute("DROP INDEX IF EXISTS ix_ratings_api_user_id")
    op.execute(
        "CREATE UNIQUE INDEX uq_ratings_api_user_id_title_id ON ratings_api (user_id, title_id)"
    )
    # The daily cap counts a user's ratings of the last 24 hours.
    op.execute("CREATE INDEX ix_ratings_api_user_id_rated_at ON ratings_api (user_id, rated_at)")
    op.execute(f"GRANT SELECT, INSERT ON ratings_api TO {RECOMMENDER}")
    op.execute(f"GRANT UPDATE (seq, rating, rated_at) ON ratings_api TO {RECOMMENDER}")
    op.execute(f"GRANT SELECT ON title_cast, title_genres TO {RECOMMENDER}")


def downgrade() -> None:
    op.execute(f"REVOKE SELECT ON title_cast, title_genres FROM {RECOMMENDER}")
    op.execute(f"REVOKE UPDATE (seq, rating, rated_at) ON ratings_api FROM {RECOMMENDER}")
    op.execute(f"REVOKE SELECT, INSERT ON ratings_api FROM {RECOMMENDER}")
    op.execute("DROP INDEX ix_ratings_api_user_id_rated_at")
    op.execute("DROP INDEX uq_ratings_api_user_id_title_id")
    op.execute("CREATE INDEX ix_ratings_api_user_id ON ratings_api (user_id)")
    op.drop_table("ratings_archive")
