"""The gateway's own answers: the recommender's, with a title card on every title."""

from pydantic import BaseModel, Field

from common.platforms import Platform, TitleType
from contracts.recommender import Prediction, Reason, ScoredTitle


class TitleCard(BaseModel):
    title: str = Field(examples=["dick johnson is dead"])
    platform: Platform
    type: TitleType
    release_year: int = Field(examples=[2020])
    duration: str | None = Field(examples=["90 min"])
    score: float | None = Field(description="mean user rating", examples=[3.61])


DEGRADED = "true when the catalog could not be reached: ids and scores only, no title cards"


class PredictionWithTitle(Prediction):
    title: TitleCard | None
    degraded: bool = Field(False, description=DEGRADED)


class ScoredTitleWithCard(ScoredTitle):
    title: TitleCard | None


class TitleWithCard(BaseModel):
    title_id: str
    title: TitleCard | None


class PickWithCard(ScoredTitleWithCard):
    because: list[TitleWithCard] = Field(
        description="the titles the user rated highly that led to this pick, with their cards"
    )


class RecommendationsWithTitles(BaseModel):
    user_id: int
    reason: Reason
    items: list[PickWithCard]
    degraded: bool = Field(False, description=DEGRADED)


class PopularWithTitles(BaseModel):
    reason: Reason
    items: list[ScoredTitleWithCard]
    degraded: bool = Field(False, description=DEGRADED)


class SimilarWithTitles(BaseModel):
    title_id: str
    reason: Reason
    items: list[ScoredTitleWithCard]
    degraded: bool = Field(False, description=DEGRADED)
