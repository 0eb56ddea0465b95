"""Thin routes: validate the query, call service.py, return its answer."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.engine import Engine

from common.db import check_database
from common.platforms import TITLE_ID_PATTERN, DurationType, Platform, TitleType, is_title_id
from common.web import ErrorBody, Health, health_response, invalid, respond
from services.catalog import service
from services.catalog.schemas import (
    Dataset,
    GenreCount,
    MaxDuration,
    PlatformCount,
    ScoreCount,
    SortField,
    SortOrder,
    Title,
    TitlePage,
    TopActor,
    TypeCounts,
)

MAX_IDS = 1000
NO_NUL = r"^[^\x00]*$"


async def engine(request: Request) -> Engine:
    # async, so FastAPI does not spend a thread hop on it; routes are sync and run in the pool.
    return request.app.state.engine


Db = Annotated[Engine, Depends(engine)]
PlatformQ = Annotated[
    Platform, Query(description="amazon, disney, hulu or netflix (any case)", examples=["netflix"])
]
OptionalPlatformQ = Annotated[
    Platform | None,
    Query(
        description="amazon, disney, hulu or netflix (any case); all when omitted",
        examples=["hulu"],
    ),
]
YearQ = Annotated[int, Query(ge=1900, le=2100, description="release year", examples=[2019])]
OptionalYearQ = Annotated[
    int | None,
    Query(ge=1900, le=2100, description="release year; all when omitted", examples=[2019]),
]
TypeQ = Annotated[
    TitleType | None,
    Query(description="movie or tv show; films and shows alike when omitted", examples=["movie"]),
]
NOT_FOUND = {404: {"model": ErrorBody, "description": "nothing matches; the detail says why"}}

router = APIRouter()


@router.get("/get_max_duration", response_model=MaxDuration, responses=NOT_FOUND, tags=["queries"])
def get_max_duration(
    db: Db,
    year: OptionalYearQ = None,
    platform: OptionalPlatformQ = None,
    duration_type: Annotated[
        DurationType,
        Query(
            description="min or season: minutes and seasons are not comparable", examples=["min"]
        ),
    ] = DurationType.min,
    type: TypeQ = None,
):
    """The title with the longest duration; ties go to the first title by name."""
    with db.connect() as conn:
        answer = service.get_max_duration(
            conn, year=year, platform=platform, duration_type=duration_type, type=type
        )
    return respond(MaxDuration, answer)


@router.get("/get_score_count", response_model=ScoreCount, responses=NOT_FOUND, tags=["queries"])
def get_score_count(
    db: Db,
    platform: PlatformQ,
    scored: Annotated[
        float,
        Query(
            ge=0, le=5, allow_inf_nan=False, description="mean rating to beat, 0-5", examples=[3.5]
        ),
    ],
    year: YearQ,
    type: TypeQ = None,
):
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


@router.get("/titles/{title_id}", response_model=Title, responses=NOT_FOUND, tags=["titles"])
def get_title(
    db: Db,
    title_id: Annotated[
        str,
        Path(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns1"]),
    ],
):
    """One title with every field, its cast and its genres."""
    with db.connect() as conn:
        return respond(Title, service.get_title(conn, title_id=title_id))


@router.get("/titles", response_model=TitlePage, tags=["titles"])
def list_titles(
    db: Db,
    ids: Annotated[
        str | None,
        Query(
            max_length=MAX_IDS * 12,
            description=f"comma-separated title ids, up to {MAX_IDS}; returns exactly those titles",
            examples=["as1,ns2,hs3"],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=NO_NUL,
            description="part of the title, any case",
            examples=["star"],
        ),
    ] = None,
    platform: OptionalPlatformQ = None,
    type: TypeQ = None,
    year_from: Annotated[
        int | None, Query(ge=1900, le=2100, description="earliest release year", examples=[2000])
    ] = None,
    year_to: Annotated[
        int | None, Query(ge=1900, le=2100, description="latest release year", examples=[2021])
    ] = None,
    genre: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=NO_NUL,
            description="one genre as listed by /genres",
            examples=["dramas"],
        ),
    ] = None,
    min_score: Annotated[
        float | None,
        Query(ge=0, le=5, allow_inf_nan=False, description="lowest mean rating", examples=[3.6]),
    ] = None,
    sort: Annotated[
        SortField, Query(description="what to sort by", examples=["score"])
    ] = SortField.score,
    order: Annotated[
        SortOrder | None,
        Query(
            description="asc or desc; title sorts asc, the others desc by default",
            examples=["desc"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size", examples=[20])] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000, description="titles to skip", examples=[0])] = 0,
):
    """Search and browse titles, or fetch many titles by id in one call (`ids`)."""
    if ids is not None:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        bad = [i for i in wanted if not is_title_id(i)]
        if not wanted or bad or len(wanted) > MAX_IDS:
            invalid("query", "ids", ids, f"give 1 to {MAX_IDS} comma-separated ids like as1,ns2")
        filters = (q, platform, type, year_from, year_to, genre, min_score)
        if any(f is not None for f in filters):
            invalid("query", "ids", ids, "ids cannot be combined with search filters")
        with db.connect() as conn:
            return respond(TitlePage, service.get_titles(conn, ids=wanted))
    if year_from is not None and year_to is not None and year_from > year_to:
        invalid("query", "year_from", year_from, "year_from must not be after year_to")
    with db.connect() as conn:
        answer = service.search_titles(
            conn,
            q=q,
            platform=platform,
            type=type,
            year_from=year_from,
            year_to=year_to,
            genre=genre,
            min_score=min_score,
            sort=sort,
            order=order,
            limit=limit,
            offset=offset,
        )
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


@router.get("/health/live", response_model=Health, tags=["health"])
def live():
    """200 while the process runs."""
    return Health(status="ok")


@router.get(
    "/health/ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database is down; the reason is given"}},
    tags=["health"],
)
def ready(db: Db):
    """200 when the database answers and holds the catalogue; 503 naming the problem otherwise."""
    return health_response({"database": check_database(db)})
