"""The catalog's FastAPI app: services.catalog.app:app."""

from fastapi import FastAPI

from common.web import make_app
from services.catalog.api import router
from services.catalog.settings import Settings, get_settings
from services.catalog.typos import Typos


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()
    app = make_app(
        service="catalog",
        title="streamrec catalog",
        description="The four catalogue queries and title browsing over PostgreSQL.",
        settings=config,
        database=True,
    )

    app.state.typos = Typos()
    app.include_router(router)
    return app


app = create_app()
