"""What the gateway adds: title cards fetched in one batch call, and graceful degradation."""

import json
import logging
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from services.gateway.downstream import Downstream, Unavailable

log = logging.getLogger(__name__)


class DownstreamError(Exception):
    """A downstream answer to hand back to the caller as it is (4xx) or as a 503 (5xx)."""

    def __init__(self, response: Response):
        self.response = response


def relay(service: str, response: httpx.Response) -> Response:
    """4xx reach the caller unchanged; a downstream 5xx becomes a 503 that names the service."""
    status, content = response.status_code, response.content
    if status < 500:
        media_type = response.headers.get("content-type") or "application/json"
        return Response(content, status_code=status, media_type=media_type)
    try:
        detail = json.loads(content)["detail"]
    except (ValueError, KeyError, TypeError):
        detail = content.decode("utf-8", "replace")[:500]
    return JSONResponse({"detail": f"{service} unavailable ({status}): {detail}"}, status_code=503)


async def _same_request(
    request: Request, downstream: Downstream, body: bytes | None = None
) -> httpx.Response:
    """The caller's request, with its path and query, sent on to a downstream service."""
    return await downstream.request(
        request.method,
        request.url.path,
        params=list(request.query_params.multi_items()),
        content=body,
        headers={"content-type": "application/json"} if body is not None else None,
    )


async def forward(
    request: Request, downstream: Downstream, *, body: bytes | None = None
) -> Response:
    """The same request, to the same path, on a downstream service."""
    return relay(downstream.name, await _same_request(request, downstream, body))


async def fetch_json(request: Request, downstream: Downstream) -> dict[str, Any]:
    """The downstream's JSON answer to the same GET; anything but a 200 is handed back."""
    response = await _same_request(request, downstream)
    if response.status_code != 200:
        raise DownstreamError(relay(downstream.name, response))
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
    """A recommendation or similar-titles answer with a card on every title it names (the
    items, and the titles behind each pick), all fetched in one catalog call."""
    named = [item["title_id"] for item in answer["items"]]
    named += [b for item in answer["items"] for b in item.get("because", ())]
    cards, degraded = await title_cards(catalog, list(dict.fromkeys(named)))

    def carded(item: dict[str, Any]) -> dict[str, Any]:
        entry = {**item, "title": cards.get(item["title_id"])}
        if "because" in item:
            entry["because"] = [{"title_id": b, "title": cards.get(b)} for b in item["because"]]
        return entry

    return {**answer, "items": [carded(item) for item in answer["items"]], "degraded": degraded}
