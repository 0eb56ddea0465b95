"""The report job's settings, from environment variables only (its flags override them)."""

from pathlib import Path

from pydantic import Field

from common.embedded import data_home
from common.settings import DatabaseSettings


class Settings(DatabaseSettings):
    # Where the trainer writes the served model; its metrics go into the report.
    model_dir: Path = Field(default_factory=lambda: data_home() / "models")
    # Where the report is written; the gateway serves it from its own REPORT_DIR.
    report_dir: Path = Field(default_factory=lambda: data_home() / "report")
