"""Who is calling: the bearer token (a JWT checked with PyJWT), and whether it may act for a user.

PyJWT does the cryptography and the claim checks (signature, exp, aud, nbf); this module picks
the key, allows exactly one algorithm family per deployment (never "none"), and turns each
failure into a 401 or 403 that says what is wrong.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from contracts.auth import SERVICE_SCOPE
from contracts.recommender import MAX_USER_ID
from services.gateway.settings import Settings

log = logging.getLogger(__name__)

# Clocks differ a little between the issuer and the gateway.
LEEWAY_S = 30
REFUSED = Counter(
    "gateway_auth_refused_total", "Per-user requests refused for their token", ["reason"]
)
NOT_CONFIGURED = (
    "no AUTH_SECRET, AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_FILE is set, so no token can be checked"
)


class AuthError(Exception):
    """A key file that cannot be used: the gateway does not start."""


@dataclass(frozen=True)
class Caller:
    subject: str
    service: bool  # the token carries SERVICE_SCOPE

    @property
    def user_id(self) -> int | None:
        digits = self.subject.isascii() and self.subject.isdigit()
        return int(self.subject) if digits and 1 <= int(self.subject) <= MAX_USER_ID else None


def refuse(status: int, reason: str, message: str) -> HTTPException:
    REFUSED.labels(reason).inc()
    error = "insufficient_scope" if status == 403 else "invalid_token"
    challenge = 'Bearer realm="streamrec"'
    if reason != "missing":
        description = message.replace('"', "'")
        challenge += f', error="{error}", error_description="{description}"'
    return HTTPException(status, message, {"WWW-Authenticate": challenge})


class Verifier:
    """Checks tokens against the one key source the settings name."""

    def __init__(self, settings: Settings):
        self.audience = settings.auth_audience
        self.keys: dict[str | None, tuple[Any, str]] = {}  # kid -> (key, algorithm)
        if settings.auth_secret is not None:
            self.keys[None] = (settings.auth_secret.get_secret_value(), "HS256")
        elif settings.auth_public_key_file is not None:
            key = _read(settings.auth_public_key_file)
            self.keys[None] = (key, _algorithm_of(key, settings.auth_public_key_file))
        elif settings.auth_jwks_file is not None:
            self.keys = _jwks(settings.auth_jwks_file)
        self.algorithms = sorted({algorithm for _, algorithm in self.keys.values()})
        if not self.keys:
            log.error("per-user routes answer 401: %s", NOT_CONFIGURED)

    def verify(self, token: str) -> Caller:
        if not self.keys:
            log.warning("token refused: %s", NOT_CONFIGURED)
            raise refuse(401, "not_configured", "sign-in is not configured on this server")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise refuse(401, "malformed", "the bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise refuse(
                401,
                "algorithm",
                f"token algorithm {str(algorithm)[:20]!a} is not accepted"
                f" (allowed: {', '.join(self.algorithms)})",
            )
        kid = header.get("kid")
        entry = self.keys.get(kid) or (self.keys.get(None) if len(self.keys) == 1 else None)
        if entry is None or entry[1] != algorithm:
            raise refuse(
                401, "unknown_key", "the token's key id (kid) is not one this server knows"
            )
        key, _ = entry
        try:
            body = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise refuse(401, "expired", "the token has expired") from None
        except jwt.InvalidSignatureError:
            raise refuse(401, "signature", "the token's signature is invalid") from None
        except jwt.InvalidAudienceError:
            raise refuse(
                401, "audience", f"the token is not for this audience ({self.audience!r})"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise refuse(401, "claims", f"the token lacks the {exc.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise refuse(401, "not_yet_valid", "the token is not valid yet (nbf or iat)") from None
        except jwt.InvalidTokenError as exc:
            log.info("token refused: %s", exc)
            raise refuse(401, "invalid", "the token is invalid") from None
        scopes = str(body.get("scope", "")).split()
        return Caller(subject=str(body["sub"]), service=SERVICE_SCOPE in scopes)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read the key file {path}: {exc.strerror}") from None


def _algorithm_of(pem: bytes, path: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise AuthError(f"{path} is not a PEM public key ({exc})") from None
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise AuthError(f"{path}: only RSA (RS256) and P-256 (ES256) public keys are accepted")


def _jwks(path: Path) -> dict[str | None, tuple[Any, str]]:
    try:
        keys = jwt.PyJWKSet.from_json(_read(path).decode()).keys
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthError(f"{path} is not a usable JWKS file ({exc})") from None
    found: dict[str | None, tuple[Any, str]] = {}
    for key in keys:
        algorithm = key.algorithm_name
        if algorithm not in ("RS256", "ES256"):
            raise AuthError(f"{path}: key {key.key_id!r} is {algorithm}; use RS256 or ES256")
        found[key.key_id] = (key.key, algorithm)
    return found


# Declares the scheme in the OpenAPI schema, so that /docs has an Authorize button.
BEARER = HTTPBearer(auto_error=False, description="a JWT: docs/security.md")


async def caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)
) -> Caller:
    """The dependency of every per-user route: 401 unless a valid token came with the request."""
    if credentials is None or not credentials.credentials.strip():
        raise refuse(
            401,
            "missing",
            "this route needs a bearer token for the user (Authorization: Bearer <token>)",
        )
    return request.app.state.verifier.verify(credentials.credentials.strip())


def authorize(who: Caller, user_id: int) -> None:
    """403 unless the token is the user's own, or a trusted back-end's (SERVICE_SCOPE)."""
    if who.service or who.user_id == user_id:
        return
    if who.user_id is None:
        raise refuse(403, "subject", "the token's subject is not a user id")
    raise refuse(403, "wrong_user", f"this token is for user {who.user_id}, not user {user_id}")
