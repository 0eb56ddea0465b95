"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("titles_dir", sa.Text(), nullable=False),
        sa.Column("ratings_dir", sa.Text(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "fingerprint", sa.Text(), nullable=False, comment="sha256 over every file's sha256"
        ),
        sa.Column("loader_version", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loads")),
    )
    op.create_table(
        "titles",
        sa.Column("id", sa.Text(), nullable=False, comment="platform letter + show_id, e.g. as123"),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("show_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(collation="C"), nullable=False),
        sa.Column("director", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("date_added", sa.Date(), nullable=True),
        sa.Column("release_year", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Text(), nullable=False, comment="maturity rating; null became g"),
        sa.Column("duration_int", sa.Integer(), nullable=True),
        sa.Column("duration_type", sa.Text(), nullable=True),
        sa.Column("listed_in", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True, comment="mean of the delivered rating rows"),
        sa.Column("votes", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "duration_type IN ('min', 'season')", name=op.f("ck_titles_duration_type")
        ),
        sa.CheckConstraint(
            "platform IN ('amazon', 'disney', 'hulu', 'netflix')", name=op.f("ck_titles_platform")
        ),
        sa.CheckConstraint("type IN ('movie', 'tv show')", name=op.f("ck_titles_type")),
        sa.CheckConstraint("id = left(platform, 1) || show_id", name=op.f("ck_titles_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_titles")),
    )
    op.create_table(
        "load_files",
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_repaired", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column(
            "repairs",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="rule -> rows repaired by it",
        ),
        sa.Column(
            "rejects",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            comment="reason -> rows rejected for it",
        ),
        sa.CheckConstraint("kind IN ('titles', 'ratings')", name=op.f("ck_load_files_kind")),
        sa.ForeignKeyConstraint(
            ["load_id"], ["loads.id"], name=op.f("fk_load_files_load_id_loads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("load_id", "file", name=op.f("pk_load_files")),
    )
    op.create_table(
        "load_issues",
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column(
            "line", sa.Integer(), nullable=False, comment="1-based physical line of the record"
        ),
        sa.Column(
            "record", sa.Text(), nullable=True, comment="show_id or movieId, when the row has one"
        ),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "action IN ('repaired', 'rejected')", name=op.f("ck_load_issues_action")
        ),
        sa.ForeignKeyConstraint(
            ["load_id"], ["loads.id"], name=op.f("fk_load_issues_load_id_loads"), ondelete="CASCADE"
        ),
    )
    op.create_index(
        op.f("ix_load_issues_load_id_file_line"),
        "load_issues",
        ["load_id", "file", "line"],
        unique=False,
    )
    op.create_table(
        "ratings",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "seq", sa.BigInteger(), nullable=False, comment="delivery order within the source"
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.Text(), nullable=False),
        sa.Column("rating", sa.REAL(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source IN ('file', 'api')", name=op.f("ck_ratings_source")),
        sa.CheckConstraint(
            "rating BETWEEN 0.5 AND 5 AND rating * 2 = floor(rating * 2)",
            name=op.f("ck_ratings_rating"),
        ),
        sa.CheckConstraint("user_id > 0", name=op.f("ck_ratings_user_id")),
        sa.ForeignKeyConstraint(
            ["title_id"], ["titles.id"], name=op.f("fk_ratings_title_id_titles")
        ),
        postgresql_partition_by="LIST (source)",
    )
    op.create_table(
        "title_cast",
        sa.Column("title_id", sa.Text(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("actor", sa.Text(collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_cast_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "position", name=op.f("pk_title_cast")),
    )
    op.create_table(
        "title_genres",
        sa.Column("title_id", sa.Text(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("genre", sa.Text(collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_genres_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "position", name=op.f("pk_title_genres")),
    )
    op.execute("CREATE TABLE ratings_file PARTITION OF ratings FOR VALUES IN ('file')")
    op.execute("CREATE TABLE ratings_api PARTITION OF ratings FOR VALUES IN ('api')")
    # API ratings are numbered by the database, so concurrent posts never collide.
    op.execute("CREATE SEQUENCE ratings_api_seq OWNED BY ratings_api.seq")
    # Rows inserted through the parent take the parent's defaults, not the partition's.
    op.execute("ALTER TABLE ratings ALTER COLUMN seq SET DEFAULT nextval('ratings_api_seq')")
    op.execute("ALTER TABLE ratings_api ADD CONSTRAINT pk_ratings_api PRIMARY KEY (seq)")
    op.execute("CREATE INDEX ix_ratings_api_user_id ON ratings_api (user_id)")


def downgrade() -> None:
    op.drop_table("title_genres")
    op.drop_table("title_cast")
    op.drop_table("ratings")
    op.drop_index(op.f("ix_load_issues_load_id_file_line"), table_name="load_issues")
    op.drop_table("load_issues")
    op.drop_table("load_files")
    op.drop_table("titles")
    op.drop_table("loads")
