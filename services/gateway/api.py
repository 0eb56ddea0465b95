"""The public API: the catalogue routes relayed, the recommender's answers with title cards."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from common.platforms import DurationType
from common.web import ErrorBody, Health, health_response, respond
from contracts.auth import DemoSignIn, DemoToken, claims, sign
from contracts.catalog import (
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
from contracts.gateway import (
    PopularWithTitles,
    PredictionWithTitle,
    RecommendationsWithTitles,
    SimilarWithTitles,
)
from contracts.recommender import (
    NO_MODEL,
    CountQ,
    ExcludeSeenQ,
    ModelInfo,
    PlatformsQ,
    RatingIn,
    RatingOut,
    TitlePath,
    TitleQ,
    UserPath,
    UserQ,
)
from services.gateway.auth import Caller, authorize, caller
from services.gateway.downstream import Downstream
from services.gateway.ratelimit import read_address, write_address
from services.gateway.service import fetch_json, forward, title_cards, with_cards

router = APIRouter()
UNAVAILABLE = {
    503: {"description": "a downstream service is down or too slow; the detail says which"}
}
LIMITED = {
    429: {
        "model": ErrorBody,
        "description": "too many requests; Retry-After says in how many seconds to try again",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    }
}
SIGNED_IN = LIMITED | {
    401: {"model": ErrorBody, "description": "no token, or a token that is not valid; why"},
    403: {"model": ErrorBody, "description": "the token is another user's"},
}
DEMO_TOKEN_TTL_S = 3600


async def catalog(request: Request) -> Downstream:
    return request.app.state.catalog


async def recommender(request: Request) -> Downstream:
    return request.app.state.recommender


Catalog = Annotated[Downstream, Depends(catalog)]
Recommender = Annotated[Downstream, Depends(recommender)]
SignedIn = Annotated[Caller, Depends(caller)]


async def for_user(request: Request, who: Caller, user_id: int, kind: str) -> None:
    """403 unless the token may act for `user_id`; then the per-address limit (not for trusted
    back-ends, which speak for many users from one address) and the per-user limit."""
    authorize(who, user_id)
    limiter = request.app.state.limiter
    if not who.service:
        await limiter.address(request, kind)
    await limiter.user(kind, user_id)


# -- the catalogue, relayed as it is ---------------------------------------------------------


@router.get(
    "/get_max_duration",
    response_model=MaxDuration,
    responses=NOT_FOUND | UNAVAILABLE,
    tags=["queries"],
)
async def get_max_duration(
    request: Request,
    catalog: Catalog,
    year: OptionalYearQ = None,
    platform: OptionalPlatformQ = None,
    duration_type: DurationTypeQ = DurationType.min,
    type: TypeQ = None,
):
    """The title with the longest duration; ties go to the first title by name."""
    return await forward(request, catalog)


@router.get(
    "/get_score_count",
    response_model=ScoreCount,
    responses=NOT_FOUND | UNAVAILABLE,
    tags=["queries"],
)
async def get_score_count(
    request: Request,
    catalog: Catalog,
    platform: PlatformQ,
    scored: ScoredQ,
    year: YearQ,
    type: TypeQ = None,
):
    """How many of the platform's titles released in `year` have a mean rating above `scored`."""
    return await forward(request, catalog)


@router.get(
    "/get_count_platform",
    response_model=PlatformCount,
    responses=NOT_FOUND | UNAVAILABLE,
    tags=["queries"],
)
async def get_count_platform(
    request: Request, catalog: Catalog, platform: PlatformQ, type: TypeQ = None
):
    """How many titles the platform has."""
    return await forward(request, catalog)


@router.get(
    "/get_actor", response_model=TopActor, responses=NOT_FOUND | UNAVAILABLE, tags=["queries"]
)
async def get_actor(
    request: Request, catalog: Catalog, platform: PlatformQ, year: YearQ, type: TypeQ = None
):
    """The actor in most of the platform's titles of that year; ties go to the first by name."""
    return await forward(request, catalog)


# Before /titles/{title_id}, which would otherwise take "suggest" for an id.
@router.get("/titles/suggest", response_model=Suggestions, responses=UNAVAILABLE, tags=["titles"])
async def suggest_titles(
    request: Request, catalog: Catalog, q: SuggestTextQ, limit: SuggestLimitQ = 10
):
    """Titles for a search box as someone types: those starting with `q`, then those with words
    starting with its words."""
    return await forward(request, catalog)


@router.get(
    "/titles/{title_id}", response_model=Title, responses=NOT_FOUND | UNAVAILABLE, tags=["titles"]
)
async def get_title(request: Request, catalog: Catalog, title_id: TitleIdPath):
    """One title with every field, its cast and its genres."""
    return await forward(request, catalog)


@router.get("/titles", response_model=TitlePage, responses=UNAVAILABLE, tags=["titles"])
async def list_titles(request: Request, catalog: Catalog, search: TitleSearchQ):
    """Search and browse titles, or fetch many titles by id in one call (`ids`)."""
    return await forward(request, catalog)


@router.get("/platforms", response_model=list[TypeCounts], responses=UNAVAILABLE, tags=["titles"])
async def list_platforms(request: Request, catalog: Catalog):
    """Each platform with its number of titles, in all and by type."""
    return await forward(request, catalog)


@router.get("/genres", response_model=list[GenreCount], responses=UNAVAILABLE, tags=["titles"])
async def list_genres(request: Request, catalog: Catalog, platform: OptionalPlatformQ = None):
    """Every genre with its number of titles, the most common first."""
    return await forward(request, catalog)


@router.get("/dataset", response_model=Dataset, responses=UNAVAILABLE, tags=["titles"])
async def get_dataset(request: Request, catalog: Catalog):
    """What is loaded, and whether it is the synthetic demo data set."""
    return await forward(request, catalog)


# -- recommendations, with title cards --------------------------------------------------------


@router.get(
    "/predict",
    response_model=PredictionWithTitle,
    responses=NOT_FOUND | UNAVAILABLE | SIGNED_IN,
    tags=["recommendations"],
)
async def predict(
    request: Request,
    who: SignedIn,
    catalog: Catalog,
    recommender: Recommender,
    user_id: UserQ,
    title_id: TitleQ,
):
    """Would this user like this title? The recommender's answer, with the title's card.
    Needs the user's bearer token."""
    await for_user(request, who, user_id, "read")
    answer, (cards, degraded) = await asyncio.gather(
        fetch_json(request, recommender), title_cards(catalog, [title_id])
    )
    return respond(
        PredictionWithTitle, {**answer, "title": cards.get(title_id), "degraded": degraded}
    )


@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecommendationsWithTitles,
    responses=UNAVAILABLE | SIGNED_IN,
    tags=["recommendations"],
)
async def recommendations(
    request: Request,
    who: SignedIn,
    catalog: Catalog,
    recommender: Recommender,
    user_id: UserPath,
    n: CountQ = 10,
    platform: PlatformsQ = None,
    exclude_seen: ExcludeSeenQ = True,
):
    """The user's top titles (cold start for unknown users), each with its card. Needs the
    user's bearer token."""
    await for_user(request, who, user_id, "read")
    answer = await fetch_json(request, recommender)
    return respond(RecommendationsWithTitles, await with_cards(answer, catalog))


@router.get(
    "/recommendations/popular",
    response_model=PopularWithTitles,
    responses=UNAVAILABLE | LIMITED,
    dependencies=[Depends(read_address)],
    tags=["recommendations"],
)
async def popular(
    request: Request,
    catalog: Catalog,
    recommender: Recommender,
    n: CountQ = 10,
    platform: PlatformsQ = None,
):
    """The cold-start picks, for anyone: the titles a new user gets, each with its card."""
    answer = await fetch_json(request, recommender)
    return respond(PopularWithTitles, await with_cards(answer, catalog))


@router.get(
    "/titles/{title_id}/similar",
    response_model=SimilarWithTitles,
    responses=NOT_FOUND | UNAVAILABLE | LIMITED,
    dependencies=[Depends(read_address)],
    tags=["recommendations"],
)
async def similar(
    request: Request,
    catalog: Catalog,
    recommender: Recommender,
    title_id: TitlePath,
    n: CountQ = 10,
    platform: PlatformsQ = None,
):
    """The titles nearest to this one, each with its card."""
    answer = await fetch_json(request, recommender)
    return respond(SimilarWithTitles, await with_cards(answer, catalog))


@router.post(
    "/ratings",
    response_model=RatingOut,
    status_code=201,
    responses=UNAVAILABLE | SIGNED_IN,
    tags=["recommendations"],
)
async def add_rating(
    request: Request, who: SignedIn, recommender: Recommender, rating: RatingIn
) -> Response:
    """Store a rating; the next training includes it. Needs the bearer token of the user the
    rating is for."""
    await for_user(request, who, rating.user_id, "write")
    # Validated here already; the recommender validates the same bytes again.
    return await forward(request, recommender, body=await request.body())


def demo_sign_in(request: Request, body: DemoSignIn) -> DemoToken:
    """`make run` only (AUTH_DEMO_SIGN_IN): a token for any user id, so that the page can show
    anyone's picks on the demo data. Absent from every other deployment."""
    settings = request.app.state.settings
    token = sign(
        settings.auth_secret.get_secret_value(),
        "HS256",
        claims(str(body.user_id), ttl_s=DEMO_TOKEN_TTL_S, audience=settings.auth_audience),
    )
    return DemoToken(token=token, user_id=body.user_id, expires_in=DEMO_TOKEN_TTL_S)


DEMO_ROUTE = {
    "path": "/auth/demo",
    "endpoint": demo_sign_in,
    "methods": ["POST"],
    "response_model": DemoToken,
    "responses": LIMITED,
    "dependencies": [Depends(write_address)],
    "tags": ["sign-in"],
}


@router.get(
    "/model", response_model=ModelInfo, responses=NO_MODEL | UNAVAILABLE, tags=["recommendations"]
)
async def model_info(request: Request, recommender: Recommender):
    """The model being served: version, parameters and held-out metrics."""
    return await forward(request, recommender)


# -- health ------------------------------------------------------------------------------------


@router.get(
    "/health/ready",
    response_model=Health,
    responses={
        503: {
            "model": Health,
            "description": "a downstream service is not ready; which one and why",
        }
    },
    tags=["health"],
)
async def ready(catalog: Catalog, recommender: Recommender):
    """Each downstream service's readiness by name; 503 if either is not ready."""
    catalog_problem, recommender_problem = await asyncio.gather(
        catalog.ready(), recommender.ready()
    )
    return health_response({"catalog": catalog_problem, "recommender": recommender_problem})
