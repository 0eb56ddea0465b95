"""The recommender's contract: its parameters and request and response models. The recommender
serves them; the gateway takes the same parameters and adds title cards (contracts.gateway)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from common.platforms import TITLE_ID_PATTERN, Platform
from common.web import ErrorBody

MAX_USER_ID = 2**31 - 1


class Reason(StrEnum):
    model = "model"
    unknown_user = "unknown_user"
    unknown_title = "unknown_title"
    unknown_user_and_title = "unknown_user_and_title"
    cold_start = "cold_start"
    content = "content"
    content_and_ratings = "content_and_ratings"


class Prediction(BaseModel):
    user_id: int = Field(examples=[1])
    title_id: str = Field(examples=["ns2186"])
    score: float = Field(description="predicted rating, 0.5-5", examples=[3.71])
    recommend: bool = Field(description="score >= threshold")
    threshold: float = Field(examples=[3.5])
    reason: Reason = Field(
        description="model, or which id the model does not know (its answer then falls back "
        "to the biases it has, as surprise does)"
    )


class ScoredTitle(BaseModel):
    title_id: str = Field(examples=["as680"])
    score: float = Field(examples=[4.12])


class Pick(ScoredTitle):
    because: list[str] = Field(
        description="up to 3 titles the user rated above their own mean that led to this pick "
        "(empty for cold start, or when the pick comes from the other signals)",
        examples=[["ns3686"]],
    )


class Recommendations(BaseModel):
    user_id: int
    reason: Reason = Field(
        description="model (a user the model knows), content (a user it does not know yet, "
        "from their ratings since), or cold_start (no ratings at all: popular, well-rated titles)"
    )
    items: list[Pick] = Field(
        description="best first, by the blend the trainer chose; score is the predicted rating "
        "(cold start: the title's damped mean rating)"
    )


class PopularTitles(BaseModel):
    reason: Reason = Field(description="cold_start: what a user the model does not know gets")
    items: list[ScoredTitle] = Field(description="best first, by damped mean rating")


class SimilarTitles(BaseModel):
    title_id: str
    reason: Reason = Field(
        description="content (from what the titles are), content_and_ratings (blended with the "
        "rating model's factors), or unknown_title (a title loaded after the model was trained)"
    )
    items: list[ScoredTitle] = Field(
        description="most similar first, one copy per work, none of this title's own work; "
        "score is the similarity"
    )


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=MAX_USER_ID, examples=[42])
    title_id: str = Field(pattern=TITLE_ID_PATTERN, examples=["ns2186"])
    rating: float = Field(
        ge=0.5,
        le=5.0,
        multiple_of=0.5,
        allow_inf_nan=False,
        description="0.5 to 5, in steps of 0.5",
        examples=[4.5],
    )


class RatingOut(BaseModel):
    seq: int = Field(description="the rating's number among ratings posted through the API")
    user_id: int
    title_id: str
    rating: float
    rated_at: datetime
    source: str = Field(examples=["api"])
    replaced: bool = Field(
        description="true when this replaced the user's earlier rating of the same title"
    )


class ModelInfo(BaseModel):
    version: str = Field(examples=["20261126T080000Z-1a2b3c4d"])
    created_at: str
    params: dict[str, Any]
    users: int
    titles: int
    metrics: dict[str, Any] = Field(description="held-out metrics of the model and its baselines")


# -- parameters --------------------------------------------------------------------------------

UserQ = Annotated[int, Query(ge=1, le=MAX_USER_ID, description="the user's id", examples=[1])]
UserPath = Annotated[int, Path(ge=1, le=MAX_USER_ID, description="the user's id", examples=[1])]
TitleQ = Annotated[
    str,
    Query(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns2186"]),
]
TitlePath = Annotated[
    str,
    Path(pattern=TITLE_ID_PATTERN, description="platform letter + show_id", examples=["ns2186"]),
]
CountQ = Annotated[int, Query(ge=1, le=100, description="how many titles", examples=[10])]
PlatformsQ = Annotated[
    list[Platform] | None,
    Query(
        description="only these platforms; repeat it for several", examples=[["netflix", "hulu"]]
    ),
]
ExcludeSeenQ = Annotated[
    bool, Query(description="leave out titles the user already rated", examples=[True])
]
NOT_FOUND = {404: {"model": ErrorBody, "description": "no title has this id"}}
NO_MODEL = {503: {"model": ErrorBody, "description": "no model is loaded yet"}}
