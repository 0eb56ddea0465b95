"""Public answers name no host, port, database, path or URL: readiness says only ok or
unavailable per dependency, and the details go to the log with the request id; a 422 does not
echo a huge input back; the report shows no database URL or data folder; an empty ADMIN_TOKEN
opens nothing."""

import json
import logging

import pytest

from common.throwaway import conninfo
from tests.conftest import catalog_client, gateway_client, recommender_client


def leaks(text: str, *secrets: str) -> list[str]:
    return [s for s in secrets if s and s in text]


def test_a_missing_database_is_unavailable_without_its_name_or_address(server_url, caplog):
    import psycopg

    with psycopg.connect(conninfo(server_url)) as conn:
        host = conn.info.host
        port = str(conn.info.port)
    missing = server_url.rsplit("/", 1)[0] + "/nosuchdb"
    caplog.set_level(logging.WARNING)
    with catalog_client(missing) as client:
        ready = client.get("/health/ready", headers={"X-Request-ID": "ready-nosuchdb"})
        query = client.get("/get_count_platform", params={"platform": "hulu"})
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert query.status_code == 503
    assert query.json()["detail"] == "database unavailable: cannot reach PostgreSQL"
    for response in (ready, query):
        assert leaks(response.text, "nosuchdb", host, f":{port}", "postgres") == []
    # The operator still learns why, from the log.
    assert "nosuchdb" in caplog.text and "not ready: database" in caplog.text


def test_a_recommender_without_a_model_does_not_name_the_model_folder(demo_db, tmp_path, caplog):
    folder = tmp_path / "secret-model-folder"
    caplog.set_level(logging.WARNING)
    with recommender_client(demo_db, folder) as client:
        ready = client.get("/health/ready")
        recs = client.get("/users/1/recommendations")
    assert ready.status_code == 503 and ready.json()["checks"]["model"] == "unavailable"
    assert recs.status_code == 503 and recs.json() == {"detail": "no model is loaded yet"}
    assert leaks(ready.text + recs.text, "secret-model-folder", str(tmp_path)) == []
    assert "secret-model-folder" in caplog.text


def test_the_gateway_names_neither_downstream_addresses_nor_the_report_folder(tmp_path):
    folder = tmp_path / "secret-report-folder"
    with gateway_client(
        catalog_url="http://127.0.0.1:9",
        recommender_url="http://127.0.0.1:9",
        report_dir=folder,
    ) as client:
        ready = client.get("/health/ready")
        report = client.get("/report")
        catalogue = client.get("/platforms")
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"catalog": "unavailable", "recommender": "unavailable"},
    }
    assert report.status_code == 404
    assert report.json()["detail"].startswith("no insights report has been built yet")
    assert catalogue.status_code == 503
    text = ready.text + report.text + catalogue.text
    assert leaks(text, "secret-report-folder", str(tmp_path), "127.0.0.1", ":9") == []


def test_a_64_kb_body_gets_a_short_422(demo_db, demo_model):
    body = json.dumps({"user_id": "x" * 20_000, "title_id": "y" * 20_000, "pad": "z" * 20_000})
    assert 60_000 < len(body) < 64 * 1024
    with recommender_client(demo_db, demo_model) as client:
        response = client.post(
            "/ratings", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert len(response.content) < 4_000, len(response.content)
    detail = response.json()
    assert "'user_id'" in detail["message"] and "'title_id'" in detail["message"]
    assert all(len(str(e.get("input", ""))) < 200 for e in detail["detail"])


def test_the_report_names_no_database_url_and_no_data_folder(
    demo_db, demo_data, demo_model, tmp_path
):
    from sqlalchemy.engine import make_url

    from common.db import engine_at
    from loader.report.build import build

    with engine_at(demo_db, application_name="tests") as engine:
        built = build(engine, out=tmp_path / "report", model_dir=demo_model)
    url = make_url(demo_db)
    text = built.page.read_text() + (tmp_path / "report" / "facts.json").read_text()
    assert leaks(text, demo_db, url.database, f"{url.host}:{url.port}", str(demo_data)) == []
    assert "from load #" in text


@pytest.mark.parametrize("token", ["", "   ", "short-token"])
def test_an_empty_or_short_admin_token_opens_nothing(demo_db, demo_model, token):
    with recommender_client(demo_db, demo_model, admin_token=token) as client:
        for header in ("Bearer ", "Bearer", f"Bearer {token}"):
            response = client.post("/admin/reload", headers={"Authorization": header})
            assert response.status_code == 403, (token, header)
