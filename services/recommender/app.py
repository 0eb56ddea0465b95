"""The recommender's FastAPI app: services.recommender.app:app."""

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.web import make_app
from services.recommender.api import router
from services.recommender.service import ModelStore
from services.recommender.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = config
        app.state.store = store = ModelStore(config.model_dir)
        store.refresh()  # a missing or broken model is not fatal: ready says why
        stop = threading.Event()
        poller = threading.Thread(
            target=store.poll, args=(config.model_poll_s, stop), name="model-poller", daemon=True
        )
        poller.start()
        yield
        stop.set()
        poller.join(timeout=5)

    app = make_app(
        service="recommender",
        title="streamrec recommender",
        description="Predictions, top-N and similar titles from a scikit-surprise SVD model.",
        settings=config,
        lifespan=lifespan,
        database=True,
    )

    app.include_router(router)
    return app


app = create_app()
