"""Thin routes over service.py. Scoring needs no I/O, so /predict runs on the event loop."""

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from common.db import check_database
from common.deps import Db
from common.web import ErrorBody, Health, health_response, invalid, respond
from contracts.recommender import (
    NO_MODEL,
    NOT_FOUND,
    CountQ,
    ExcludeSeenQ,
    ModelInfo,
    PlatformsQ,
    PopularTitles,
    Prediction,
    RatingIn,
    RatingOut,
    Recommendations,
    SimilarTitles,
    TitlePath,
    TitleQ,
    UserPath,
    UserQ,
)
from services.recommender import service
from services.recommender.model import Model

router = APIRouter()
log = logging.getLogger(__name__)


def served_model(store: service.ModelStore) -> Model:
    """The model being served; 503 with the reason when there is none."""
    if store.model is None:
        # The reason names the model folder: the log has it, the caller gets the fact.
        log.warning("no model to answer with: %s", store.problem)
        raise HTTPException(503, "no model is loaded yet")
    return store.model


async def model(request: Request) -> Model:
    return served_model(request.app.state.store)


MODEL_VERSION_HEADER = "X-Model-Version"


def versioned(response: Response, served: Model) -> Response:
    """Say which model answered: a reload never mixes two models in one answer."""
    response.headers[MODEL_VERSION_HEADER] = served.version
    return response


async def admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Admin routes need ADMIN_TOKEN as a bearer token; without ADMIN_TOKEN they are disabled."""
    token = request.app.state.settings.admin_token
    if token is None:
        raise HTTPException(
            403, "admin API disabled: set ADMIN_TOKEN (32 characters or more) to enable it"
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    ):
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})


Served = Annotated[Model, Depends(model)]


@router.get(
    "/predict", response_model=Prediction, responses=NOT_FOUND | NO_MODEL, tags=["predictions"]
)
async def predict(request: Request, served: Served, db: Db, user_id: UserQ, title_id: TitleQ):
    """Would this user like this title? `recommend` is score >= RECOMMEND_THRESHOLD."""
    threshold = request.app.state.settings.recommend_threshold
    if served.item_index(title_id) is None:  # only then is the database needed
        answer = await run_in_threadpool(
            service.predict, served, db, user_id=user_id, title_id=title_id, threshold=threshold
        )
    else:
        answer = service.predict(
            served, db, user_id=user_id, title_id=title_id, threshold=threshold
        )
    return versioned(respond(Prediction, answer), served)


@router.get(
    "/users/{user_id}/recommendations",
    response_model=Recommendations,
    responses=NO_MODEL,
    tags=["predictions"],
)
def recommendations(
    served: Served,
    db: Db,
    user_id: UserPath,
    n: CountQ = 10,
    platform: PlatformsQ = None,
    exclude_seen: ExcludeSeenQ = True,
):
    """The user's picks, each with the titles behind it; cold start for users with no ratings."""
    answer = service.recommend(
        served, db, user_id=user_id, n=n, platforms=platform, exclude_seen=exclude_seen
    )
    return versioned(respond(Recommendations, answer), served)


@router.get(
    "/recommendations/popular",
    response_model=PopularTitles,
    responses=NO_MODEL,
    tags=["predictions"],
)
async def popular(served: Served, n: CountQ = 10, platform: PlatformsQ = None):
    """The cold-start picks: what a user the model does not know gets, without naming one."""
    return versioned(
        respond(PopularTitles, service.popular(served, n=n, platforms=platform)), served
    )


@router.get(
    "/titles/{title_id}/similar",
    response_model=SimilarTitles,
    responses=NOT_FOUND | NO_MODEL,
    tags=["predictions"],
)
async def similar(
    served: Served, db: Db, title_id: TitlePath, n: CountQ = 10, platform: PlatformsQ = None
):
    """The titles most like this one: one copy per work, none of its own work."""
    arguments = {"title_id": title_id, "n": n, "platforms": platform}
    if served.item_index(title_id) is None:  # only then is the database needed
        answer = await run_in_threadpool(service.similar, served, db, **arguments)
    else:
        answer = service.similar(served, db, **arguments)
    return versioned(respond(SimilarTitles, answer), served)


@router.post(
    "/ratings",
    response_model=RatingOut,
    status_code=201,
    responses={429: {"model": ErrorBody, "description": "the user's daily rating cap is reached"}},
    tags=["ratings"],
)
def add_rating(request: Request, db: Db, body: RatingIn):
    """Store a rating (source 'api'), replacing the user's earlier rating of the same title;
    the next training includes it."""
    try:
        row = service.add_rating(
            db,
            user_id=body.user_id,
            title_id=body.title_id,
            rating=body.rating,
            daily_cap=request.app.state.settings.api_ratings_per_day,
        )
    except service.UnknownTitle as exc:
        invalid("body", "title_id", body.title_id, str(exc))
    except service.DailyCap as exc:
        raise HTTPException(429, str(exc), {"Retry-After": str(exc.retry_after_s)}) from None
    return respond(RatingOut, row, status_code=201)


@router.get("/model", response_model=ModelInfo, responses=NO_MODEL, tags=["model"])
def model_info(served: Served):
    """The model being served: version, parameters, size and held-out metrics."""
    return respond(ModelInfo, service.model_info(served))


@router.post(
    "/admin/reload",
    response_model=ModelInfo,
    dependencies=[Depends(admin)],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, **NO_MODEL},
    tags=["admin"],
)
def reload(request: Request):
    """Load `current` now instead of at the next poll (needs the ADMIN_TOKEN bearer token)."""
    store = request.app.state.store
    store.refresh()
    return respond(ModelInfo, service.model_info(served_model(store)))


@router.get(
    "/health/ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "no model, or the database is down"}},
    tags=["health"],
)
def ready(request: Request, db: Db):
    """200 when a model is loaded and the database answers; 503 naming what is missing."""
    store = request.app.state.store
    return health_response({"model": store.problem, "database": check_database(db)})
