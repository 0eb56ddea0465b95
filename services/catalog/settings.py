"""Catalog settings, from environment variables only."""

from functools import lru_cache

from common.settings import DatabaseSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings):
    port: int = 8001


@lru_cache
def get_settings() -> Settings:
    return Settings()
