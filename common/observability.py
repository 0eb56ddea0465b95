"""Request ids, structured JSON logs and Prometheus metrics, the same in every service."""

import contextvars
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Accept a caller's id only if it is short and plain, so it is safe to log and to pass on.
VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to handle an HTTP request",
    ["service", "method", "route"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
log = logging.getLogger("access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being handled."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(service: str, level: str = "INFO") -> dict:
    """logging.dictConfig for uvicorn (applied in every worker): JSON lines on stderr, and no
    uvicorn access lines (the middleware below writes one per request, with its id)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "common.observability.JsonFormatter", "service": service}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


class RequestMiddleware:
    """Request id in and out, a body size limit, an access log line and metrics per request."""

    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int):
        self.app, self.service, self.max_body_bytes = app, service, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if VALID_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        # Also on the request's state: the 500 handler runs outside this middleware.
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        declared = headers.get(b"content-length", b"0")
        received, refused = 0, False

        async def limited_receive() -> Message:
            # Past the limit, answer 413 at once and tell the app the client has gone.
            nonlocal received, refused, status
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                refused, status = True, 413
                await self._too_large(send, rid)
                return {"type": "http.disconnect"}
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if refused:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                status = 413
                await self._too_large(send, rid)
            else:
                await self.app(scope, limited_receive, send_with_id)
        finally:
            self._record(scope, status, started)
            request_id.reset(token)

    async def _too_large(self, send: Send, rid: str) -> None:
        body = json.dumps({"detail": f"request body over {self.max_body_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(self.service, method, route, str(status)).inc()
        LATENCY.labels(self.service, method, route).observe(seconds)
        if not log.isEnabledFor(logging.INFO):  # skip building the line under LOG_LEVEL=WARNING
            return
        log.info(
            "%s %s %s",
            method,
            scope["path"],
            status,
            extra={
                "fields": {
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                }
            },
        )


def _registry() -> CollectorRegistry:
    """Across uvicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return DEFAULT_REGISTRY


def metrics(_: Request) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def serve_metrics(host: str, port: int) -> None:
    """Prometheus text format on a listener of its own (a thread of this process)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=_registry())
