"""Settings shared by the services: read from environment variables only."""

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Every password and token in .env.example starts so; a process given one refuses to start.
PLACEHOLDER_PREFIX = "change-me"
# A shared secret shorter than this is guessable (and PyJWT warns about HMAC keys under 32 bytes).
MIN_SECRET_LENGTH = 32


def is_placeholder(value: str | None) -> bool:
    return bool(value) and value.strip().lower().startswith(PLACEHOLDER_PREFIX)


def refuse_placeholder(name: str, value: str | None) -> None:
    if is_placeholder(value):
        raise ValueError(
            f"{name} is a placeholder from an example file (.env.example, secrets.example.env):"
            " set a real secret"
        )


def secret_setting(name: str, value: object, *, short: str) -> SecretStr | None:
    """An empty secret is unset; a placeholder is refused; a short one is refused (`short` =
    "refuse") or counts as unset ("unset"), whichever is the safe side for that secret."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value)
    refuse_placeholder(name, text)
    if len(text) < MIN_SECRET_LENGTH:
        if short == "unset":
            return None
        raise ValueError(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
    return SecretStr(text)


def _split(value: object) -> object:
    """A comma-separated list."""
    return [o.strip() for o in value.split(",") if o.strip()] if isinstance(value, str) else value


class EdgeSettings(BaseSettings):
    """How much a client may send and hold: read by the HTTP protocol in every worker."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # The request line and headers together; a larger request gets 431 as soon as it is seen.
    header_max_bytes: int = Field(16 * 1024, ge=1024)
    header_max_count: int = Field(100, ge=10)
    # From the first byte of a request (or the connection) to the end of its headers.
    header_timeout_s: float = Field(10.0, gt=0)
    # Open connections per worker; past it uvicorn answers 503.
    limit_concurrency: int = Field(1000, ge=1)
    # An idle keep-alive connection is closed after this.
    timeout_keep_alive_s: int = Field(5, ge=1)


class ServiceSettings(EdgeSettings):
    """What every HTTP service reads."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    # Browsers may call the API from these origins; none (no CORS headers) by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Larger request bodies are refused with 413 before they are read.
    max_body_bytes: int = 64 * 1024
    # Host headers the service answers to (TrustedHostMiddleware); "*" accepts any.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    # Swagger UI at /docs and the schema at /openapi.json; assets served locally, no CDN.
    docs_enabled: bool = True
    # Prometheus metrics on their own listener (METRICS_HOST:METRICS_PORT); unset, none.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # uvicorn trusts X-Forwarded-For only from these proxy addresses.
    forwarded_allow_ips: str = "127.0.0.1"
    # The catalog and the recommender require it as a bearer token; the gateway sends it.
    service_token: SecretStr | None = None

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _split(value)

    @field_validator("service_token", mode="before")
    @classmethod
    def _service_token(cls, value: object) -> SecretStr | None:
        return secret_setting("SERVICE_TOKEN", value, short="refuse")


class DatabaseSettings(BaseSettings):
    """What every process that talks to PostgreSQL reads."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # None means: start the embedded server under the project's .data folder.
    database_url: str | None = None
    # A down or slow database must turn into an error within seconds, never a hang.
    db_connect_timeout_s: int = 2
    db_statement_timeout_ms: int = 2000
    db_pool_size: int = 5
    db_pool_timeout_s: float = 2.0

    @field_validator("database_url")
    @classmethod
    def _real_password(cls, value: str | None) -> str | None:
        if value:
            from common.db import sqlalchemy_url

            refuse_placeholder("the password in DATABASE_URL", sqlalchemy_url(value).password)
        return value

    def resolved_database_url(self) -> str:
        from common import embedded

        return self.database_url or embedded.default_url()

    def engine(self, application_name: str):
        """An engine with this process's timeouts and pool size."""
        from common.db import create_engine

        return create_engine(
            self.resolved_database_url(),
            application_name=application_name,
            statement_timeout_ms=self.db_statement_timeout_ms,
            connect_timeout_s=self.db_connect_timeout_s,
            pool_size=self.db_pool_size,
            pool_timeout_s=self.db_pool_timeout_s,
        )
