"""Least privilege: the catalog's role can only read; the recommender's can read and add ratings."""

import psycopg
import pytest
from fastapi.testclient import TestClient

from common.throwaway import conninfo
from loader.roles import ROLES, role_url
from services.catalog.app import create_app
from services.catalog.settings import Settings

WRITES = [
    "INSERT INTO titles (id, platform, show_id, type, title, release_year, rating, work_id)"
    " VALUES ('ns99999', 'netflix', 's99999', 'movie', 'x', 2020, 'g', 'ns99999')",
    "UPDATE titles SET title = 'hacked' WHERE id = 'ns1'",
    "DELETE FROM title_cast",
    "INSERT INTO ratings (source, user_id, title_id, rating) VALUES ('api', 1, 'ns1', 4)",
    "UPDATE ratings SET rating = 1",
    "DELETE FROM ratings",
    "TRUNCATE titles CASCADE",
    "DROP TABLE title_genres",
    "CREATE TABLE evil (x int)",
    "REFRESH MATERIALIZED VIEW actor_counts",
    "ALTER TABLE titles ADD COLUMN evil int",
]


def run_as(url: str, service: str, statement: str) -> None:
    with psycopg.connect(conninfo(role_url(url, service)), autocommit=True) as conn:
        conn.execute(statement)


@pytest.mark.parametrize("statement", WRITES)
def test_the_catalogs_role_cannot_write(demo_db, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_as(demo_db, "catalog", statement)


@pytest.mark.parametrize(
    "statement", [w for w in WRITES if not w.startswith("INSERT INTO ratings")]
)
def test_the_recommenders_role_can_only_add_ratings(demo_db, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        run_as(demo_db, "recommender", statement)


def test_the_recommenders_role_adds_api_ratings_and_reads(demo_db):
    with psycopg.connect(conninfo(role_url(demo_db, "recommender")), autocommit=True) as conn:
        seq = conn.execute(
            "INSERT INTO ratings (source, user_id, title_id, rating, rated_at)"
            " VALUES ('api', 4242, 'ns1', 4.5, now()) RETURNING seq"
        ).fetchone()[0]
        assert seq > 0
        assert conn.execute("SELECT count(*) FROM titles").fetchone()[0] == 600
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM load_issues")


def test_the_catalog_service_works_as_its_role(demo_db):
    with TestClient(create_app(Settings(database_url=role_url(demo_db, "catalog")))) as client:
        assert client.get("/get_count_platform", params={"platform": "hulu"}).json()["count"] == 150
        assert client.get("/dataset").json()["titles"] == 600
        assert client.get("/health/ready").status_code == 200
        # Search reads too: the search function, pg_trgm's operator and its setting.
        title = client.get("/titles/ns1").json()["title"]
        typo = title.replace("synthetic", "sinthetic")
        assert "ns1" in {i["id"] for i in client.get("/titles", params={"q": typo}).json()["items"]}
        suggested = client.get("/titles/suggest", params={"q": title}).json()["items"]
        assert suggested[0]["id"] == "ns1"


def test_role_passwords_are_set_from_the_environment(demo_db, monkeypatch):
    from loader.roles import main

    monkeypatch.setenv("CATALOG_DB_PASSWORD", "catalog-secret")
    monkeypatch.delenv("RECOMMENDER_DB_PASSWORD", raising=False)
    assert main(["--database-url", demo_db]) == 0
    with psycopg.connect(conninfo(demo_db)) as conn:
        has_password = conn.execute(
            "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = ANY(%s)",
            (list(ROLES.values()),),
        ).fetchall()
    assert dict(has_password)["streamrec_catalog"] is True


def test_the_catalog_reads_from_catalog_database_url_when_set(demo_db, monkeypatch):
    # A read replica stands in as a second URL: the primary's (DATABASE_URL) answers nothing.
    monkeypatch.setenv("DATABASE_URL", "postgresql://streamrec_catalog@127.0.0.1:9/streamrec")
    monkeypatch.delenv("CATALOG_DATABASE_URL", raising=False)
    with TestClient(create_app(Settings())) as client:
        assert client.get("/health/ready").status_code == 503
    monkeypatch.setenv("CATALOG_DATABASE_URL", role_url(demo_db, "catalog"))
    with TestClient(create_app(Settings())) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/dataset").json()["titles"] == 600


def test_the_trainer_works_as_the_recommenders_role(demo_copy, tmp_path):
    from services.recommender.model import load
    from services.recommender.settings import Settings as RecommenderSettings
    from services.recommender.train import train
    from tests.conftest import small_params

    url = demo_copy()
    settings = RecommenderSettings(database_url=role_url(url, "recommender"), model_dir=tmp_path)
    train(settings, params=small_params())
    model = load(tmp_path)
    assert len(model.item_ids) == 600 and model.content.nnz > 0
