"""How much a client may ask: limits per client address and per user, with the `limits` library
(sliding-window counters, in memory or in Redis). A refused request gets 429 and Retry-After."""

import logging
import math
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from prometheus_client import Counter

from services.gateway.settings import Settings

log = logging.getLogger(__name__)

REFUSED = Counter("gateway_rate_limited_total", "Requests refused with 429", ["kind", "per"])
ERRORS = Counter(
    "gateway_rate_limit_errors_total", "Rate-limit checks that failed (the request was let through)"
)
KINDS = ("write", "read")


@dataclass(frozen=True)
class Rule:
    kind: str  # write or read
    per: str  # address or user
    items: tuple[RateLimitItem, ...]


class RateLimiter:
    """One storage for every rule; a check that cannot reach the storage lets the request through
    (and is logged and counted): the recommender's own per-user caps still hold."""

    def __init__(self, settings: Settings):
        self.enabled = settings.rate_limit_enabled
        uri = settings.rate_limit_storage
        options = {"implementation": "redispy"} if uri.startswith(("redis", "rediss")) else {}
        self.storage = storage_from_string(f"async+{uri}", **options)
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)
        self.rules = {
            (kind, per): Rule(kind, per, tuple(parse_many(text)) if text.strip() else ())
            for kind in KINDS
            for per, text in (
                ("user", getattr(settings, f"rate_limit_{kind}_per_user")),
                ("address", getattr(settings, f"rate_limit_{kind}_per_address")),
            )
        }

    async def check(self, kind: str, per: str, key: str) -> None:
        """429 when `key` (an address or a user id) is over one of the rule's limits."""
        rule = self.rules[(kind, per)]
        if not self.enabled or not rule.items:
            return
        try:
            for item in rule.items:
                if not await self.limiter.hit(item, kind, per, key):
                    reset, _ = await self.limiter.get_window_stats(item, kind, per, key)
                    retry = max(1, math.ceil(reset - time.time()))
                    REFUSED.labels(kind, per).inc()
                    raise HTTPException(
                        429,
                        f"too many {kind}s for this {per}: at most {item} (retry in {retry} s)",
                        {"Retry-After": str(retry)},
                    )
        except HTTPException:
            raise
        except Exception as exc:  # the storage (Redis) is down or slow
            ERRORS.inc()
            log.warning("rate limit not checked (%s): %s", type(exc).__name__, exc)

    async def address(self, request: Request, kind: str) -> None:
        await self.check(kind, "address", client_address(request))

    async def user(self, kind: str, user_id: int) -> None:
        await self.check(kind, "user", str(user_id))


def client_address(request: Request) -> str:
    """The client's address; uvicorn puts X-Forwarded-For's there only for FORWARDED_ALLOW_IPS."""
    return request.client.host if request.client else "unknown"


async def read_address(request: Request) -> None:
    """Dependency of the anonymous expensive reads: the per-address limit."""
    await request.app.state.limiter.address(request, "read")


async def write_address(request: Request) -> None:
    """Dependency of the anonymous writes (the demo sign-in): the per-address limit."""
    await request.app.state.limiter.address(request, "write")
