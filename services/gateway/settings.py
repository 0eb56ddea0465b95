"""Gateway settings, from environment variables only."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from common.embedded import data_home
from common.settings import ServiceSettings, secret_setting

LOOPBACK_NAMES = {"localhost"}


class Settings(ServiceSettings):
    port: int = 8000
    # Two workers: the gateway is the CPU-bound hop (two HTTP calls per recommendation); with
    # one worker each for the others this sustained the most (docs/reliability.md).
    workers: int = 2
    # The public service: only these Host headers (add the public name in production).
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1"]
    )
    catalog_url: str = "http://127.0.0.1:8001"
    recommender_url: str = "http://127.0.0.1:8002"
    # A downstream service that is down or stuck costs a caller at most about 2 s.
    connect_timeout_s: float = 0.5
    read_timeout_s: float = 1.5
    max_connections: int = 100
    # Where `python -m loader.report` writes; served at /report when a report is there.
    report_dir: Path = Field(default_factory=lambda: data_home() / "report")

    # -- who the caller is (docs/security.md): one of the three keys, or none -------------------
    # HS256: the shared secret that signs the tokens.
    auth_secret: SecretStr | None = None
    # RS256 / ES256: the issuer's public key (PEM), or a JWKS file of public keys.
    auth_public_key_file: Path | None = None
    auth_jwks_file: Path | None = None
    # The `aud` claim every token must carry.
    auth_audience: str = "streamrec"
    # `make run` only: the page may ask the gateway for a token for any user id. Allowed only
    # with AUTH_SECRET and a loopback HOST, so that it cannot be switched on in a deployment.
    auth_demo_sign_in: bool = False

    # -- how much (docs/security.md): "N/second", "N/minute"...; several with ";"; "" = none ---
    rate_limit_enabled: bool = True
    # memory:// counts in each process; redis://host:6379/0 across workers and replicas.
    rate_limit_storage: str = "memory://"
    rate_limit_write_per_user: str = "30/minute;300/day"
    rate_limit_write_per_address: str = "60/minute"
    rate_limit_read_per_user: str = "120/minute"
    rate_limit_read_per_address: str = "600/minute"

    @field_validator("auth_secret", mode="before")
    @classmethod
    def _auth_secret(cls, value: object) -> SecretStr | None:
        return secret_setting("AUTH_SECRET", value, short="refuse")

    @model_validator(mode="after")
    def _one_key_and_a_local_demo(self) -> "Settings":
        keys = [self.auth_secret, self.auth_public_key_file, self.auth_jwks_file]
        if sum(key is not None for key in keys) > 1:
            raise ValueError("set only one of AUTH_SECRET, AUTH_PUBLIC_KEY_FILE and AUTH_JWKS_FILE")
        if self.auth_demo_sign_in:
            if self.auth_secret is None:
                raise ValueError("AUTH_DEMO_SIGN_IN needs AUTH_SECRET (the launcher sets both)")
            if not is_loopback(self.host):
                raise ValueError(
                    f"AUTH_DEMO_SIGN_IN lets anyone sign in as anyone: refused with HOST="
                    f"{self.host} (only a loopback address such as 127.0.0.1)"
                )
        return self


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
