"""The two downstream services, each behind one pooled httpx.AsyncClient."""

import logging
from typing import Any

import httpx

from common.observability import REQUEST_ID_HEADER, request_id

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """A downstream service could not answer; the message says which and why."""

    def __init__(self, service: str, reason: str):
        super().__init__(f"{service} unavailable: {reason}")
        self.reason = reason


class Downstream:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        connect_s: float,
        read_s: float,
        max_connections: int,
        service_token: str | None = None,
    ):
        self.name = name
        # The internal services answer only callers with SERVICE_TOKEN; never the user's token.
        headers = {"Authorization": f"Bearer {service_token}"} if service_token else None
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=httpx.Timeout(read_s, connect=connect_s, pool=connect_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a GET that failed to connect is tried once more (it never reached the
        service, so repeating it is safe). Raises Unavailable instead of hanging."""
        attempts = 2 if method == "GET" else 1
        rid = request_id.get()
        if rid:  # the downstream services log the same id
            kwargs["headers"] = {**(kwargs.get("headers") or {}), REQUEST_ID_HEADER: rid}
        for attempt in range(attempts):
            try:
                return await self.client.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                if attempt + 1 == attempts:
                    raise Unavailable(self.name, f"cannot connect ({type(exc).__name__})") from None
            except httpx.TimeoutException:
                raise Unavailable(
                    self.name, f"no answer within {self.client.timeout.read} s"
                ) from None
            except httpx.HTTPError as exc:
                # The message may name the service's address: the log only.
                log.warning("%s failed: %s: %s", self.name, type(exc).__name__, exc)
                raise Unavailable(self.name, type(exc).__name__) from None
        raise AssertionError("unreachable")

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def ready(self) -> str | None:
        """None when the service says it is ready, else why not."""
        try:
            response = await self.get("/health/ready")
        except Unavailable as exc:
            return exc.reason
        if response.status_code == 200:
            return None
        try:
            checks = response.json().get("checks", {})
            failed = ", ".join(k for k, v in checks.items() if v != "ok")
        except (ValueError, AttributeError):
            failed = ""
        return f"not ready ({failed or response.status_code})"

    async def close(self) -> None:
        await self.client.aclose()
