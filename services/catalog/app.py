"""The catalog's FastAPI app: services.catalog.app:app."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.web import make_app
from services.catalog.api import router
from services.catalog.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # No connection is made here: the service starts even while the database is down.
        app.state.engine = config.engine("catalog")
        yield
        app.state.engine.dispose()

    app = make_app(
        service="catalog",
        title="streamrec catalog",
        description="The four catalogue queries and title browsing over PostgreSQL.",
        settings=config,
        lifespan=lifespan,
        database=True,
    )

    app.include_router(router)
    return app


app = create_app()
