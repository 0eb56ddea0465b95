"""The catalog's contract: its query parameters and response models. The catalog serves them and
the gateway relays the same JSON under the same parameters."""

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.platforms import TITLE_ID_PATTERN, DurationType, Platform, TitleType
from common.web import NO_NUL, ErrorBody

# -- response models ---------------------------------------------------------------------------


class SortField(StrEnum):
    score = "score"
    release_year = "release_year"
    title = "title"
    duration = "duration"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class MaxDuration(BaseModel):
    id: str = Field(examples=["as9586"])
    title: str = Field(examples=["the three stooges: the complete collection"])
    platform: Platform
    type: TitleType
    release_year: int
    duration_int: int = Field(examples=[194])
    duration_type: DurationType


class ScoreCount(BaseModel):
    platform: Platform
    scored: float = Field(examples=[3.5])
    year: int = Field(examples=[2020])
    count: int = Field(examples=[231])


class PlatformCount(BaseModel):
    platform: Platform
    count: int = Field(examples=[9668])


class TopActor(BaseModel):
    platform: Platform
    year: int = Field(examples=[2019])
    actor: str = Field(examples=["vatsal dubey"])
    appearances: int = Field(examples=[8])


class TitleSummary(BaseModel):
    id: str = Field(examples=["ns1"])
    platform: Platform
    type: TitleType
    title: str = Field(examples=["dick johnson is dead"])
    release_year: int = Field(examples=[2020])
    rating: str = Field(description="maturity rating", examples=["pg-13"])
    duration_int: int | None = Field(examples=[90])
    duration_type: DurationType | None
    score: float | None = Field(description="mean user rating, 0.5-5", examples=[3.55])
    votes: int = Field(description="number of user ratings", examples=[472])
    work_id: str = Field(
        description="the same film or show delivered by several platforms shares one work id",
        examples=["as7474"],
    )
    listed_in: str | None = Field(
        description="its genres, comma-separated", examples=["documentaries"]
    )


class Copy(BaseModel):
    platform: Platform
    id: str = Field(examples=["hs874"])


class Title(TitleSummary):
    show_id: str = Field(examples=["s1"])
    also_on: list[Copy] = Field(description="the same work on the other platforms", examples=[[]])
    director: str | None
    country: str | None
    date_added: date | None
    description: str | None
    cast: list[str] = Field(examples=[["ama qamata", "khosi ngema"]])
    genres: list[str] = Field(examples=[["documentaries"]])


class TitlePage(BaseModel):
    total: int = Field(description="titles matching the filters (or ids found)")
    limit: int
    offset: int
    items: list[TitleSummary]
    missing: list[str] = Field(default=[], description="requested ids that do not exist")


class Suggestion(BaseModel):
    id: str = Field(examples=["ns3686"])
    title: str = Field(examples=["stranger things"])
    platform: Platform
    type: TitleType
    release_year: int = Field(examples=[2019])


class Suggestions(BaseModel):
    items: list[Suggestion] = Field(description="up to `limit` titles, the best first")


class TypeCounts(BaseModel):
    platform: Platform
    count: int
    by_type: dict[str, int] = Field(examples=[{"movie": 7814, "tv show": 1854}])


class GenreCount(BaseModel):
    genre: str = Field(examples=["dramas"])
    count: int


class Dataset(BaseModel):
    load_id: int | None
    loaded_at: str | None
    synthetic: bool = Field(description="true when the data is the generated demo set")
    titles: int
    ratings: int
    ratings_estimated: bool = Field(
        False, description="true when the ratings posted through the API are many: estimated"
    )


# -- query parameters --------------------------------------------------------------------------

MAX_IDS = 1000
MAX_QUERY = 200
MAX_SUGGESTIONS = 10

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
# The release years a query may name.
FIRST_YEAR, LAST_YEAR = 1900, 2100
YearQ = Annotated[
    int, Query(ge=FIRST_YEAR, le=LAST_YEAR, description="release year", examples=[2019])
]
OptionalYearQ = Annotated[
    int | None,
    Query(
        ge=FIRST_YEAR, le=LAST_YEAR, description="release year; all when omitted", examples=[2019]
    ),
]
TypeQ = Annotated[
    TitleType | None,
    Query(description="movie or tv show; films and shows alike when omitted", examples=["movie"]),
]
DurationTypeQ = Annotated[
    DurationType,
    Query(description="min or season: minutes and seasons are not comparable", examples=["min"]),
]
ScoredQ = Annotated[
    float,
    Query(ge=0, le=5, allow_inf_nan=False, description="mean rating to beat, 0-5", examples=[3.5]),
]
TitleIdPath = Annotated[
    str, Path(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns1"])
]
NOT_FOUND = {404: {"model": ErrorBody, "description": "nothing matches; the detail says why"}}


class TitleSearch(BaseModel):
    """The filters of GET /titles. With `ids`, exactly those titles come back instead."""

    model_config = ConfigDict(extra="forbid")

    ids: str | None = Field(
        None,
        max_length=MAX_IDS * 12,
        description=f"comma-separated title ids, up to {MAX_IDS}; returns exactly those titles",
        examples=["as1,ns2,hs3"],
    )
    q: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_QUERY,
        pattern=NO_NUL,
        description=(
            "words of the title, the cast, the director, the genres, the country or the"
            ' description, in any case, with or without accents; "a phrase", or, -word work;'
            " when the words find nothing, the titles within a typo or two of it"
        ),
        examples=["stranger things"],
    )
    platform: list[Platform] | None = Field(
        None,
        description="amazon, disney, hulu or netflix (any case); repeat it for titles on any of"
        " several platforms",
        examples=[["netflix", "hulu"]],
    )
    type: TitleType | None = Field(None, description="movie or tv show", examples=["movie"])
    year_from: int | None = Field(
        None, ge=FIRST_YEAR, le=LAST_YEAR, description="earliest release year", examples=[2000]
    )
    year_to: int | None = Field(
        None, ge=FIRST_YEAR, le=LAST_YEAR, description="latest release year", examples=[2021]
    )
    genre: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="one genre as listed by /genres",
        examples=["dramas"],
    )
    min_score: float | None = Field(
        None, ge=0, le=5, allow_inf_nan=False, description="lowest mean rating", examples=[3.6]
    )
    sort: SortField | None = Field(
        None,
        description="what to sort by; by default the most relevant first with q, else score",
        examples=["score"],
    )
    order: SortOrder | None = Field(
        None,
        description="asc or desc; title sorts asc, the others desc by default",
        examples=["desc"],
    )
    limit: int = Field(20, ge=1, le=1000, description="page size", examples=[20])
    offset: int = Field(0, ge=0, le=100_000, description="titles to skip", examples=[0])

    @field_validator("q", "genre")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must contain more than white space")
        return value.strip() if value is not None else None

    def filters_given(self) -> bool:
        filters = (self.q, self.platform, self.type, self.year_from, self.year_to, self.genre)
        return any(f is not None for f in (*filters, self.min_score))


TitleSearchQ = Annotated[TitleSearch, Query()]

SuggestTextQ = Annotated[
    str,
    Query(
        min_length=2,
        max_length=MAX_QUERY,
        pattern=NO_NUL,
        description="the start of a title (2 characters or more), in any case, accents optional",
        examples=["stranger th"],
    ),
]
SuggestLimitQ = Annotated[
    int,
    Query(ge=1, le=MAX_SUGGESTIONS, description="how many titles at most", examples=[10]),
]
