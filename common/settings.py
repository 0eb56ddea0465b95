"""Settings shared by the services: read from environment variables only."""

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every HTTP service reads."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    # Browsers may call the API from these origins; none (no CORS headers) by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Larger request bodies are refused with 413 before they are read.
    max_body_bytes: int = 64 * 1024

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        """CORS_ORIGINS is a comma-separated list."""
        return (
            [o.strip() for o in value.split(",") if o.strip()] if isinstance(value, str) else value
        )


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
