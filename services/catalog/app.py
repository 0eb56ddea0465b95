"""The catalog's FastAPI app: services.catalog.app:app."""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from common.db import create_engine
from common.web import install_database_error_handler, install_error_handlers
from services.catalog.api import router
from services.catalog.service import NotFound
from services.catalog.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        config = settings or get_settings()
        # No connection is made here: the service starts even while the database is down.
        app.state.engine = create_engine(
            config.resolved_database_url(),
            application_name="catalog",
            statement_timeout_ms=config.db_statement_timeout_ms,
            connect_timeout_s=config.db_connect_timeout_s,
            pool_size=config.db_pool_size,
            pool_timeout_s=config.db_pool_timeout_s,
        )
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="streamrec catalog",
        description="The four catalogue queries and title browsing over PostgreSQL.",
        version="1.0.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_database_error_handler(app)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    app.include_router(router)
    return app


app = create_app()
