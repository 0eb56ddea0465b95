"""Gateway settings, from environment variables only."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from common.embedded import data_home
from common.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8000
    # Two workers: the gateway is the CPU-bound hop (two HTTP calls per recommendation); with
    # one worker each for the others this sustained the most (docs/reliability.md).
    workers: int = 2
    catalog_url: str = "http://127.0.0.1:8001"
    recommender_url: str = "http://127.0.0.1:8002"
    # A downstream service that is down or stuck costs a caller at most about 2 s.
    connect_timeout_s: float = 0.5
    read_timeout_s: float = 1.5
    max_connections: int = 100
    # Where `python -m loader.report` writes; served at /report when a report is there.
    report_dir: Path = Field(default_factory=lambda: data_home() / "report")


@lru_cache
def get_settings() -> Settings:
    return Settings()
