"""What the recommender does: plain keyword-only functions over the model and the database."""

import logging
import math
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Engine

from common.platforms import Platform
from common.tables import ratings_api, titles
from common.web import NotFound
from contracts.recommender import Reason
from services.recommender.model import ArtifactError, Model, current_version, load

log = logging.getLogger(__name__)

MODEL_VERSION = Gauge(
    "recommender_model_info",
    "1 for the model version being served",
    ["version"],
    multiprocess_mode="liveall",
)
MODEL_LOAD_SECONDS = Gauge(
    "recommender_model_load_seconds",
    "Time the served model took to load and verify",
    multiprocess_mode="liveall",
)
MODEL_LOADED_AT = Gauge(
    "recommender_model_loaded_timestamp_seconds",
    "When the served model went live",
    multiprocess_mode="liveall",
)


class UnknownTitle(Exception):
    """A posted rating names a title that does not exist."""


class ModelStore:
    """The model being served. A new `current` version replaces it only once it is completely
    loaded and verified; a broken one is refused (and logged) while the old one keeps serving."""

    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        self.model: Model | None = None
        self.problem: str | None = "no model loaded yet"
        self._refused: str | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Load `current` if it changed."""
        with self._lock:
            version = current_version(self.model_dir)
            if version is None:
                if self.model is None:
                    self.problem = f"no model in {self.model_dir} yet (run the trainer)"
                return
            if (self.model and self.model.version == version) or version == self._refused:
                return
            started = time.perf_counter()
            try:
                model = load(self.model_dir, version)
            except ArtifactError as exc:
                self._refused = version
                log.error("refusing model %s: %s", version, exc)
                if self.model is None:
                    self.problem = f"model {version} refused: {exc}"
                return
            previous, self.model, self.problem = self.model, model, None
            if previous is not None:
                MODEL_VERSION.remove(previous.version)
            MODEL_VERSION.labels(version).set(1)
            MODEL_LOAD_SECONDS.set(time.perf_counter() - started)
            MODEL_LOADED_AT.set(time.time())
            log.info("serving model %s", version)

    def poll(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a poller that dies would silently freeze the model
                log.exception("model refresh failed")


TITLE_EXISTS = sa.select(titles.c.id).where(titles.c.id == sa.bindparam("title_id"))


def title_exists(engine: Engine, *, title_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(TITLE_EXISTS, {"title_id": title_id}).first() is not None


def predict(
    model: Model, engine: Engine, *, user_id: int, title_id: str, threshold: float
) -> dict[str, Any]:
    """Would this user like this title? Unknown ids are said so, never passed off as the model's."""
    user, item = model.user_index(user_id), model.rated_index(title_id)
    if model.item_index(title_id) is None and not title_exists(engine, title_id=title_id):
        raise NotFound(f"no title has id {title_id!r}")
    reason = {
        (True, True): Reason.model,
        (False, True): Reason.unknown_user,
        (True, False): Reason.unknown_title,
        (False, False): Reason.unknown_user_and_title,
    }[(user is not None, item is not None)]
    score = model.predict(user, item)
    return {
        "user_id": user_id,
        "title_id": title_id,
        "score": score,
        "recommend": score >= threshold,
        "threshold": threshold,
        "reason": reason,
    }


# The user's API ratings (the model may predate them); one per title at most.
API_RATINGS = sa.select(ratings_api.c.title_id, ratings_api.c.rating).where(
    ratings_api.c.user_id == sa.bindparam("user_id")
)
RATING_LOCK = 0x5EC_7A7E  # pg advisory lock class: one user's posted ratings, one at a time


def rated_through_api(model: Model, engine: Engine, user_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner ids, ratings) of the titles the user rated through the API that the model has."""
    with engine.connect() as conn:
        rows = conn.execute(API_RATINGS, {"user_id": user_id}).all()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ids = np.array([r.title_id for r in rows], dtype=str)
    values = np.array([r.rating for r in rows], dtype=np.float64)
    inner, found = model.locate(ids)
    return inner, values[found]


def recommend(
    model: Model,
    engine: Engine,
    *,
    user_id: int,
    n: int = 10,
    platforms: list[Platform] | None = None,
    exclude_seen: bool = True,
) -> dict[str, Any]:
    """The user's n picks (ranking.py), each with the rated titles that led to it; cold start
    (popular, well-rated titles) for a user with no ratings at all."""
    user = model.user_index(user_id)
    extra_items, extra_ratings = rated_through_api(model, engine, user_id)
    picks = model.recommend(
        user,
        extra_items=extra_items,
        extra_ratings=extra_ratings,
        n=n,
        allowed=model.platform_mask(platforms),
        exclude_seen=exclude_seen,
    )
    if user is not None:
        reason = Reason.model
    elif len(extra_items):
        reason = Reason.content
    else:
        reason = Reason.cold_start
    return {
        "user_id": user_id,
        "reason": reason,
        "items": [
            {
                "title_id": model.item_ids[i],
                "score": float(score),
                "because": [str(model.item_ids[b]) for b in because],
            }
            for i, score, because in zip(picks.items, picks.scores, picks.because, strict=True)
        ],
    }


def popular(
    model: Model, *, n: int = 10, platforms: list[Platform] | None = None
) -> dict[str, Any]:
    """The cold-start picks (titles by damped mean rating), for callers who name no user."""
    picks = model.recommend(
        None,
        extra_items=np.empty(0, dtype=np.int64),
        extra_ratings=np.empty(0),
        n=n,
        allowed=model.platform_mask(platforms),
        exclude_seen=False,
    )
    return {
        "reason": Reason.cold_start,
        "items": [
            {"title_id": model.item_ids[i], "score": float(score)}
            for i, score in zip(picks.items, picks.scores, strict=True)
        ],
    }


def similar(
    model: Model,
    engine: Engine,
    *,
    title_id: str,
    n: int = 10,
    platforms: list[Platform] | None = None,
) -> dict[str, Any]:
    """The n titles most like this one: content neighbours, blended with the rating factors by
    the weight the trainer chose (0 when the ratings carry no title signal)."""
    item = model.item_index(title_id)
    if item is None:
        if not title_exists(engine, title_id=title_id):
            raise NotFound(f"no title has id {title_id!r}")
        return {"title_id": title_id, "reason": Reason.unknown_title, "items": []}
    picks = model.similar(item, n, model.platform_mask(platforms))
    blended = float(model.ranking["similar_factor_weight"]) > 0
    return {
        "title_id": title_id,
        "reason": Reason.content_and_ratings if blended else Reason.content,
        "items": [
            {"title_id": model.item_ids[i], "score": float(s)}
            for i, s in zip(picks.items, picks.scores, strict=True)
        ],
    }


class DailyCap(Exception):
    """The user rated as many titles in the last 24 hours as the cap allows."""

    def __init__(self, cap: int, retry_after_s: int):
        super().__init__(
            f"daily rating cap reached: at most {cap} titles rated per user in 24 hours "
            f"(rating a title again does not count twice); try again in {retry_after_s} s"
        )
        self.retry_after_s = retry_after_s


UPSERT = (
    pg.insert(ratings_api)
    .values(
        source="api",
        seq=sa.func.nextval("ratings_api_seq"),
        user_id=sa.bindparam("user_id"),
        title_id=sa.bindparam("title_id"),
        rating=sa.bindparam("rating"),
        rated_at=sa.func.now(),
    )
    .returning(
        ratings_api.c.seq,
        ratings_api.c.user_id,
        ratings_api.c.title_id,
        ratings_api.c.rating,
        ratings_api.c.rated_at,
        ratings_api.c.source,
        # xmax is set on a row version that an update replaced: the rating was there before.
        (sa.literal_column("xmax") != 0).label("replaced"),
    )
)
UPSERT = UPSERT.on_conflict_do_update(
    index_elements=["user_id", "title_id"],
    set_={
        "seq": sa.func.nextval("ratings_api_seq"),
        "rating": UPSERT.excluded.rating,
        "rated_at": UPSERT.excluded.rated_at,
    },
)
# Titles the user rated in the last 24 hours, other than this one, and when the oldest was.
TODAY = sa.select(sa.func.count(), sa.func.min(ratings_api.c.rated_at)).where(
    ratings_api.c.user_id == sa.bindparam("user_id"),
    ratings_api.c.title_id != sa.bindparam("title_id"),
    ratings_api.c.rated_at > sa.func.now() - sa.text("interval '1 day'"),
)


def add_rating(
    engine: Engine, *, user_id: int, title_id: str, rating: float, daily_cap: int
) -> dict[str, Any]:
    """Store a rating posted through the API, one per (user, title): a new rating of a title
    replaces the user's earlier one. At most `daily_cap` titles per user in 24 hours."""
    values = {"user_id": user_id, "title_id": title_id, "rating": rating}
    try:
        with engine.begin() as conn:
            # One user's posts, one at a time: the cap cannot be raced past.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(RATING_LOCK, user_id)))
            today, oldest = conn.execute(TODAY, values).one()
            if today >= daily_cap:
                if conn.execute(TITLE_EXISTS, values).first() is None:
                    raise UnknownTitle(f"no title has id {title_id!r}")  # a 422 comes first
                now = conn.execute(sa.select(sa.func.now())).scalar_one()
                wait = oldest + timedelta(days=1) - now
                raise DailyCap(daily_cap, max(1, math.ceil(wait.total_seconds())))
            return conn.execute(UPSERT, values).one()._asdict()
    except sa.exc.IntegrityError as exc:
        if "fk_ratings_title_id_titles" in str(exc.orig):
            raise UnknownTitle(f"no title has id {title_id!r}") from None
        raise


def model_info(model: Model) -> dict[str, Any]:
    evaluation = model.metadata.get("evaluation") or {}
    return {
        "version": model.version,
        "created_at": model.metadata.get("created_at", ""),
        "params": model.metadata.get("params", {}),
        "users": len(model.user_ids),
        "titles": len(model.item_ids),
        "metrics": evaluation.get("models", {}),
    }
