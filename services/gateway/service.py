"""What the gateway adds: title cards fetched in one batch call, and graceful degradation."""

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from services.gateway.downstream import Downstream, Unavailable

log = logging.getLogger(__name__)


class DownstreamError(Exception):
    """A downstream answer to hand back to the caller as it is (4xx) or as a 503 (5xx)."""

    def __init__(self, response: Response):
        self.response = response


def relay(service: str, status: int, content: bytes, media_type: str | None) -> Response:
    """4xx reach the caller unchanged; a downstream 5xx becomes a 503 that names the service."""
    if status < 500:
        return Response(content, status_code=status, media_type=media_type or "application/json")
    try:
        detail = json.loads(content)["detail"]
    except (ValueError, KeyError, TypeError):
        detail = content.decode("utf-8", "replace")[:500]
    return JSONResponse({"detail": f"{service} unavailable ({status}): {detail}"}, status_code=503)


async def forward(
    request: Request, downstream: Downstream, *, body: bytes | None = None
) -> Response:
    """The same request, to the same path, on a downstream service."""
    response = await downstream.request(
        request.method,
        request.url.path,
        params=list(request.query_params.multi_items()),
        content=body,
        headers={"content-type": "application/json"} if body is not None else None,
    )
    return relay(
        downstream.name,
        response.status_code,
        response.content,
        response.headers.get("content-type"),
    )


async def fetch_json(request: Request, downstream: Downstream) -> dict[str, Any]:
    """The downstream's JSON answer to the same GET; anything but a 200 is handed back."""
    response = await downstream.get(
        request.url.path, params=list(request.query_params.multi_items())
    )
    if response.status_code != 200:
        raise DownstreamError(
            relay(
                downstream.name,
                response.status_code,
                response.content,
                response.headers.get("content-type"),
            )
        )
    return response.json()


def duration_text(value: int | None, unit: str | None) -> str | None:
    if value is None or unit is None:
        return None
    if unit == "min":
        return f"{value} min"
    return f"{value} season" if value == 1 else f"{value} seasons"


def card(title: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": title["title"],
        "platform": title["platform"],
        "type": title["type"],
        "release_year": title["release_year"],
        "duration": duration_text(title["duration_int"], title["duration_type"]),
        "score": title["score"],
    }


async def title_cards(catalog: Downstream, title_ids: list[str]) -> tuple[dict[str, dict], bool]:
    """Cards for many titles in ONE catalog call; ({}, True) when the catalog cannot help."""
    if not title_ids:
        return {}, False
    try:
        response = await catalog.get("/titles", params={"ids": ",".join(title_ids)})
    except Unavailable as exc:
        log.warning("serving without title cards: %s", exc)
        return {}, True
    if response.status_code != 200:
        log.warning("serving without title cards: catalog answered %s", response.status_code)
        return {}, True
    return {item["id"]: card(item) for item in response.json()["items"]}, False


async def with_cards(answer: dict[str, Any], catalog: Downstream) -> dict[str, Any]:
    """A recommendation or similar-titles answer with a card on every item."""
    cards, degraded = await title_cards(catalog, [item["title_id"] for item in answer["items"]])
    items = [{**item, "title": cards.get(item["title_id"])} for item in answer["items"]]
    return {**answer, "items": items, "degraded": degraded}
