"""The one definition of every table. Migrations create them; everything else imports them."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

# Full-text search (migration 0006). Titles and names as written ('simple': no stemming, no stop
# words, so "It", "Us" and "Will Smith" keep every word and "Hughes" does not become "hugh");
# genres, country and the description as English prose (stemmed, so "heists" finds "heist" and
# "comedy" "comedies", but with every word kept: streamrec_english has no stop-word list).
SEARCH_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(search_title, '')), 'A')"
    " || setweight(to_tsvector('simple'::regconfig, coalesce(search_people, '')), 'B')"
    " || setweight(to_tsvector('streamrec_english'::regconfig, coalesce(search_tags, '')), 'C')"
    " || setweight(to_tsvector('streamrec_english'::regconfig,"
    " coalesce(search_description, '')), 'D')"
)
# Marks the columns that exist for search only: no answer shows them.
SEARCH = {"search": True}


def search_column(name: str, comment: str, **kwargs) -> sa.Column:
    """Folded words of a title's field (common.search), written by the loader."""
    # Written, not generated: a generated column reads only its own row (the cast lives in
    # title_cast), and the embedded server has no unaccent to fold accents with.
    return sa.Column(name, sa.Text(**kwargs), comment=comment, info=SEARCH)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

titles = sa.Table(
    "titles",
    metadata,
    sa.Column("id", sa.Text, primary_key=True, comment="platform letter + show_id, e.g. as123"),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("show_id", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    # Code-point order ("C"), so ties broken by name are the same on every server's locale.
    sa.Column("title", sa.Text(collation="C"), nullable=False),
    sa.Column("director", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("date_added", sa.Date),
    sa.Column("release_year", sa.Integer, nullable=False),
    sa.Column("rating", sa.Text, nullable=False, comment="maturity rating; null became g"),
    sa.Column("duration_int", sa.Integer),
    sa.Column("duration_type", sa.Text),
    sa.Column("listed_in", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("score", sa.Float, comment="mean of the delivered rating rows"),
    sa.Column("votes", sa.Integer, nullable=False, server_default="0"),
    sa.Column(
        "work_id",
        sa.Text,
        nullable=False,
        comment="the same film or show on several platforms shares one: its first title's id",
    ),
    search_column("search_title", "folded words of the title", collation="C"),
    search_column("search_people", "folded words of the director and the cast"),
    search_column("search_tags", "folded words of the genres and the country"),
    search_column("search_description", "folded words of the description"),
    sa.Column(
        "search_vector", pg.TSVECTOR, sa.Computed(SEARCH_VECTOR, persisted=True), info=SEARCH
    ),
    sa.CheckConstraint("platform IN ('amazon', 'disney', 'hulu', 'netflix')", name="platform"),
    sa.CheckConstraint("type IN ('movie', 'tv show')", name="type"),
    sa.CheckConstraint("duration_type IN ('min', 'season')", name="duration_type"),
    sa.CheckConstraint("id = left(platform, 1) || show_id", name="id"),
    sa.Index(
        "ix_titles_platform_release_year",
        "platform",
        "release_year",
        postgresql_include=["type", "score"],
    ),
    sa.Index("ix_titles_duration", "duration_type", sa.text("duration_int DESC"), "title"),
    sa.Index(
        "ix_titles_year_duration",
        "release_year",
        "duration_type",
        sa.text("duration_int DESC"),
        "title",
    ),
    sa.Index("ix_titles_score", sa.text("score DESC NULLS LAST"), "title"),
    sa.Index("ix_titles_release_year", sa.text("release_year DESC"), "title"),
    sa.Index("ix_titles_work_id", "work_id"),
    sa.Index("ix_titles_search_vector", "search_vector", postgresql_using="gin"),
    # Suggestions: a prefix range of the folded title, answered from the index alone.
    sa.Index(
        "ix_titles_search_title",
        "search_title",
        postgresql_include=["votes", "id", "title", "platform", "type", "release_year"],
    ),
    # Suggestions: title words by prefix ("things" finds "stranger things").
    sa.Index(
        "ix_titles_search_title_words",
        sa.text("to_tsvector('simple'::regconfig, search_title)"),
        postgresql_using="gin",
    ),
    # Typos: only where the server has pg_trgm (migration 0006 checks); elsewhere the catalog
    # matches typos in its own process (services/catalog/typos.py).
    sa.Index(
        "ix_titles_search_title_trgm",
        "search_title",
        postgresql_using="gist",
        postgresql_ops={"search_title": "gist_trgm_ops"},
        info={"extension": "pg_trgm"},
    ),
)

title_cast = sa.Table(
    "title_cast",
    metadata,
    sa.Column(
        "title_id", sa.Text, sa.ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("actor", sa.Text(collation="C"), nullable=False),
    sa.Index("ix_title_cast_actor", "actor"),
)

title_genres = sa.Table(
    "title_genres",
    metadata,
    sa.Column(
        "title_id", sa.Text, sa.ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("genre", sa.Text(collation="C"), nullable=False),
    sa.Index("ix_title_genres_genre", "genre", "title_id"),
)

# Materialized views (created in migration 0002, refreshed by every load): the two catalogue
# answers that would otherwise aggregate thousands of rows per request. title_type is
# 'movie', 'tv show' or 'all'.
actor_counts = sa.Table(
    "actor_counts",
    metadata,
    sa.Column("platform", sa.Text),
    sa.Column("release_year", sa.Integer),
    sa.Column("title_type", sa.Text),
    sa.Column("actor", sa.Text(collation="C")),
    sa.Column("appearances", sa.Integer),
    info={"materialized_view": True},
)

platform_counts = sa.Table(
    "platform_counts",
    metadata,
    sa.Column("platform", sa.Text),
    sa.Column("title_type", sa.Text),
    sa.Column("titles", sa.Integer),
    info={"materialized_view": True},
)

MATERIALIZED_VIEWS = (actor_counts, platform_counts)

# Partitioned by source: the loader swaps the whole 'file' partition in one statement,
# while ratings posted through the API live in 'api' and survive every reload.
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False, comment="delivery order within the source"),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("title_id", sa.Text, sa.ForeignKey("titles.id"), nullable=False),
    sa.Column("rating", sa.REAL, nullable=False),
    sa.Column("rated_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("source IN ('file', 'api')", name="source"),
    sa.CheckConstraint("user_id > 0", name="user_id"),
    sa.CheckConstraint(
        "rating BETWEEN 0.5 AND 5 AND rating * 2 = floor(rating * 2)", name="rating"
    ),
    postgresql_partition_by="LIST (source)",
)

RATING_PARTITIONS = {"file": "ratings_file", "api": "ratings_api"}
# The API partition by its own name, for the statements that must address it: an API rating is
# one row per (user, title), kept by a unique index of the partition alone (the files repeat
# pairs), and ON CONFLICT can only use an index of the table it inserts into.
ratings_api = sa.table(RATING_PARTITIONS["api"], *(sa.column(c.name, c.type) for c in ratings.c))

# API ratings taken out of `ratings`, never deleted: replaced by a later rating of the same
# title when API ratings became one per (user, title), or of a title a reload dropped (the
# loader's --archive-dropped-ratings).
ratings_archive = sa.Table(
    "ratings_archive",
    metadata,
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("load_id", sa.Integer, comment="the load that dropped the title, if one did"),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("title_id", sa.Text, nullable=False, comment="no foreign key: the title is gone"),
    sa.Column("rating", sa.REAL, nullable=False),
    sa.Column("rated_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("reason IN ('replaced', 'title_dropped')", name="reason"),
    sa.Index(None, "user_id", "title_id"),
)

loads = sa.Table(
    "loads",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("titles_dir", sa.Text, nullable=False),
    sa.Column("ratings_dir", sa.Text),
    sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("fingerprint", sa.Text, nullable=False, comment="sha256 over every file's sha256"),
    sa.Column("loader_version", sa.Text, nullable=False),
)

load_files = sa.Table(
    "load_files",
    metadata,
    sa.Column(
        "load_id", sa.Integer, sa.ForeignKey("loads.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("file", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("rows_loaded", sa.Integer, nullable=False),
    sa.Column("rows_repaired", sa.Integer, nullable=False),
    sa.Column("rows_rejected", sa.Integer, nullable=False),
    sa.Column("repairs", pg.JSONB, nullable=False, comment="rule -> rows repaired by it"),
    sa.Column("rejects", pg.JSONB, nullable=False, comment="reason -> rows rejected for it"),
    sa.Column(
        "missing",
        pg.JSONB,
        comment="column -> {before: empty fields delivered, after: nulls loaded}",
    ),
    sa.CheckConstraint("kind IN ('titles', 'ratings')", name="kind"),
)

load_issues = sa.Table(
    "load_issues",
    metadata,
    sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.id", ondelete="CASCADE"), nullable=False),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False, comment="1-based physical line of the record"),
    sa.Column("record", sa.Text, comment="show_id or movieId, when the row has one"),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.CheckConstraint("action IN ('repaired', 'rejected')", name="action"),
    sa.Index(None, "load_id", "file", "line"),
)
