"""What the recommender does: plain keyword-only functions over the model and the database."""

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Engine

from common.platforms import Platform
from common.tables import ratings, titles
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


def title_exists(engine: Engine, *, title_id: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(sa.select(titles.c.id).where(titles.c.id == title_id)).first() is not None
        )


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


# The user's API ratings, the latest per title (the model may predate them).
API_RATINGS = (
    sa.select(ratings.c.title_id, ratings.c.rating)
    .where(ratings.c.source == "api", ratings.c.user_id == sa.bindparam("user_id"))
    .order_by(ratings.c.title_id, ratings.c.seq.desc())
    .ext(distinct_on(ratings.c.title_id))
)


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


def add_rating(engine: Engine, *, user_id: int, title_id: str, rating: float) -> dict[str, Any]:
    """Store a rating posted through the API; the next training includes it."""
    statement = (
        ratings.insert()
        .values(
            source="api", user_id=user_id, title_id=title_id, rating=rating, rated_at=sa.func.now()
        )
        .returning(
            ratings.c.seq,
            ratings.c.user_id,
            ratings.c.title_id,
            ratings.c.rating,
            ratings.c.rated_at,
            ratings.c.source,
        )
    )
    try:
        with engine.begin() as conn:
            return conn.execute(statement).one()._asdict()
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
