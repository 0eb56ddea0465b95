"""The gateway's FastAPI app: services.gateway.app:app. It holds no data of its own."""

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from common.reports import FACTS, FIGURES, PAGE
from common.web import NotFound, make_app
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

    report = config.report_dir

    async def insights_report():
        """The latest insights report (python -m loader.report), as one HTML page."""
        return report_file(report / PAGE, "text/html")

    app.add_api_route(
        "/report",
        insights_report,
        methods=["GET"],
        tags=["page"],
        response_class=FileResponse,
        responses={
            200: {"content": {"text/html": {}}, "description": "the latest insights report"},
            404: {"description": "no report has been built yet"},
        },
    )
    app.add_api_route("/report", insights_report, methods=["HEAD"], include_in_schema=False)

    @app.api_route(f"/report/{FACTS}", methods=["GET", "HEAD"], include_in_schema=False)
    async def insights_facts():
        return report_file(report / FACTS, "application/json")

    @app.api_route(
        f"/report/{FIGURES}/{{name}}.png", methods=["GET", "HEAD"], include_in_schema=False
    )
    async def insights_figure(name: Annotated[str, PathParam(pattern=r"^[a-z0-9_]{1,64}$")]):
        return report_file(report / FIGURES / f"{name}.png", "image/png")

    return app


def report_file(path: Path, media_type: str) -> FileResponse:
    """A file of the latest report; reports are rebuilt, so caches must ask again."""
    if not path.is_file():
        raise NotFound(
            f"no insights report in {path.parent}: build one with `python -m loader.report`"
        )
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


app = create_app()
