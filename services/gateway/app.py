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
from services.gateway.api import DEMO_ROUTE, router
from services.gateway.auth import Verifier
from services.gateway.downstream import Downstream, Unavailable
from services.gateway.ratelimit import RateLimiter
from services.gateway.service import DownstreamError
from services.gateway.settings import Settings, get_settings

STATIC = Path(__file__).with_name("static")
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        token = config.service_token.get_secret_value() if config.service_token else None
        timeouts = {
            "connect_s": config.connect_timeout_s,
            "read_s": config.read_timeout_s,
            "max_connections": config.max_connections,
            "service_token": token,
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
        public=True,
    )
    # Built here, not in the lifespan: a key that cannot be read stops the gateway at once.
    app.state.settings = config
    app.state.verifier = Verifier(config)
    app.state.limiter = RateLimiter(config)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(DownstreamError)
    async def downstream_error(request: Request, exc: DownstreamError):
        return exc.response

    app.include_router(router)
    if config.auth_demo_sign_in:
        app.add_api_route(**DEMO_ROUTE)
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
        raise NotFound("no insights report has been built yet: run `python -m loader.report`")
    # The report inlines its styles and figures, and runs no script.
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": REPORT_CSP}
    return FileResponse(path, media_type=media_type, headers=headers)


app = create_app()
