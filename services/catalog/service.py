"""The catalogue queries: keyword-only functions over a connection, all SQL parameterised.

Each statement is built once per combination of filters and reused (functools.cache), so a
request pays for executing SQL, not for building it.
"""

from enum import Enum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from common import queries
from common.platforms import DurationType, Platform, TitleType
from common.search import Query, search_key
from common.tables import (
    RATING_PARTITIONS,
    actor_counts,
    load_files,
    loads,
    platform_counts,
    ratings,
    title_genres,
    titles,
)
from common.web import NotFound
from contracts.catalog import SortField, SortOrder
from services.catalog.typos import Typos

SUMMARY_COLUMNS = (
    titles.c.id,
    titles.c.platform,
    titles.c.type,
    titles.c.title,
    titles.c.release_year,
    titles.c.rating,
    titles.c.duration_int,
    titles.c.duration_type,
    titles.c.score,
    titles.c.votes,
    titles.c.work_id,
    titles.c.listed_in,
)
FILTER_COLUMNS = {
    "platform": titles.c.platform,
    "year": titles.c.release_year,
    "type": titles.c.type,
}


def _params(**values: Any) -> dict[str, Any]:
    """The filters that were given, as bind parameters."""
    return {k: v.value if isinstance(v, Enum) else v for k, v in values.items() if v is not None}


def _where(params: dict[str, Any]) -> tuple[str, ...]:
    """The filter names, as a hashable key for the statement caches."""
    return tuple(sorted(k for k in params if k in FILTER_COLUMNS))


def _conditions(names: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [FILTER_COLUMNS[name] == sa.bindparam(name) for name in names]


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no filters"


@cache
def _max_duration_sql(names: tuple[str, ...]) -> sa.Select:
    return (
        sa.select(
            titles.c.id,
            titles.c.title,
            titles.c.platform,
            titles.c.type,
            titles.c.release_year,
            titles.c.duration_int,
            titles.c.duration_type,
        )
        .where(
            titles.c.duration_type == sa.bindparam("duration_type"),
            titles.c.duration_int.is_not(None),
            *_conditions(names),
        )
        .order_by(titles.c.duration_int.desc(), titles.c.title, titles.c.id)
        .limit(1)
    )


def get_max_duration(
    conn: Connection,
    *,
    year: int | None = None,
    platform: Platform | None = None,
    duration_type: DurationType = DurationType.min,
    type: TitleType | None = None,
) -> dict[str, Any]:
    """The longest title; ties go to the title that sorts first by name."""
    params = _params(year=year, platform=platform, type=type)
    statement = _max_duration_sql(_where(params))
    row = conn.execute(statement, {**params, "duration_type": duration_type.value}).first()
    if row is None:
        raise NotFound(
            f"no title with a duration in {duration_type.value} matches {_describe(params)}"
        )
    return row._asdict()


@cache
def _score_count_sql(names: tuple[str, ...]) -> sa.Select:
    return sa.select(
        sa.func.count(),
        sa.func.count(titles.c.score),
        sa.func.count().filter(titles.c.score > sa.bindparam("scored")),
    ).where(*_conditions(names))


def get_score_count(
    conn: Connection,
    *,
    platform: Platform,
    scored: float,
    year: int,
    type: TitleType | None = None,
) -> dict[str, Any]:
    """How many of the platform's titles released in `year` have a mean rating above `scored`."""
    params = _params(platform=platform, year=year, type=type)
    total, with_score, above = conn.execute(
        _score_count_sql(_where(params)), {**params, "scored": scored}
    ).one()
    if total == 0:
        raise NotFound(f"no titles match {_describe(params)}")
    if with_score == 0:
        raise NotFound(f"none of the titles matching {_describe(params)} has a score yet")
    return {"platform": platform, "scored": scored, "year": year, "count": above}


PLATFORM_COUNT_SQL = sa.select(platform_counts.c.titles).where(
    platform_counts.c.platform == sa.bindparam("platform"),
    platform_counts.c.title_type == sa.bindparam("title_type"),
)


def get_count_platform(
    conn: Connection, *, platform: Platform, type: TitleType | None = None
) -> dict[str, Any]:
    """How many titles the platform has."""
    title_type = type.value if type else "all"
    count = conn.execute(
        PLATFORM_COUNT_SQL, {"platform": platform.value, "title_type": title_type}
    ).scalar()
    if not count:
        raise NotFound(f"no titles match {_describe(_params(platform=platform, type=type))}")
    return {"platform": platform, "count": count}


ACTOR_SQL = (
    sa.select(actor_counts.c.actor, actor_counts.c.appearances)
    .where(
        actor_counts.c.platform == sa.bindparam("platform"),
        actor_counts.c.release_year == sa.bindparam("year"),
        actor_counts.c.title_type == sa.bindparam("title_type"),
    )
    .order_by(actor_counts.c.appearances.desc(), actor_counts.c.actor)
    .limit(1)
)


def get_actor(
    conn: Connection, *, platform: Platform, year: int, type: TitleType | None = None
) -> dict[str, Any]:
    """The actor in most of the platform's titles released in `year`; ties go to the first name."""
    title_type = type.value if type else "all"
    row = conn.execute(
        ACTOR_SQL, {"platform": platform.value, "year": year, "title_type": title_type}
    ).first()
    if row is None:
        params = _params(platform=platform, year=year, type=type)
        matching = conn.execute(
            sa.select(sa.func.count()).where(*_conditions(_where(params))), params
        ).scalar_one()
        if matching:
            raise NotFound(f"no cast data for the {matching} titles matching {_describe(params)}")
        raise NotFound(f"no titles match {_describe(params)}")
    return {"platform": platform, "year": year, "actor": row.actor, "appearances": row.appearances}


_copies = titles.alias("copies")
# The other platforms' copies of the same work, in id order.
ALSO_ON = (
    sa.select(
        sa.func.coalesce(
            sa.func.json_agg(
                aggregate_order_by(
                    sa.func.json_build_object("platform", _copies.c.platform, "id", _copies.c.id),
                    _copies.c.id,
                )
            ),
            sa.literal_column("'[]'::json"),
        )
    )
    .where(_copies.c.work_id == titles.c.work_id, _copies.c.id != titles.c.id)
    .scalar_subquery()
)
TITLE_SQL = sa.select(
    *(column for column in titles.c if not column.info.get("search")),
    queries.CAST,
    queries.GENRES,
    ALSO_ON.label("also_on"),
).where(titles.c.id == sa.bindparam("title_id"))


def get_title(conn: Connection, *, title_id: str) -> dict[str, Any]:
    """One title with every field, its cast and its genres."""
    row = conn.execute(TITLE_SQL, {"title_id": title_id}).first()
    if row is None:
        raise NotFound(f"no title has id {title_id!r}")
    return row._asdict()


TITLES_BY_ID_SQL = sa.select(*SUMMARY_COLUMNS).where(
    titles.c.id == sa.func.any(sa.bindparam("ids", type_=sa.ARRAY(sa.Text)))
)


def get_titles(conn: Connection, *, ids: list[str]) -> dict[str, Any]:
    """Many titles in one query, in the order asked; unknown ids are listed in `missing`."""
    wanted = list(dict.fromkeys(ids))
    found = {row.id: row._asdict() for row in conn.execute(TITLES_BY_ID_SQL, {"ids": wanted})}
    return {
        "total": len(found),
        "limit": len(wanted),
        "offset": 0,
        "items": [found[i] for i in wanted if i in found],
        "missing": [i for i in wanted if i not in found],
    }


SORT_COLUMNS = {
    SortField.score: titles.c.score,
    SortField.release_year: titles.c.release_year,
    SortField.title: titles.c.title,
    SortField.duration: titles.c.duration_int,
}
DEFAULT_ORDER = {
    SortField.score: SortOrder.desc,
    SortField.release_year: SortOrder.desc,
    SortField.title: SortOrder.asc,
    SortField.duration: SortOrder.desc,
}
FILTER_CONDITIONS = {
    # Search and browsing take several platforms: a viewer's subscriptions.
    "platform": titles.c.platform == sa.func.any(sa.bindparam("platform", type_=sa.ARRAY(sa.Text))),
    "year_from": titles.c.release_year >= sa.bindparam("year_from"),
    "year_to": titles.c.release_year <= sa.bindparam("year_to"),
    "genre": sa.exists().where(
        title_genres.c.title_id == titles.c.id, title_genres.c.genre == sa.bindparam("genre")
    ),
    "min_score": titles.c.score >= sa.bindparam("min_score"),
}
FILTERS = ("platform", "type", "year_from", "year_to", "genre", "min_score")


def _filters(names: tuple[str, ...]) -> list[sa.ColumnElement[bool]]:
    return [
        FILTER_CONDITIONS[n] if n in FILTER_CONDITIONS else FILTER_COLUMNS[n] == sa.bindparam(n)
        for n in names
    ]


def _column_order(sort: SortField, order: SortOrder) -> list[sa.ColumnElement]:
    column = SORT_COLUMNS[sort]
    ordering = column.desc() if order is SortOrder.desc else column.asc()
    return [ordering.nulls_last(), titles.c.title, titles.c.id]


@cache
def _browse_sql(
    names: tuple[str, ...], sort: SortField, order: SortOrder
) -> tuple[sa.Select, sa.Select]:
    conditions = _filters(names)
    # Two statements on purpose: a window count(*) would make every page sort every match,
    # while a plain LIMIT can stop early along the score or year index.
    page = (
        sa.select(*SUMMARY_COLUMNS)
        .where(*conditions)
        .order_by(*_column_order(sort, order))
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    count = sa.select(sa.func.count()).select_from(titles).where(*conditions)
    return page, count


# -- search: GET /titles?q= ---------------------------------------------------------------------

# When the words of a query find nothing (after the filters), the titles within a typo or two
# of it are the answer, the nearest first.
TYPO_TITLES = 10  # at most this many typo matches, the nearest first
# Shorter keys are within two letters of too many titles to mean one of them.
TYPO_MIN_LENGTH = 4
# Above every code point: key <= title < key + TOP is "title starts with key" in code-point
# order (search_title is COLLATE "C"), as a range its index answers even in a generic plan.
TOP = chr(0x10FFFF)


def _tsquery(name: str) -> sa.ScalarSelect:
    # Uncorrelated: PostgreSQL computes it once per statement (an InitPlan), not once per row.
    return sa.select(sa.func.search_query(sa.bindparam(name))).scalar_subquery()


_ALL_WORDS = _tsquery("websearch")
_MATCHED = titles.c.search_vector.op("@@")(_ALL_WORDS)
_EXACT = titles.c.search_title == sa.bindparam("key")
_PREFIX = sa.and_(
    titles.c.search_title >= sa.bindparam("key"), titles.c.search_title < sa.bindparam("key_end")
)


def _title_words(table: sa.FromClause) -> sa.ColumnElement:
    """The words of the folded title: the expression of their index, to the letter."""
    return sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), table.c.search_title)


_inner = titles.alias("in_title")
# Every word of the query is in the title: one pass over the index on the titles' words.
_IN_TITLE = titles.c.id.in_(sa.select(_inner.c.id).where(_title_words(_inner).op("@@")(_ALL_WORDS)))
_RANK = sa.case((_MATCHED, sa.func.ts_rank(titles.c.search_vector, _ALL_WORDS)))


def _typo_matches(conditions: list[sa.ColumnElement[bool]]) -> sa.ColumnElement:
    """The ids of the first TYPO_TITLES typo candidates (best first) that pass the filters."""
    # One array: computed once per statement, and usable by the primary key's index.
    candidates = (
        sa.func.unnest(sa.bindparam("typos", type_=sa.ARRAY(sa.Text)))
        .table_valued("id", with_ordinality="position")
        .render_derived()
    )
    first = (
        sa.select(candidates.c.id)
        .join(titles, titles.c.id == candidates.c.id)
        .where(*conditions)
        .order_by(candidates.c.position)
        .limit(TYPO_TITLES)
    )
    return sa.func.array(first.scalar_subquery())


@cache
def _search_sql(
    names: tuple[str, ...], sort: SortField | None, order: SortOrder | None, plain: bool
) -> tuple[sa.Select, sa.Select]:
    conditions = _filters(names)
    typos = _typo_matches(conditions)
    # Titles that start with the query, and typo matches, only for a query of plain words: a
    # phrase, `or` and -word mean exactly what they say ("star -wars" is no "star wars").
    found = sa.or_(_MATCHED, _PREFIX, titles.c.id == sa.func.any(typos)) if plain else _MATCHED
    if sort is None:
        ordering = [
            _EXACT.desc(),
            _PREFIX.desc(),
            _IN_TITLE.desc(),
            # Among titles named by the query, those it names most of.
            sa.case((sa.or_(_PREFIX, _IN_TITLE), sa.func.length(titles.c.search_title))),
            _RANK.desc().nulls_last(),
            sa.func.array_position(typos, titles.c.id).nulls_last(),
            titles.c.votes.desc(),
            titles.c.id,
        ]
    else:
        ordering = _column_order(sort, order or DEFAULT_ORDER[sort])
    # Every match is ranked anyway, so counting them beside the page costs little.
    page = (
        sa.select(*SUMMARY_COLUMNS, sa.func.count().over().label("total"))
        .where(found, *conditions)
        .order_by(*ordering)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    count = sa.select(sa.func.count()).select_from(titles).where(found, *conditions)
    return page, count


def search_titles(
    conn: Connection,
    *,
    typos: Typos,
    q: str | None = None,
    platform: list[Platform] | None = None,
    type: TitleType | None = None,
    year_from: int | None = None,
    year_to: int | None = None,
    genre: str | None = None,
    min_score: float | None = None,
    sort: SortField | None = None,
    order: SortOrder | None = None,
    limit: int = 20,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of titles matching `q` and every filter given, and how many match in all."""
    # With q the most relevant come first unless `sort` says otherwise; without, the best scored.
    filters = _params(
        platform=sorted({p.value for p in platform}) if platform else None,
        type=type,
        year_from=year_from,
        year_to=year_to,
        genre=genre.lower() if genre else None,
        min_score=min_score,
    )
    names = tuple(sorted(filters))
    page = {"limit": limit, "offset": offset}
    if q is None:
        sort = sort or SortField.score
        page_sql, count_sql = _browse_sql(names, sort, order or DEFAULT_ORDER[sort])
        items = [row._asdict() for row in conn.execute(page_sql, {**filters, **page})]
        if len(items) < limit and (items or offset == 0):
            total = offset + len(items)  # the last page: no second scan to count
        else:
            total = conn.execute(count_sql, filters).scalar_one()
        return {"total": total, **page, "items": items}

    query = Query.parse(q)
    if not query.key:  # nothing but punctuation, or only words to exclude
        return {"total": 0, **page, "items": []}
    params = {
        **filters,
        **page,
        "websearch": query.websearch,
        "key": query.key,
        "key_end": query.key + TOP,
        "typos": [],
    }
    statements = _search_sql(names, sort, order, query.plain)
    rows, total = _search_page(conn, statements, params)
    if total == 0 and query.plain and len(query.key) >= TYPO_MIN_LENGTH:
        params["typos"] = typos.similar(conn, query.key)
        if params["typos"]:
            rows, total = _search_page(conn, statements, params)
    items = [{k: v for k, v in row._asdict().items() if k != "total"} for row in rows]
    return {"total": total, **page, "items": items}


def _search_page(
    conn: Connection, statements: tuple[sa.Select, sa.Select], params: dict[str, Any]
) -> tuple[list[sa.Row], int]:
    page_sql, count_sql = statements
    rows = conn.execute(page_sql, params).all()
    if rows:
        return rows, rows[0].total
    return rows, conn.execute(count_sql, params).scalar_one()  # a page past the last match


# -- suggestions: GET /titles/suggest ----------------------------------------------------------

SUGGESTION_COLUMNS = (
    titles.c.id,
    titles.c.title,
    titles.c.platform,
    titles.c.type,
    titles.c.release_year,
)
# The titles nearest what was typed first: the fewest letters left to type (so an exact match
# leads), then the most rated.
_LEFT_TO_TYPE = sa.func.length(titles.c.search_title)
SUGGESTION_ORDER = (_LEFT_TO_TYPE, titles.c.votes.desc(), titles.c.id)


def _suggest_sql() -> sa.Select:
    """Suggestions in one statement (one round trip)."""
    # The titles that start with what was typed (from the index on the folded title); then,
    # only if they are too few, titles with a word starting with each word typed ("things"
    # finds "stranger things", from the index on the titles' words).
    ranked = (*SUGGESTION_COLUMNS, _LEFT_TO_TYPE.label("left_to_type"), titles.c.votes)
    starting = (
        sa.select(*ranked, sa.literal_column("0").label("tier"))
        .where(_PREFIX)
        .order_by(*SUGGESTION_ORDER)
        .limit(sa.bindparam("limit"))
        .cte("starting")
    )
    enough = sa.select(sa.func.count()).select_from(starting).scalar_subquery()
    with_words = (
        sa.select(*ranked, sa.literal_column("1").label("tier"))
        .where(
            enough < sa.bindparam("limit"),  # computed once: when false, no word is looked up
            _title_words(titles).op("@@")(
                sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), sa.bindparam("words"))
            ),
            sa.not_(_PREFIX),
        )
        .order_by(*SUGGESTION_ORDER)
        .limit(sa.bindparam("limit"))
        .subquery("with_words")
    )
    both = sa.union_all(sa.select(starting), sa.select(with_words)).subquery("both")
    return (
        sa.select(*(both.c[c.name] for c in SUGGESTION_COLUMNS))
        .order_by(both.c.tier, both.c.left_to_type, both.c.votes.desc(), both.c.id)
        .limit(sa.bindparam("limit"))
    )


SUGGEST_SQL = _suggest_sql()
SUGGEST_MIN_LENGTH = 2


def suggest_titles(conn: Connection, *, q: str, limit: int = 10) -> dict[str, Any]:
    """Titles for a search box as someone types `q`; the nearest first."""
    key = search_key(q)
    if len(key) < SUGGEST_MIN_LENGTH:
        return {"items": []}
    # Each word as a prefix; the key holds letters, digits and spaces only.
    words = " & ".join(f"'{word}':*" for word in key.split())
    params = {"key": key, "key_end": key + TOP, "words": words, "limit": limit}
    return {"items": [row._asdict() for row in conn.execute(SUGGEST_SQL, params)]}


PLATFORMS_SQL = sa.select(platform_counts).order_by(
    platform_counts.c.platform, platform_counts.c.title_type
)


def list_platforms(conn: Connection) -> list[dict[str, Any]]:
    """Each platform with its number of titles, in all and by type."""
    result: dict[str, dict[str, Any]] = {}
    for platform, title_type, count in conn.execute(PLATFORMS_SQL):
        entry = result.setdefault(platform, {"platform": platform, "count": 0, "by_type": {}})
        if title_type == "all":
            entry["count"] = count
        else:
            entry["by_type"][title_type] = count
    return list(result.values())


_GENRE_COUNT = sa.func.count().label("count")
GENRES_SQL = (
    sa.select(title_genres.c.genre, _GENRE_COUNT)
    .group_by(title_genres.c.genre)
    .order_by(_GENRE_COUNT.desc(), title_genres.c.genre)
)
PLATFORM_GENRES_SQL = GENRES_SQL.join_from(
    title_genres, titles, titles.c.id == title_genres.c.title_id
).where(titles.c.platform == sa.bindparam("platform"))


def list_genres(conn: Connection, *, platform: Platform | None = None) -> list[dict[str, Any]]:
    """Every genre with its number of titles, the most common first."""
    if platform is None:
        rows = conn.execute(GENRES_SQL)
    else:
        rows = conn.execute(PLATFORM_GENRES_SQL, {"platform": platform.value})
    return [row._asdict() for row in rows]


# Counting every API rating on each page load grows without bound: they are counted exactly up
# to API_COUNT_BOUND, and past it PostgreSQL's own estimate of the partition's rows is used.
API_COUNT_BOUND = 10_000
_API_SAMPLE = (
    sa.select(sa.literal(1))
    .select_from(ratings)
    .where(ratings.c.source == "api")
    .limit(API_COUNT_BOUND + 1)
    .subquery()
)
_API_ESTIMATE = (
    "(SELECT greatest(reltuples, 0)::bigint FROM pg_class"
    f" WHERE oid = to_regclass('{RATING_PARTITIONS['api']}'))"
)
# One round trip: the latest load (if any) and the counts beside it.
_LATEST_LOAD = sa.select(loads).order_by(loads.c.id.desc()).limit(1).subquery()
DATASET_SQL = sa.select(
    _LATEST_LOAD.c.id,
    _LATEST_LOAD.c.finished_at,
    _LATEST_LOAD.c.synthetic,
    sa.select(sa.func.count()).select_from(titles).scalar_subquery().label("titles"),
    sa.select(sa.func.coalesce(sa.func.sum(load_files.c.rows_loaded), 0))
    .where(load_files.c.load_id == _LATEST_LOAD.c.id, load_files.c.kind == "ratings")
    .scalar_subquery()
    .label("file_ratings"),
    sa.select(sa.func.count()).select_from(_API_SAMPLE).scalar_subquery().label("api_counted"),
    sa.literal_column(_API_ESTIMATE).label("api_estimate"),
).select_from(sa.select(sa.literal(1)).subquery().outerjoin(_LATEST_LOAD, sa.true()))


def get_dataset(conn: Connection) -> dict[str, Any]:
    """What is loaded: the latest load, whether it is the synthetic demo set, and row counts
    (API ratings exact up to API_COUNT_BOUND, estimated past it)."""
    row = conn.execute(DATASET_SQL).one()
    estimated = row.api_counted > API_COUNT_BOUND
    api = max(row.api_counted, row.api_estimate or 0) if estimated else row.api_counted
    return {
        "load_id": row.id,
        "loaded_at": row.finished_at.isoformat() if row.finished_at else None,
        "synthetic": bool(row.synthetic),
        "titles": row.titles,
        "ratings": int(row.file_ratings) + api,
        "ratings_estimated": estimated,
    }
