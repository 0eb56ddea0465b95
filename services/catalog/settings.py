"""Catalog settings, from environment variables only."""

from functools import lru_cache

from common.settings import DatabaseSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings):
    port: int = 8001
    # The catalog only reads: CATALOG_DATABASE_URL, when set, points it at a read replica (with
    # the read-only role) instead of DATABASE_URL, while the loader and the ratings posted to
    # the recommender write to the primary. Replication lag: docs/kubernetes.md.
    catalog_database_url: str | None = None

    def resolved_database_url(self) -> str:
        return self.catalog_database_url or super().resolved_database_url()


@lru_cache
def get_settings() -> Settings:
    return Settings()
