"""The gateway's FastAPI app: services.gateway.app:app. It holds no data of its own."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from common.web import make_app
from services.gateway.api import router
from services.gateway.downstream import Downstream, Unavailable
from services.gateway.service import DownstreamError
from services.gateway.settings import Settings, get_settings

STATIC = Path(__file__).with_name("static")


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        timeouts = {
            "connect_s": config.connect_timeout_s,
            "read_s": config.read_timeout_s,
            "max_connections": config.max_connections,
        }
        app.state.catalog = Downstream("catalog", config.catalog_url, **timeouts)
        app.state.recommender = Downstream("recommender", config.recommender_url, **timeouts)
        yield
        await app.state.catalog.close()
        await app.state.recommender.close()

    app = make_app(
        service="gateway",
        title="streamrec",
        description=(
            "One public API over the catalog and the recommender: the four catalogue queries, "
            "title browsing, and recommendations with title cards. The web page is at /."
        ),
        settings=config,
        lifespan=lifespan,
    )

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(DownstreamError)
    async def downstream_error(request: Request, exc: DownstreamError):
        return exc.response

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


app = create_app()
