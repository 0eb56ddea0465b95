"""The catalog's contract on the synthetic demo data: browsing, every 4xx and 404, health."""

import time

import pytest

from tests.conftest import catalog_client
from tests.loading import query


@pytest.fixture(scope="module")
def client(demo_db):
    with catalog_client(demo_db) as client:
        yield client


def message(response) -> str:
    body = response.json()
    return body.get("message") or body["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field", "allowed"),
    [
        ("/get_count_platform", {"platform": "hbo"}, "platform", "amazon, disney, hulu, netflix"),
        ("/get_actor", {"platform": "netflix", "year": "twenty"}, "year", "from 1900 to 2100"),
        ("/get_actor", {"platform": "netflix", "year": 1899}, "year", "from 1900 to 2100"),
        ("/get_actor", {"platform": "netflix", "year": 2101}, "year", "from 1900 to 2100"),
        ("/get_actor", {"platform": "netflix", "year": 10**30}, "year", "from 1900 to 2100"),
        (
            "/get_score_count",
            {"platform": "netflix", "year": 2020, "scored": 5.5},
            "scored",
            "from 0 to 5",
        ),
        (
            "/get_score_count",
            {"platform": "netflix", "year": 2020, "scored": -1},
            "scored",
            "from 0 to 5",
        ),
        (
            "/get_score_count",
            {"platform": "netflix", "year": 2020, "scored": "nan"},
            "scored",
            "from 0 to 5",
        ),
        ("/get_max_duration", {"duration_type": "hours"}, "duration_type", "min, season"),
        ("/get_max_duration", {"type": "podcast"}, "type", "movie, tv show"),
        ("/titles", {"limit": 1001}, "limit", "from 1 to 1000"),
        ("/titles", {"offset": -1}, "offset", "from 0 to 100000"),
        ("/titles", {"sort": "price"}, "sort", "score, release_year, title, duration"),
        ("/titles", {"min_score": 9}, "min_score", "from 0 to 5"),
    ],
)
def test_a_bad_parameter_is_a_422_naming_the_field_and_what_it_accepts(
    client, path, params, field, allowed
):
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert f"'{field}'" in message(response)
    assert allowed in message(response)
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_a_missing_parameter_is_a_422(client):
    response = client.get("/get_score_count", params={"platform": "netflix", "year": 2020})
    assert response.status_code == 422
    assert "'scored'" in message(response)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"ids": "as1,zz9"}, "comma-separated ids"),
        ({"ids": ","}, "comma-separated ids"),
        ({"ids": ",".join(f"as{i}" for i in range(1, 1003))}, "1 to 1000"),
        ({"ids": "as1", "q": "x"}, "cannot be combined"),
        ({"year_from": 2010, "year_to": 2000}, "year_from must not be after year_to"),
        ({"q": "a\x00b"}, "'q'"),
        ({"q": "   "}, "more than white space"),
    ],
)
def test_bad_browsing_requests_are_422(client, params, fragment):
    response = client.get("/titles", params=params)
    assert response.status_code == 422
    assert fragment in message(response)


def test_platform_and_type_are_case_insensitive(client):
    lower = client.get("/get_count_platform", params={"platform": "netflix", "type": "tv show"})
    upper = client.get("/get_count_platform", params={"platform": "NetFlix", "type": "TV Show"})
    assert lower.status_code == upper.status_code == 200
    assert lower.json() == upper.json()


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        (
            "/get_actor",
            {"platform": "netflix", "year": 1901},
            "no titles match platform=netflix, year=1901",
        ),
        ("/get_score_count", {"platform": "hulu", "year": 1901, "scored": 3}, "no titles match"),
        ("/get_max_duration", {"year": 1901}, "no title with a duration in min matches year=1901"),
        ("/titles/ns99999", {}, "no title has id 'ns99999'"),
    ],
)
def test_nothing_matches_is_a_404_that_says_why(client, path, params, fragment):
    response = client.get(path, params=params)
    assert response.status_code == 404
    assert fragment in response.json()["detail"]


def test_a_malformed_title_id_is_a_422(client):
    response = client.get("/titles/not-an-id")
    assert response.status_code == 422
    assert "'title_id'" in message(response)


def test_one_title_has_every_field_its_cast_and_genres(client, demo_db):
    body = client.get("/titles/ns1").json()
    row = query(demo_db, "SELECT * FROM titles WHERE id = 'ns1'")[0]._asdict()
    row = {k: v for k, v in row.items() if not k.startswith("search_")}  # for search only
    assert body["title"] == row["title"] and body["title"].startswith("synthetic")
    assert {k: body[k] for k in row if k != "date_added"} == {
        k: v for k, v in row.items() if k != "date_added"
    }
    assert body["date_added"] == row["date_added"].isoformat()
    cast = [
        r.actor
        for r in query(
            demo_db, "SELECT actor FROM title_cast WHERE title_id = 'ns1' ORDER BY position"
        )
    ]
    assert body["cast"] == cast and len(cast) == 3
    assert body["genres"] == row["listed_in"].split(", ")


def test_many_titles_by_id_come_back_in_the_order_asked(client):
    body = client.get("/titles", params={"ids": "ns3,as1,hs99999,ds2,as1"}).json()
    assert [item["id"] for item in body["items"]] == ["ns3", "as1", "ds2"]
    assert body["missing"] == ["hs99999"]
    assert body["total"] == 3


def test_search_filters_combine(client, demo_db):
    body = client.get(
        "/titles",
        params={
            "q": "SYNTHETIC",
            "platform": "hulu",
            "type": "movie",
            "year_from": 2000,
            "year_to": 2010,
            "limit": 1000,
        },
    ).json()
    expected = query(
        demo_db,
        "SELECT count(*) FROM titles WHERE platform = 'hulu' AND type = 'movie'"
        " AND release_year BETWEEN 2000 AND 2010",
    )[0][0]
    assert body["total"] == expected == len(body["items"]) > 0
    assert all(i["platform"] == "hulu" and 2000 <= i["release_year"] <= 2010 for i in body["items"])


def test_search_takes_several_platforms_a_viewers_subscriptions(client, demo_db):
    """platform repeated: titles on any of them, for a search and for browsing alike."""
    for q in ("synthetic", None):
        params = [("platform", "hulu"), ("platform", "NETFLIX"), ("limit", 1000)]
        body = client.get("/titles", params=params + ([("q", q)] if q else [])).json()
        expected = query(
            demo_db, "SELECT count(*) FROM titles WHERE platform IN ('hulu', 'netflix')"
        )[0][0]
        assert body["total"] == expected == len(body["items"]) > 0
        assert {i["platform"] for i in body["items"]} == {"hulu", "netflix"}
    bad = client.get("/titles", params=[("platform", "hulu"), ("platform", "hbo")])
    assert bad.status_code == 422 and "'platform'" in message(bad)


def test_search_results_carry_their_work_and_genres(client, demo_db):
    """Each result names its work (copies on two platforms share one) and its genres."""
    found = client.get("/titles", params={"q": client.get("/titles/ns5").json()["title"]}).json()
    by_id = {i["id"]: i for i in found["items"]}
    assert by_id["ns5"]["work_id"] == by_id["as5"]["work_id"]
    listed_in, work_id = query(demo_db, "SELECT listed_in, work_id FROM titles WHERE id = 'ns5'")[0]
    assert (by_id["ns5"]["listed_in"], by_id["ns5"]["work_id"]) == (listed_in, work_id)
    assert listed_in


def test_search_by_word_genre_and_score(client, demo_db):
    word = client.get("/titles/as5").json()["title"].split()[1]
    found = client.get("/titles", params={"q": word.upper(), "limit": 1000}).json()
    assert found["total"] > 0 and all(word in i["title"] for i in found["items"])
    genre = client.get("/genres").json()[0]
    in_genre = client.get("/titles", params={"genre": genre["genre"], "limit": 1}).json()
    assert in_genre["total"] == genre["count"]
    good = client.get("/titles", params={"min_score": 4, "limit": 1000}).json()
    assert all(i["score"] >= 4 for i in good["items"])
    assert good["total"] == query(demo_db, "SELECT count(*) FROM titles WHERE score >= 4")[0][0]


def test_percent_and_underscore_in_q_are_literal(client):
    assert client.get("/titles", params={"q": "%"}).json()["total"] == 0
    assert client.get("/titles", params={"q": "_"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("sort", "order", "key", "descending"),
    [
        ("score", None, "score", True),
        ("title", None, "title", False),
        ("release_year", "asc", "release_year", False),
        ("duration", "desc", "duration_int", True),
    ],
)
def test_search_sorts(client, sort, order, key, descending):
    params = {"sort": sort, "limit": 50, **({"order": order} if order else {})}
    values = [i[key] for i in client.get("/titles", params=params).json()["items"]]
    assert values == sorted(values, reverse=descending)


def test_pages_do_not_overlap_and_total_is_stable(client):
    first = client.get("/titles", params={"sort": "title", "limit": 10}).json()
    second = client.get("/titles", params={"sort": "title", "limit": 10, "offset": 10}).json()
    assert first["total"] == second["total"] == 600
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_platforms_and_genres(client):
    platforms = client.get("/platforms").json()
    assert [p["platform"] for p in platforms] == ["amazon", "disney", "hulu", "netflix"]
    assert all(p["count"] == 150 == sum(p["by_type"].values()) for p in platforms)
    genres = client.get("/genres", params={"platform": "disney"}).json()
    assert [g["count"] for g in genres] == sorted((g["count"] for g in genres), reverse=True)


def test_the_dataset_says_it_is_synthetic(client):
    body = client.get("/dataset").json()
    assert body["synthetic"] is True
    assert body["titles"] == 600 and body["ratings"] > 10_000


def test_health(client):
    assert client.get("/health/live").json() == {"status": "ok", "checks": {}}
    assert client.get("/health/ready").json() == {"status": "ok", "checks": {"database": "ok"}}


def test_every_parameter_is_described_with_an_example(client):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for operation in item.values():
            for param in operation.get("parameters", []):
                described = param.get("description") or param["schema"].get("description")
                example = (
                    param.get("example") or param.get("examples") or param["schema"].get("examples")
                )
                assert described, f"{path} {param['name']} has no description"
                assert example, f"{path} {param['name']} has no example"


UNREACHABLE = "postgresql://postgres@127.0.0.1:9/streamrec"  # nothing listens on the discard port


def test_an_unreachable_database_is_a_fast_503_and_the_service_still_starts():
    with catalog_client(UNREACHABLE) as client:
        assert client.get("/health/live").status_code == 200
        for path in (
            "/health/ready",
            "/get_count_platform?platform=amazon",
            "/titles/ns1",
            "/titles",
        ):
            started = time.monotonic()
            response = client.get(path)
            assert response.status_code == 503, path
            assert time.monotonic() - started < 5
        ready = client.get("/health/ready").json()
        assert ready["status"] == "unavailable"
        assert ready["checks"]["database"] == "unavailable"  # why: in the log
        assert (
            client.get("/get_count_platform?platform=amazon").json()["detail"]
            == "database unavailable: cannot reach PostgreSQL"
        )


def test_a_database_without_the_schema_is_a_503_that_says_to_run_the_loader(database_url):
    with catalog_client(database_url) as client:
        response = client.get("/get_count_platform", params={"platform": "amazon"})
        assert response.status_code == 503
        assert "run the loader" in response.json()["detail"]
        assert client.get("/health/ready").json()["checks"]["database"] == "unavailable"


def test_dataset_counts_api_ratings_exactly_up_to_a_bound_then_estimates(demo_copy):
    """/dataset used to count every API rating on each page load; past API_COUNT_BOUND it now
    takes PostgreSQL's row estimate of the partition instead."""
    import psycopg

    from common.throwaway import conninfo
    from services.catalog.service import API_COUNT_BOUND

    url = demo_copy()
    with catalog_client(url) as client:
        before = client.get("/dataset").json()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ratings (source, user_id, title_id, rating, rated_at)"
            " SELECT 'api', 5000000 + n, 'ns1', 4.0, now() FROM generate_series(1, 7) AS n"
        )
    with catalog_client(url) as client:
        few = client.get("/dataset").json()
    assert few["ratings"] == before["ratings"] + 7 and few["ratings_estimated"] is False
    many = API_COUNT_BOUND * 2
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ratings (source, user_id, title_id, rating, rated_at)"
            " SELECT 'api', 6000000 + n, 'ns1', 4.0, now() FROM generate_series(1, %s) AS n",
            (many,),
        )
        conn.execute("ANALYZE ratings_api")
    with catalog_client(url) as client:
        estimated = client.get("/dataset").json()
    assert estimated["ratings_estimated"] is True
    exact = before["ratings"] + 7 + many
    assert abs(estimated["ratings"] - exact) <= exact * 0.05
