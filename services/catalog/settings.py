"""Catalog settings, from environment variables only."""

from functools import lru_cache

from common.settings import DatabaseSettings


class Settings(DatabaseSettings):
    host: str = "127.0.0.1"
    port: int = 8001
    workers: int = 1
    # A down or slow database must turn into a 503 within a few seconds, never a hang.
    db_connect_timeout_s: int = 2
    db_statement_timeout_ms: int = 2000
    db_pool_size: int = 5
    db_pool_timeout_s: float = 2.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
