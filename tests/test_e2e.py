"""End to end: the three services as real processes over a slice of the real data and a small
model (conftest's real_stack, which the page's walk shares); every gateway route over HTTP; then
each downstream service killed in turn."""

import httpx
import pytest

from tests.conftest import small_params
from tests.reliability import record, timed


@pytest.fixture(scope="module")
def stack(real_stack):
    return real_stack


@pytest.fixture(scope="module")
def gateway(stack):
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        yield client


CATALOGUE = [
    ("/get_max_duration", {"year": 2019, "platform": "hulu", "duration_type": "min"}),
    ("/get_max_duration", {"duration_type": "season", "type": "tv show"}),
    ("/get_score_count", {"platform": "netflix", "scored": 3.5, "year": 2020}),
    ("/get_count_platform", {"platform": "amazon"}),
    ("/get_actor", {"platform": "netflix", "year": 2019}),
    ("/get_actor", {"platform": "hulu", "year": 2019}),  # 404: Hulu has no cast data
    ("/get_actor", {"platform": "netflix", "year": 3000}),  # 422
    ("/titles/ns1", {}),
    ("/titles/ns999999", {}),  # 404
    ("/titles", {"ids": "ns1,as2,hs3,ds4"}),
    ("/titles", {"q": "love", "platform": "netflix", "sort": "title", "limit": 5}),
    ("/platforms", {}),
    ("/genres", {"platform": "disney"}),
    ("/dataset", {}),
]


@pytest.mark.parametrize(("path", "params"), CATALOGUE)
def test_catalogue_routes_answer_exactly_as_the_catalog(gateway, stack, path, params):
    through = gateway.get(path, params=params)
    direct = httpx.get(stack.catalog.url + path, params=params, headers=stack.internal)
    assert through.status_code == direct.status_code
    assert through.json() == direct.json()
    assert through.status_code in (200, 404, 422)


def test_a_gateway_validation_error_names_the_field(gateway):
    response = gateway.get(
        "/get_score_count", params={"platform": "hbo", "scored": 3, "year": 2020}
    )
    assert response.status_code == 422
    assert "'platform'" in response.json()["message"]


def test_predict_has_the_recommenders_answer_and_the_titles_card(gateway, stack):
    params = {"user_id": 1, "title_id": "ns2186"}
    body = gateway.get("/predict", params=params, headers=stack.auth(1)).json()
    direct = httpx.get(
        stack.recommender.url + "/predict", params=params, headers=stack.internal
    ).json()
    assert {k: body[k] for k in direct} == direct
    title = httpx.get(stack.catalog.url + "/titles/ns2186", headers=stack.internal).json()
    assert body["title"]["title"] == title["title"]
    assert body["title"]["score"] == title["score"]
    assert body["degraded"] is False


def test_predict_for_a_title_that_does_not_exist_is_the_recommenders_404(gateway, stack):
    response = gateway.get(
        "/predict", params={"user_id": 1, "title_id": "ns999999"}, headers=stack.auth(1)
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no title has id 'ns999999'"}


def test_recommendations_and_similar_carry_cards_for_every_item(gateway, stack):
    recs = gateway.get(
        "/users/1/recommendations",
        params=[("n", 8), ("platform", "hulu"), ("platform", "netflix")],
        headers=stack.auth(1),
    ).json()
    direct = httpx.get(
        stack.recommender.url + "/users/1/recommendations",
        params=[("n", 8), ("platform", "hulu"), ("platform", "netflix")],
        headers=stack.internal,
    ).json()
    assert [i["title_id"] for i in recs["items"]] == [i["title_id"] for i in direct["items"]]
    assert len(recs["items"]) == 8 and recs["degraded"] is False
    assert all(i["title"] and i["title"]["platform"] in ("hulu", "netflix") for i in recs["items"])
    similar = gateway.get("/titles/as2/similar", params={"n": 5}).json()
    assert len(similar["items"]) == 5 and all(i["title"] for i in similar["items"])


def test_the_titles_behind_each_pick_come_with_their_cards(gateway, stack):
    recs = gateway.get("/users/1/recommendations", params={"n": 10}, headers=stack.auth(1)).json()
    direct = httpx.get(
        stack.recommender.url + "/users/1/recommendations",
        params={"n": 10},
        headers=stack.internal,
    )
    for carded, plain in zip(recs["items"], direct.json()["items"], strict=True):
        assert [b["title_id"] for b in carded["because"]] == plain["because"]
        for reason in carded["because"]:
            card = gateway.get(f"/titles/{reason['title_id']}").json()
            assert reason["title"]["title"] == card["title"]
    assert any(item["because"] for item in recs["items"])


def test_a_title_lists_its_copies_on_the_other_platforms(gateway):
    body = gateway.get("/titles/as7474").json()
    assert body["title"] == "1 night in san diego"
    assert body["also_on"] == [{"platform": "hulu", "id": "hs874"}]
    similar = gateway.get("/titles/as7474/similar", params={"n": 10}).json()
    assert "hs874" not in [i["title_id"] for i in similar["items"]]


def test_a_rating_posted_through_the_gateway_is_stored(gateway, stack):
    rating = {"user_id": 77, "title_id": "ns2", "rating": 3.5}
    response = gateway.post("/ratings", json=rating, headers=stack.auth(77))
    assert response.status_code == 201
    assert response.json()["source"] == "api"
    assert gateway.post("/ratings", json=rating).status_code == 401
    assert gateway.post("/ratings", json=rating, headers=stack.auth(78)).status_code == 403
    bad = gateway.post("/ratings", json={**rating, "rating": 3.7}, headers=stack.auth(77))
    assert bad.status_code == 422 and "'rating'" in bad.json()["message"]


def test_model_and_health(gateway):
    assert gateway.get("/model").json()["params"]["n_factors"] == small_params().n_factors
    assert gateway.get("/health/live").status_code == 200
    assert gateway.get("/health/ready").json() == {
        "status": "ok",
        "checks": {"catalog": "ok", "recommender": "ok"},
    }
    assert gateway.head("/").status_code == 200  # uptime checkers use HEAD
    page = gateway.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    docs = gateway.get("/openapi.json").json()
    assert {
        "/predict",
        "/users/{user_id}/recommendations",
        "/titles/{title_id}/similar",
        "/ratings",
        "/recommendations/popular",
    } <= set(docs["paths"])


def test_recommender_down_the_catalogue_works_and_recommendations_fail_fast(gateway, stack):
    stack.recommender.kill()
    slowest = 0.0
    try:
        assert gateway.get("/get_count_platform", params={"platform": "amazon"}).status_code == 200
        user = stack.auth(1)
        for call in (
            lambda: gateway.get("/predict", params={"user_id": 1, "title_id": "ns1"}, headers=user),
            lambda: gateway.get("/users/1/recommendations", headers=user),
            lambda: gateway.get("/titles/ns1/similar"),
            lambda: gateway.post(
                "/ratings", json={"user_id": 1, "title_id": "ns1", "rating": 4}, headers=user
            ),
        ):
            response, seconds = timed(call)
            assert response.status_code == 503
            assert "recommender unavailable" in response.json()["detail"]
            assert seconds <= 2
            slowest = max(slowest, seconds)
        ready = gateway.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"catalog": "ok", "recommender": "unavailable"}
    finally:
        stack.recommender.start().wait()
    assert gateway.get("/users/1/recommendations", headers=stack.auth(1)).status_code == 200
    record("recommender_killed", slowest_503_s=round(slowest, 3))


def test_catalog_down_recommendations_still_come_with_ids_and_scores(gateway, stack):
    stack.catalog.kill()
    try:
        recs = gateway.get("/users/1/recommendations", params={"n": 5}, headers=stack.auth(1))
        assert recs.status_code == 200
        body = recs.json()
        assert body["degraded"] is True
        assert len(body["items"]) == 5
        assert all(i["title"] is None and i["title_id"] and i["score"] for i in body["items"])
        predict = gateway.get(
            "/predict", params={"user_id": 1, "title_id": "ns1"}, headers=stack.auth(1)
        ).json()
        assert predict["degraded"] is True and predict["title"] is None and predict["score"] > 0
        catalogue, seconds = timed(
            lambda: gateway.get("/get_count_platform", params={"platform": "amazon"})
        )
        assert catalogue.status_code == 503 and seconds <= 2
        assert "catalog unavailable" in catalogue.json()["detail"]
        assert gateway.get("/health/ready").json()["checks"]["catalog"] == "unavailable"
    finally:
        stack.catalog.start().wait()
    recs = gateway.get("/users/1/recommendations", headers=stack.auth(1))
    assert recs.json()["degraded"] is False
    record("catalog_killed", items=len(body["items"]), catalogue_503_s=round(seconds, 3))


def test_title_cards_come_from_one_batch_call_to_the_catalog(stack):
    from tests.conftest import gateway_client

    calls: list[str] = []

    async def record(request: httpx.Request) -> None:
        calls.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")

    with gateway_client(stack) as client:
        client.app.state.catalog.client.event_hooks["request"].append(record)
        recs = client.get("/users/1/recommendations", params={"n": 20}, headers=stack.auth(1))
        recs = recs.json()
        similar = client.get("/titles/ns1/similar", params={"n": 20}).json()
    assert len(recs["items"]) == len(similar["items"]) == 20
    assert len(calls) == 2
    for call, answer in zip(calls, (recs, similar), strict=True):
        assert call.startswith("GET /titles?ids=")
        assert call.count("s") >= 20 and all(i["title_id"] in call for i in answer["items"])


def test_a_recommender_without_a_model_is_a_503_that_says_so(stack, tmp_path):
    from common.proc import Service, free_port
    from tests.conftest import gateway_client

    recommender = Service(
        "empty-recommender",
        ["services.recommender"],
        free_port(),
        {
            "DATABASE_URL": stack.recommender.env["DATABASE_URL"],
            "MODEL_DIR": str(tmp_path / "no-models"),
        },
        tmp_path,
    ).start()
    try:
        recommender.wait("/health/live")
        with gateway_client(stack, recommender_url=recommender.url, service_token=None) as client:
            response = client.get("/users/1/recommendations", headers=stack.auth(1))
        assert response.status_code == 503
        assert response.json()["detail"] == "recommender unavailable (503): no model is loaded yet"
    finally:
        recommender.stop()
