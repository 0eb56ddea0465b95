"""the catalog's indexes and its two materialized views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The catalogue only changes when the loader runs, so the two answers that would otherwise
aggregate thousands of rows per request are materialized; the loader refreshes them inside its
swap transaction.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    # get_score_count and the platform/year filters, answered from the index alone
    "ix_titles_platform_release_year": "titles (platform, release_year) INCLUDE (type, score)",
    # get_max_duration: the longest first, ties by title; with and without a year
    "ix_titles_duration": "titles (duration_type, duration_int DESC, title)",
    "ix_titles_year_duration": "titles (release_year, duration_type, duration_int DESC, title)",
    # browsing sorted by score or by year
    "ix_titles_score": "titles (score DESC NULLS LAST, title)",
    "ix_titles_release_year": "titles (release_year DESC, title)",
    "ix_title_genres_genre": "title_genres (genre, title_id)",
    "ix_title_cast_actor": "title_cast (actor)",
}

# title_type is 'movie', 'tv show', or 'all' for the sum over both.
ACTOR_COUNTS = """
CREATE MATERIALIZED VIEW actor_counts AS
SELECT t.platform, t.release_year, coalesce(t.type, 'all') AS title_type, c.actor,
       count(*)::integer AS appearances
FROM title_cast c JOIN titles t ON t.id = c.title_id
GROUP BY GROUPING SETS ((t.platform, t.release_year, t.type, c.actor),
                        (t.platform, t.release_year, c.actor))
"""
PLATFORM_COUNTS = """
CREATE MATERIALIZED VIEW platform_counts AS
SELECT platform, coalesce(type, 'all') AS title_type, count(*)::integer AS titles
FROM titles
GROUP BY GROUPING SETS ((platform, type), (platform))
"""


def upgrade() -> None:
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")
    op.execute(ACTOR_COUNTS)
    op.execute(
        "CREATE INDEX ix_actor_counts_top ON actor_counts"
        " (platform, release_year, title_type, appearances DESC, actor)"
    )
    op.execute(PLATFORM_COUNTS)
    op.execute("CREATE UNIQUE INDEX ix_platform_counts ON platform_counts (platform, title_type)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW platform_counts")
    op.execute("DROP MATERIALIZED VIEW actor_counts")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
