"""Thin routes: validate the query, call service.py, return its answer."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from common.db import check_database
from common.deps import Db
from common.platforms import DurationType, is_title_id
from common.web import Health, health_response, invalid, respond
from contracts.catalog import (
    MAX_IDS,
    NOT_FOUND,
    Dataset,
    DurationTypeQ,
    GenreCount,
    MaxDuration,
    OptionalPlatformQ,
    OptionalYearQ,
    PlatformCount,
    PlatformQ,
    ScoreCount,
    ScoredQ,
    Suggestions,
    SuggestLimitQ,
    SuggestTextQ,
    Title,
    TitleIdPath,
    TitlePage,
    TitleSearchQ,
    TopActor,
    TypeCounts,
    TypeQ,
    YearQ,
)
from services.catalog import service
from services.catalog.typos import Typos

router = APIRouter()


async def typos(request: Request) -> Typos:
    return request.app.state.typos


TyposDep = Annotated[Typos, Depends(typos)]


@router.get("/get_max_duration", response_model=MaxDuration, responses=NOT_FOUND, tags=["queries"])
def get_max_duration(
    db: Db,
    year: OptionalYearQ = None,
    platform: OptionalPlatformQ = None,
    duration_type: DurationTypeQ = DurationType.min,
    type: TypeQ = None,
):
    """The title with the longest duration; ties go to the first title by name."""
    with db.connect() as conn:
        answer = service.get_max_duration(
            conn, year=year, platform=platform, duration_type=duration_type, type=type
        )
    return respond(MaxDuration, answer)


@router.get("/get_score_count", response_model=ScoreCount, responses=NOT_FOUND, tags=["queries"])
def get_score_count(db: Db, platform: PlatformQ, scored: ScoredQ, year: YearQ, type: TypeQ = None):
    """How many of the platform's titles released in `year` have a mean rating above `scored`."""
    with db.connect() as conn:
        answer = service.get_score_count(
            conn, platform=platform, scored=scored, year=year, type=type
        )
    return respond(ScoreCount, answer)


@router.get(
    "/get_count_platform", response_model=PlatformCount, responses=NOT_FOUND, tags=["queries"]
)
def get_count_platform(db: Db, platform: PlatformQ, type: TypeQ = None):
    """How many titles the platform has."""
    with db.connect() as conn:
        return respond(
            PlatformCount, service.get_count_platform(conn, platform=platform, type=type)
        )


@router.get("/get_actor", response_model=TopActor, responses=NOT_FOUND, tags=["queries"])
def get_actor(db: Db, platform: PlatformQ, year: YearQ, type: TypeQ = None):
    """The actor in most of the platform's titles of that year; ties go to the first by name."""
    with db.connect() as conn:
        return respond(TopActor, service.get_actor(conn, platform=platform, year=year, type=type))


# Before /titles/{title_id}, which would otherwise take "suggest" for an id.
@router.get("/titles/suggest", response_model=Suggestions, tags=["titles"])
def suggest_titles(db: Db, q: SuggestTextQ, limit: SuggestLimitQ = 10):
    """Titles for a search box as someone types: those starting with `q`, then those with words
    starting with its words."""
    with db.connect() as conn:
        return respond(Suggestions, service.suggest_titles(conn, q=q, limit=limit))


@router.get("/titles/{title_id}", response_model=Title, responses=NOT_FOUND, tags=["titles"])
def get_title(db: Db, title_id: TitleIdPath):
    """One title with every field, its cast and its genres."""
    with db.connect() as conn:
        return respond(Title, service.get_title(conn, title_id=title_id))


@router.get("/titles", response_model=TitlePage, tags=["titles"])
def list_titles(db: Db, typos: TyposDep, search: TitleSearchQ):
    """Search and browse titles, or fetch many titles by id in one call (`ids`)."""
    if search.ids is not None:
        wanted = [i.strip() for i in search.ids.split(",") if i.strip()]
        if not wanted or len(wanted) > MAX_IDS or not all(is_title_id(i) for i in wanted):
            invalid(
                "query", "ids", search.ids, f"give 1 to {MAX_IDS} comma-separated ids like as1,ns2"
            )
        if search.filters_given():
            invalid("query", "ids", search.ids, "ids cannot be combined with search filters")
        with db.connect() as conn:
            return respond(TitlePage, service.get_titles(conn, ids=wanted))
    if (
        search.year_from is not None
        and search.year_to is not None
        and search.year_from > search.year_to
    ):
        invalid("query", "year_from", search.year_from, "year_from must not be after year_to")
    with db.connect() as conn:
        answer = service.search_titles(conn, typos=typos, **search.model_dump(exclude={"ids"}))
    return respond(TitlePage, answer)


@router.get("/platforms", response_model=list[TypeCounts], tags=["titles"])
def list_platforms(db: Db):
    """Each platform with its number of titles, in all and by type."""
    with db.connect() as conn:
        return respond(list[TypeCounts], service.list_platforms(conn))


@router.get("/genres", response_model=list[GenreCount], tags=["titles"])
def list_genres(db: Db, platform: OptionalPlatformQ = None):
    """Every genre with its number of titles, the most common first."""
    with db.connect() as conn:
        return respond(list[GenreCount], service.list_genres(conn, platform=platform))


@router.get("/dataset", response_model=Dataset, tags=["titles"])
def get_dataset(db: Db):
    """What is loaded, and whether it is the synthetic demo data set."""
    with db.connect() as conn:
        return respond(Dataset, service.get_dataset(conn))


@router.get(
    "/health/ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database is down; the reason is given"}},
    tags=["health"],
)
def ready(db: Db):
    """200 when the database answers and holds the catalogue; 503 naming the problem otherwise."""
    return health_response({"database": check_database(db)})
