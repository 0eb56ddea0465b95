"""The bearer tokens the gateway accepts (docs/security.md): signed JWTs whose `sub` is the user
id as a string, `aud` the audience (AUTH_AUDIENCE, default "streamrec"), `exp` required. A
token whose `scope` (space-separated, as in OAuth 2) holds SERVICE_SCOPE belongs to a trusted
back-end and may act for any user. Issuers, load tests and tools rely on this."""

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.recommender import MAX_USER_ID

DEFAULT_AUDIENCE = "streamrec"
SERVICE_SCOPE = "streamrec:service"
ALGORITHMS = ("HS256", "RS256", "ES256")


def claims(
    subject: str, *, ttl_s: int, audience: str = DEFAULT_AUDIENCE, service: bool = False
) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {"sub": subject, "aud": audience, "iat": now, "exp": now + ttl_s}
    if service:
        body["scope"] = SERVICE_SCOPE
    return body


def sign(key: Any, algorithm: str, body: dict[str, Any], *, kid: str | None = None) -> str:
    """A compact JWT: `key` is the HS256 secret, or a private key (PEM text or object)."""
    import jwt

    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


class DemoSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: int = Field(ge=1, le=MAX_USER_ID, examples=[1])


class DemoToken(BaseModel):
    token: str = Field(description="send it as `Authorization: Bearer <token>`")
    user_id: int
    expires_in: int = Field(description="seconds", examples=[3600])
