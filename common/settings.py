"""Settings shared by every process that talks to the database."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # None means: start the embedded server under the project's .data folder.
    database_url: str | None = None

    def resolved_database_url(self) -> str:
        from common import embedded

        return self.database_url or embedded.default_url()
