"""Recommender settings, from environment variables only."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from common.embedded import data_home
from common.settings import DatabaseSettings, ServiceSettings, secret_setting


class Settings(ServiceSettings, DatabaseSettings):
    port: int = 8002
    model_dir: Path = Field(default_factory=lambda: data_home() / "models")
    recommend_threshold: float = Field(3.5, ge=0.5, le=5.0)
    # How often to look for a new `current` model.
    model_poll_s: float = 2.0
    # Titles one user may rate through the API in 24 hours (rating one again does not count).
    api_ratings_per_day: int = Field(500, ge=1)
    # Admin actions (POST /admin/reload) need this as a bearer token; unset, they are disabled.
    # Empty or shorter than 32 characters counts as unset: an empty token would match an
    # empty bearer token.
    admin_token: SecretStr | None = None

    @field_validator("admin_token", mode="before")
    @classmethod
    def _admin_token(cls, value: object) -> SecretStr | None:
        return secret_setting("ADMIN_TOKEN", value, short="unset")


@lru_cache
def get_settings() -> Settings:
    return Settings()
