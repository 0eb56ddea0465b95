"""`python -m launcher` (what `make run` runs) on a fresh home folder: the embedded database,
the demo data, a model, three services; Ctrl-C stops them all; a second run reuses everything."""

import os
import signal
import subprocess
import sys
import time

import httpx
import psycopg
import pytest

from common.files import PROJECT_ROOT
from common.proc import free_port
from common.throwaway import conninfo
from launcher.__main__ import port_is_free
from tests.conftest import outside_pytest_tmp


def launch(home, ports: dict[str, int], **extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR")}
    env.update(
        {"STREAMREC_HOME": str(home), **{f"{k.upper()}_PORT": str(v) for k, v in ports.items()}}
    )
    env.update(extra)
    return subprocess.Popen(
        [sys.executable, "-m", "launcher"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_until(process: subprocess.Popen, marker: str, timeout: float = 180) -> str:
    output, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if marker in line:
            return "".join(output)
    process.kill()
    pytest.fail(f"launcher never printed {marker!r}:\n{''.join(output)}")


def stop(process: subprocess.Popen, ports: dict[str, int]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while not all(port_is_free(p) for p in ports.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(port_is_free(p) for p in ports.values()), "a service outlived Ctrl-C"


@pytest.fixture
def home():
    with outside_pytest_tmp() as folder:
        yield folder


def test_one_command_runs_everything_and_a_second_run_reuses_it(home):
    tmp_path = home
    ports = {"gateway": free_port(), "catalog": free_port(), "recommender": free_port()}
    first = launch(tmp_path, ports)
    output = read_until(first, "open http://")
    try:
        assert "SYNTHETIC demo set" in output
        assert "training a model" in output
        base = f"http://127.0.0.1:{ports['gateway']}"
        assert httpx.get(base + "/health/ready").json()["checks"] == {
            "catalog": "ok",
            "recommender": "ok",
        }
        assert httpx.get(base + "/dataset").json()["synthetic"] is True
        assert "<html" in httpx.get(base + "/").text.lower()
        # The insights report is built after training, and the gateway serves it.
        assert "insights report:" in output
        report = httpx.get(base + "/report")
        assert report.status_code == 200 and "text/html" in report.headers["content-type"]
        assert "Synthetic data." in report.text and 'data-figure="signal"' in report.text
        # The page signs in as the user it shows; without a token, 401.
        assert httpx.get(base + "/users/3/recommendations").status_code == 401
        token = httpx.post(base + "/auth/demo", json={"user_id": 3}).json()["token"]
        recs = httpx.get(
            base + "/users/3/recommendations",
            params={"n": 3},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert len(recs["items"]) == 3 and recs["items"][0]["title"]["title"].startswith(
            "synthetic"
        )
        # The services connect as their least-privilege roles.
        with psycopg.connect(f"postgresql://postgres@/postgres?host={tmp_path / 'pg'}") as conn:
            users = dict(
                conn.execute(
                    "SELECT DISTINCT application_name, usename FROM pg_stat_activity"
                    " WHERE application_name IN ('catalog', 'recommender')"
                ).fetchall()
            )
        assert users == {"catalog": "streamrec_catalog", "recommender": "streamrec_recommender"}
        # The token it prints is accepted; the key it signs with stays in the data folder.
        printed = output.split("a token for the API (user 1, 1 h): ", 1)[1].split()[0]
        mine = httpx.get(
            base + "/users/1/recommendations", headers={"Authorization": f"Bearer {printed}"}
        )
        assert mine.status_code == 200
        assert (tmp_path / "auth" / "secret").stat().st_mode & 0o077 == 0
        assert httpx.get(base + "/metrics").status_code == 404
    finally:
        stop(first, ports)
    assert not (tmp_path / "pg" / "postmaster.pid").exists(), "the embedded database is still up"

    second = launch(tmp_path, ports)
    output = read_until(second, "open http://")
    try:
        assert "data unchanged" in output
        assert "training a model" not in output
        assert "building the insights report" not in output, "an unchanged report was rebuilt"
        assert httpx.get(f"http://127.0.0.1:{ports['gateway']}/health/ready").status_code == 200
    finally:
        stop(second, ports)


def test_with_database_url_the_services_still_connect_as_their_roles(home, new_database):
    """DATABASE_URL names the owner (the loader needs it); the services never run as it."""
    ports = {"gateway": free_port(), "catalog": free_port(), "recommender": free_port()}
    url = new_database()
    process = launch(home, ports, DATABASE_URL=url)
    output = read_until(process, "open http://")
    try:
        assert "database: DATABASE_URL" in output
        with psycopg.connect(conninfo(url)) as conn:
            users = dict(
                conn.execute(
                    "SELECT DISTINCT application_name, usename FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND application_name IN ('catalog', 'recommender')"
                ).fetchall()
            )
        assert users == {"catalog": "streamrec_catalog", "recommender": "streamrec_recommender"}
    finally:
        stop(process, ports)
