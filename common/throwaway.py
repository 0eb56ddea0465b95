"""Throwaway PostgreSQL databases and servers, for tests and benchmarks."""

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from common.db import sqlalchemy_url
from common.embedded import EmbeddedServer


def conninfo(url: str) -> str:
    """A libpq URL (what psycopg.connect wants) for any accepted DATABASE_URL spelling."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A private embedded server in a temp folder, stopped and deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="streamrec-pg-") as folder:
        server = EmbeddedServer(Path(folder))
        try:
            yield server.url
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
