"""The HTTP edge of every service: limits on what a client may send and how long it may take,
security headers, the service token between services, and the API docs served offline."""

import hmac
import json
import logging
from functools import cache
from importlib.resources import files
from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from common.settings import EdgeSettings

log = logging.getLogger(__name__)


@cache
def edge_settings() -> EdgeSettings:
    return EdgeSettings()


# After a refusal, at most this much more is read (and dropped), for at most this long.
LINGER_BYTES = 2 * 1024 * 1024
LINGER_S = 1.0


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with what it lacks: a limit on the size and number of
    request headers (431), and a deadline for them to arrive (408). uvicorn's own settings
    cover the rest (limit_concurrency, timeout_keep_alive). Without these, one 100 MB header
    held a worker's CPU for seconds and a slow client could hold a connection for ever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = edge_settings()
        self.header_max_bytes = limits.header_max_bytes
        self.header_max_count = limits.header_max_count
        self.header_timeout_s = limits.header_timeout_s
        self.in_headers = True  # until a request's headers are complete
        self.header_bytes = 0
        self.header_count = 0
        self.refused = False
        self.linger_left = 0
        self.header_deadline: Any = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a client that connects and sends nothing is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            # Lingering: what the client still sends is read and dropped, up to a point.
            self.linger_left -= len(data)
            if self.linger_left < 0:
                self.transport.close()
            return
        if self.in_headers:
            # Counted before parsing: httptools would copy a growing header over and over. Only
            # what fits under the limit is parsed; the rest only if the headers ended in it
            # (the rest of a chunk can be the body).
            room = self.header_max_bytes - self.header_bytes
            if len(data) > room:
                head, data = data[:room], data[room:]
                self.header_bytes += len(head)
                if head:
                    super().data_received(head)
                if self.refused or self.transport.is_closing():
                    return
                if self.in_headers:
                    self._refuse(431, f"request headers over {self.header_max_bytes} bytes")
                    return
            else:
                self.header_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_headers, self.header_count = True, 0
        if self.header_deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        if not self.refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.refused:
            return
        self.header_count += 1
        if self.header_count > self.header_max_count:
            self._refuse(431, f"more than {self.header_max_count} request headers")
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self._disarm()
        self.in_headers, self.header_bytes = False, 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self.refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # What comes next on this connection is the next request's headers: count from now.
        self.in_headers, self.header_bytes = True, 0

    def _arm(self) -> None:
        self._disarm()
        self.header_deadline = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _too_slow(self) -> None:
        self.header_deadline = None
        if self.in_headers and not self.transport.is_closing():
            if self.header_bytes == 0 and self.cycle is None:
                self.transport.close()  # it never sent a byte: nothing to answer
                return
            self._refuse(408, f"request headers not received within {self.header_timeout_s:g} s")

    def _refuse(self, status: int, reason: str) -> None:
        """Answer at once and close: the rest of the request is never read."""
        self.refused = True
        self._disarm()
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        log.warning("refused a request from %s: %s", client, reason)
        REFUSED.labels(str(status)).inc()
        body = json.dumps({"detail": reason}).encode()
        phrase = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, phrase, len(body), body)
        )
        # Closing with the client's bytes unread would send a reset, which can destroy the
        # answer before the client reads it: half-close, drop what still comes for a moment.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.linger_left = LINGER_BYTES
        self.loop.call_later(LINGER_S, self.transport.close)


REFUSED = Counter(
    "http_edge_refused_total",
    "Requests refused by the HTTP protocol before they reached the app",
    ["status"],
)


# -- security headers ---------------------------------------------------------------------------

# Only the service's own scripts, styles and images; never inside a frame; no referrer.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """The headers every response carries; a route that needs a looser CSP sets its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the service token ---------------------------------------------------------------------------


class ServiceToken:
    """The internal services answer only callers that present SERVICE_TOKEN as a bearer token
    (the gateway does). Probes keep /health/*; /admin/* has its own token (ADMIN_TOKEN)."""

    OPEN = ("/health/", "/admin/")

    def __init__(self, app: ASGIApp, *, token: str):
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.OPEN):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        body = b'{"detail":"this service answers only the gateway (SERVICE_TOKEN)"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="streamrec-internal"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# -- the API docs, offline ---------------------------------------------------------------------

DOCS_ASSETS = "/docs-assets"
# Swagger UI sets inline styles; its page runs no inline script (the initializer is a file).
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API docs</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/init.js"></script>
</body>
</html>
"""
DOCS_INIT = """"use strict";
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install_docs(app: Any, title: str) -> None:
    """Swagger UI at /docs from the fastapi-offline package's copy of its assets: the page
    works without internet and loads nothing from a CDN."""
    from fastapi.responses import HTMLResponse, Response
    from fastapi.staticfiles import StaticFiles

    page = DOCS_PAGE.format(title=title, assets=DOCS_ASSETS, openapi=app.openapi_url)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    # A route before the mount (routes match in order): the mount's folder is the package's.
    @app.get(f"{DOCS_ASSETS}/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript")

    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
