"""Real faults under the catalog: the database stops and comes back, or hangs on a lock."""

import threading
import time

import psycopg

from common.throwaway import conninfo
from tests.conftest import catalog_client
from tests.loading import load


def test_the_catalog_recovers_by_itself_when_postgres_comes_back(own_server, demo_data):
    load(own_server.url, demo_data / "titles", demo_data / "ratings")
    with catalog_client(own_server.url) as client:
        assert client.get("/get_count_platform", params={"platform": "hulu"}).status_code == 200

        own_server.stop()
        started = time.monotonic()
        down = client.get("/get_count_platform", params={"platform": "hulu"})
        assert down.status_code == 503
        assert time.monotonic() - started < 5
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
        assert client.get("/health/live").status_code == 200

        own_server.start()
        answers = [client.get("/get_count_platform", params={"platform": "hulu"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].json() == {"platform": "hulu", "count": 150}
        assert client.get("/health/ready").status_code == 200


def test_a_query_stuck_behind_a_lock_is_a_503_within_the_statement_timeout(demo_db):
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(conninfo(demo_db)) as conn:
            conn.execute("LOCK TABLE titles IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(5)
        with catalog_client(demo_db, db_statement_timeout_ms=500) as client:
            started = time.monotonic()
            response = client.get("/get_max_duration")
            elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert "timed out" in response.json()["detail"]
        assert elapsed < 3
    finally:
        release.set()
        holder.join()
