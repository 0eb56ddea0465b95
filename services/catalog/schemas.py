"""Response models of the catalog (the gateway returns the same JSON)."""

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from common.platforms import DurationType, Platform, TitleType


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


class Title(TitleSummary):
    show_id: str = Field(examples=["s1"])
    director: str | None
    country: str | None
    date_added: date | None
    listed_in: str | None
    description: str | None
    cast: list[str] = Field(examples=[["ama qamata", "khosi ngema"]])
    genres: list[str] = Field(examples=[["documentaries"]])


class TitlePage(BaseModel):
    total: int = Field(description="titles matching the filters (or ids found)")
    limit: int
    offset: int
    items: list[TitleSummary]
    missing: list[str] = Field(default=[], description="requested ids that do not exist")


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
