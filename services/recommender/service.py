"""What the recommender does: plain keyword-only functions over the model and the database."""

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.engine import Engine

from common.platforms import Platform
from common.tables import ratings, titles
from common.web import NotFound
from contracts.recommender import Reason
from services.recommender.model import ArtifactError, Model, current_version, load, top

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
    user, item = model.user_index(user_id), model.item_index(title_id)
    if item is None and not title_exists(engine, title_id=title_id):
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


API_RATED = sa.select(ratings.c.title_id).where(
    ratings.c.source == "api", ratings.c.user_id == sa.bindparam("user_id")
)


def _rated_through_api(model: Model, engine: Engine, user_id: int) -> np.ndarray:
    """Inner ids of the titles the user rated through the API (the model may predate them)."""
    with engine.connect() as conn:
        ids = np.asarray(conn.execute(API_RATED, {"user_id": user_id}).scalars().all(), dtype=str)
    if len(ids) == 0:
        return np.empty(0, dtype=np.int64)
    positions = np.searchsorted(model.item_ids, ids).clip(0, len(model.item_ids) - 1)
    return positions[model.item_ids[positions] == ids]


def recommend(
    model: Model,
    engine: Engine,
    *,
    user_id: int,
    n: int = 10,
    platforms: list[Platform] | None = None,
    exclude_seen: bool = True,
) -> dict[str, Any]:
    """The n titles with the best predicted rating for the user, among every title at once."""
    user = model.user_index(user_id)
    exclude = np.empty(0, dtype=np.int64)
    if exclude_seen:
        exclude = _rated_through_api(model, engine, user_id)
        if user is not None:
            exclude = np.concatenate([exclude, model.seen(user)])
    if user is None:
        scores, reason = model.item_prior, Reason.cold_start
    else:
        scores, reason = model.user_scores(user), Reason.model
    best = top(scores, n, model.platform_mask(platforms), exclude)
    return {
        "user_id": user_id,
        "reason": reason,
        "items": [{"title_id": model.item_ids[i], "score": float(scores[i])} for i in best],
    }


def popular(
    model: Model, *, n: int = 10, platforms: list[Platform] | None = None
) -> dict[str, Any]:
    """The cold-start picks (titles by damped mean rating), for callers who name no user."""
    best = top(model.item_prior, n, model.platform_mask(platforms), np.empty(0, dtype=np.int64))
    return {
        "reason": Reason.cold_start,
        "items": [
            {"title_id": model.item_ids[i], "score": float(model.item_prior[i])} for i in best
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
    """The n titles whose factors point the most the same way (cosine similarity)."""
    item = model.item_index(title_id)
    if item is None:
        if not title_exists(engine, title_id=title_id):
            raise NotFound(f"no title has id {title_id!r}")
        return {"title_id": title_id, "reason": Reason.unknown_title, "items": []}
    scores = model.similar(item)
    best = top(scores, n, model.platform_mask(platforms), np.array([item]))
    return {
        "title_id": title_id,
        "reason": Reason.model,
        "items": [{"title_id": model.item_ids[i], "score": float(scores[i])} for i in best],
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
