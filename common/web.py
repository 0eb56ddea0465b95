"""FastAPI plumbing shared by the services: error bodies, health responses."""

import enum
import json
import logging
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, NoReturn

import annotated_types
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter

from common.platforms import TITLE_ID_PATTERN

log = logging.getLogger(__name__)


NO_NUL = r"^[^\x00]*$"
FRIENDLY_PATTERNS = {
    NO_NUL: "text without NUL characters",
    TITLE_ID_PATTERN: "a title id: a, d, h or n, then s and a number, e.g. ns12",
}
# Error types whose fix is in what the parameter accepts (not, say, in its length).
HINTED = {
    "enum",
    "missing",
    "int_parsing",
    "float_parsing",
    "bool_parsing",
    "greater_than_equal",
    "less_than_equal",
    "finite_number",
    "multiple_of",
    "string_pattern_mismatch",
}


@cache
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def respond(kind: Any, data: Any, status_code: int = 200) -> Response:
    """Validate `data` as `kind` and serialise it with pydantic-core directly: several times
    cheaper per request than FastAPI's generic response_model path (which stays for the docs).
    """
    adapter = _adapter(kind)
    body = adapter.dump_json(adapter.validate_python(data))
    return Response(body, status_code=status_code, media_type="application/json")


class NotFound(Exception):
    """Nothing matches (a 404); the message says why."""


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


class ErrorBody(BaseModel):
    detail: str


def health_response(checks: dict[str, str | None]) -> JSONResponse:
    """200 when every check passed (None), else 503. In public each dependency is only "ok" or
    "unavailable"; why goes to the log, with the request id."""
    failed = {name: reason for name, reason in checks.items() if reason is not None}
    for name, reason in failed.items():
        log.warning("not ready: %s: %s", name, reason)
    body = Health(
        status="unavailable" if failed else "ok",
        checks={name: "unavailable" if name in failed else "ok" for name in checks},
    )
    return JSONResponse(body.model_dump(), status_code=503 if failed else 200)


def _allowed(request: Request, location: str, name: str) -> str | None:
    """What the failing parameter accepts, read from the route's own declaration."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return None
    params = {
        "query": dependant.query_params,
        "path": dependant.path_params,
        "header": dependant.header_params,
        "body": dependant.body_params,
    }.get(location, [])
    for param in params:
        if param.alias == name:
            return _accepts(param.field_info)
        # A pydantic model of query parameters, or a body model: look at its fields.
        fields = getattr(param.field_info.annotation, "model_fields", {})
        if name in fields:
            return _accepts(fields[name])
    return None


def _accepts(field: Any) -> str | None:
    annotation = field.annotation
    for candidate in getattr(annotation, "__args__", (annotation,)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return "one of " + ", ".join(str(m.value) for m in candidate)
    metadata = field.metadata
    low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    step = next(
        (m.multiple_of for m in metadata if isinstance(m, annotated_types.MultipleOf)), None
    )
    if low is not None and high is not None:
        return f"from {low} to {high}" + (f" in steps of {step}" if step else "")
    if low is not None:
        return f"{low} or more"
    pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
    if pattern in FRIENDLY_PATTERNS:
        return FRIENDLY_PATTERNS[pattern]
    if pattern:
        return f"a value matching {pattern}"
    return None


def _describe(request: Request, error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    hinted = error.get("type") in HINTED
    if len(loc) >= 2 and loc[0] in ("query", "path", "header"):
        where = f"{loc[0]} parameter '{loc[1]}'"
        allowed = _allowed(request, loc[0], loc[1]) if hinted else None
    elif len(loc) >= 2 and loc[0] == "body":
        where = f"body field '{'.'.join(loc[1:])}'"
        allowed = _allowed(request, "body", loc[1]) if hinted else None
    else:
        where, allowed = ".".join(loc) or "request", None
    message = f"{where}: {error.get('msg', 'invalid')}"
    return f"{message} (allowed: {allowed})" if allowed else message


# A 422 names the field and what it accepts; echoing a huge input back only amplifies it.
ECHO_MAX_CHARS = 100
MAX_ERRORS = 20


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 body, plus a `message` a person can read: the field and what it accepts.
    Echoed inputs are cut to ECHO_MAX_CHARS and at most MAX_ERRORS errors are listed."""
    errors = exc.errors()
    shown = errors[:MAX_ERRORS]
    body = {
        "detail": [
            {k: _clip(v) if k == "input" else v for k, v in e.items() if k in KEPT} for e in shown
        ],
        "message": "; ".join(_describe(request, e) for e in shown)
        + (f"; and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""),
    }
    return JSONResponse(_json_safe(body), status_code=422)


KEPT = ("type", "loc", "msg", "input")


def _clip(value: Any) -> Any:
    """The input as given when it is short; otherwise its start, and how long it was."""
    text = value if isinstance(value, str) else json.dumps(_json_safe(value), default=str)
    if len(text) <= ECHO_MAX_CHARS:
        return value
    return f"{text[:ECHO_MAX_CHARS]}... ({len(text)} characters, cut)"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Never a stack trace in a response: it goes to the log, with the request id."""
    from common.observability import REQUEST_ID_HEADER

    rid = getattr(request.state, "request_id", None)
    log.error("unhandled error on %s (request %s)", request.url.path, rid, exc_info=exc)
    headers = {REQUEST_ID_HEADER: rid} if rid else None
    return JSONResponse({"detail": "internal error", "request_id": rid}, 500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)


def make_app(
    *,
    service: str,
    title: str,
    description: str,
    settings: Any,
    lifespan: Any = None,
    database: bool = False,
    public: bool = False,
) -> FastAPI:
    """A FastAPI app with what every service has: strict errors, request ids, JSON access
    logs, a body size limit, security headers, trusted Host headers, CORS only when configured,
    and the API docs served offline (unless DOCS_ENABLED=false). An internal service (not
    `public`) also serves /metrics and, when SERVICE_TOKEN is set, answers only callers that
    present it; the public gateway serves its metrics on METRICS_PORT only. With `database`, an
    engine in app.state.engine for the app's lifetime, and a database that is down or slow
    answers 503 with the reason."""
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from common.edge import SecurityHeaders, ServiceToken, install_docs
    from common.observability import REQUEST_ID_HEADER, RequestMiddleware, metrics

    if database:
        lifespan = _with_engine(lifespan, settings, service)
    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    # A redirect to the slash-less path would be built from the Host header.
    app.router.redirect_slashes = False
    install_error_handlers(app)
    if database:
        install_database_error_handler(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
        )
    if not public and settings.service_token is not None:
        app.add_middleware(ServiceToken, token=settings.service_token.get_secret_value())
    if settings.allowed_hosts != ["*"]:
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts, www_redirect=False
        )
    app.add_middleware(RequestMiddleware, service=service, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if not public:
        app.add_route("/metrics", metrics, include_in_schema=False)
    if settings.docs_enabled:
        install_docs(app, title)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.get("/health/live", response_model=Health, tags=["health"])
    async def live() -> Health:
        """200 while the process runs."""
        return Health(status="ok")

    return app


def _with_engine(lifespan: Any, settings: Any, service: str) -> Any:
    """`lifespan` (if any) run inside the lifetime of the service's database engine."""

    @asynccontextmanager
    async def with_engine(app: FastAPI):
        # No connection is made here: the service starts even while the database is down.
        app.state.engine = settings.engine(service)
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            app.state.engine.dispose()

    return with_engine


def install_database_error_handler(app: FastAPI) -> None:
    """A database that is down, slow or not loaded yet answers 503 with the reason, not 500."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from common.db import driver_line, unavailable_reason

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        reason = unavailable_reason(exc)
        if reason is None:
            log.exception("unexpected database error on %s", request.url.path)
            return JSONResponse({"detail": "internal error"}, status_code=500)
        # The driver's own words name hosts, ports and databases: the log only.
        log.warning(
            "database unavailable on %s: %s (%s)", request.url.path, reason, driver_line(exc)
        )
        return JSONResponse({"detail": f"database unavailable: {reason}"}, status_code=503)

    app.add_exception_handler(DBAPIError, handler)
    app.add_exception_handler(PoolTimeout, handler)


def invalid(location: str, name: str, value: Any, message: str) -> NoReturn:
    """Reject a request the way FastAPI's own validation does (422, same body)."""
    raise RequestValidationError(
        [{"type": "value_error", "loc": (location, name), "msg": message, "input": value}]
    )
