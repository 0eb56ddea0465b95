"""The recommender service on the demo database and a model trained on it."""

import shutil
import time

import numpy as np
import pytest

from services.recommender.model import load
from tests.conftest import recommender_client, small_params
from tests.loading import query
from tests.reliability import wait_for


@pytest.fixture(scope="module")
def model(demo_model):
    return load(demo_model)


@pytest.fixture(scope="module")
def db(demo_copy):
    """A private copy of the demo database (the model was trained on the shared one): these
    tests write to it."""
    return demo_copy()


@pytest.fixture(scope="module")
def client(db, demo_model):
    with recommender_client(db, demo_model) as client:
        yield client


def known_pair(model):
    user = int(model.user_ids[0])
    seen = set(model.item_ids[model.seen(0)])
    title = next(t for t in model.item_ids if t not in seen)
    return user, str(title)


def test_predict_for_a_known_user_and_title(client, model):
    user, title = known_pair(model)
    body = client.get("/predict", params={"user_id": user, "title_id": title}).json()
    expected = model.predict(model.user_index(user), model.item_index(title))
    assert body["score"] == pytest.approx(expected, abs=1e-12)
    assert body["reason"] == "model"
    assert body["threshold"] == 3.5
    assert body["recommend"] is (expected >= 3.5)


def test_unknown_ids_are_named_never_passed_off_as_the_models_answer(client, model, db):
    user, title = known_pair(model)
    query(
        db,
        "INSERT INTO titles (id, platform, show_id, type, title, release_year, rating)"
        " VALUES ('ns9000', 'netflix', 's9000', 'movie', 'loaded after training', 2021, 'g')"
        " ON CONFLICT DO NOTHING",
    )
    cases = {
        (10**6, title): "unknown_user",
        (user, "ns9000"): "unknown_title",
        (10**6, "ns9000"): "unknown_user_and_title",
    }
    for (user_id, title_id), reason in cases.items():
        body = client.get("/predict", params={"user_id": user_id, "title_id": title_id}).json()
        assert body["reason"] == reason
    unknown_user = client.get("/predict", params={"user_id": 10**6, "title_id": title}).json()
    assert unknown_user["score"] == pytest.approx(
        model.global_mean + model.item_bias[model.item_index(title)]
    )
    both = client.get("/predict", params={"user_id": 10**6, "title_id": "ns9000"}).json()
    assert both["score"] == pytest.approx(model.global_mean)


def test_predict_for_a_title_that_does_not_exist_is_a_404(client):
    response = client.get("/predict", params={"user_id": 1, "title_id": "ns99999"})
    assert response.status_code == 404
    assert "ns99999" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"user_id": "abc", "title_id": "ns1"}, "user_id"),
        ({"user_id": 0, "title_id": "ns1"}, "user_id"),
        ({"user_id": 2**31, "title_id": "ns1"}, "user_id"),
        ({"user_id": 1, "title_id": "netflix-1"}, "title_id"),
        ({"user_id": 1}, "title_id"),
    ],
)
def test_bad_predict_parameters_are_a_422_naming_the_field(client, params, field):
    response = client.get("/predict", params=params)
    assert response.status_code == 422
    assert f"'{field}'" in response.json()["message"]


def brute_force_top(model, user: int, n: int, allowed=None, exclude=()):
    scores = [
        (model.predict(user, k), -k)
        for k in range(len(model.item_ids))
        if k not in set(exclude) and (allowed is None or allowed[k])
    ]
    return [model.item_ids[-k] for _, k in sorted(scores, reverse=True)[:n]]


def test_recommendations_are_the_best_unseen_titles_over_every_title(client, model):
    user_id = int(model.user_ids[3])
    body = client.get(f"/users/{user_id}/recommendations", params={"n": 7}).json()
    assert body["reason"] == "model"
    ids = [item["title_id"] for item in body["items"]]
    user = model.user_index(user_id)
    assert ids == brute_force_top(model, user, 7, exclude=model.seen(user).tolist())
    assert not set(ids) & set(model.item_ids[model.seen(user)])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommendations_can_include_seen_titles_and_be_filtered_by_platform(client, model):
    user_id = int(model.user_ids[5])
    user = model.user_index(user_id)
    everything = client.get(
        f"/users/{user_id}/recommendations", params={"n": 5, "exclude_seen": "false"}
    ).json()
    assert [i["title_id"] for i in everything["items"]] == brute_force_top(model, user, 5)
    filtered = client.get(
        f"/users/{user_id}/recommendations",
        params=[("n", 20), ("platform", "hulu"), ("platform", "Disney")],
    ).json()
    assert len(filtered["items"]) == 20
    assert {i["title_id"][0] for i in filtered["items"]} <= {"h", "d"}


def test_a_user_the_model_does_not_know_gets_the_best_damped_means(client, model):
    body = client.get("/users/999999/recommendations", params={"n": 5}).json()
    assert body["reason"] == "cold_start"
    expected = model.item_ids[np.argsort(-model.item_prior, kind="stable")[:5]]
    assert [i["title_id"] for i in body["items"]] == list(expected)


def test_a_posted_rating_is_stored_and_excluded_from_recommendations(client, model, db):
    user_id = int(model.user_ids[7])
    first = client.get(f"/users/{user_id}/recommendations", params={"n": 1}).json()["items"][0]
    response = client.post(
        "/ratings", json={"user_id": user_id, "title_id": first["title_id"], "rating": 4.5}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["user_id"], body["title_id"], body["rating"], body["source"]) == (
        user_id,
        first["title_id"],
        4.5,
        "api",
    )
    stored = query(
        db,
        "SELECT rating, source FROM ratings WHERE source = 'api' AND seq = :seq",
        seq=body["seq"],
    )
    assert [tuple(r) for r in stored] == [(4.5, "api")]
    after = client.get(f"/users/{user_id}/recommendations", params={"n": 5}).json()
    assert first["title_id"] not in [i["title_id"] for i in after["items"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": 1, "title_id": "ns1", "rating": 4.3}, "rating"),
        ({"user_id": 1, "title_id": "ns1", "rating": 0}, "rating"),
        ({"user_id": 1, "title_id": "ns1", "rating": 5.5}, "rating"),
        ({"user_id": 1, "title_id": "ns1", "rating": "NaN"}, "rating"),
        ({"user_id": 1, "title_id": "ns99999", "rating": 4}, "title_id"),
        ({"user_id": 1, "title_id": "zz1", "rating": 4}, "title_id"),
        ({"user_id": -5, "title_id": "ns1", "rating": 4}, "user_id"),
        ({"user_id": 1, "title_id": "ns1", "rating": 4, "source": "file"}, "source"),
        ({"title_id": "ns1", "rating": 4}, "user_id"),
    ],
)
def test_a_bad_rating_is_a_422_naming_the_field_and_nothing_is_stored(client, db, body, field):
    before = query(db, "SELECT count(*) FROM ratings WHERE source = 'api'")[0][0]
    response = client.post("/ratings", json=body)
    assert response.status_code == 422
    assert f"'{field}'" in response.json()["message"]
    assert query(db, "SELECT count(*) FROM ratings WHERE source = 'api'")[0][0] == before


def test_the_rating_rule_is_spelled_out(client):
    response = client.post("/ratings", json={"user_id": 1, "title_id": "ns1", "rating": 4.3})
    assert "from 0.5 to 5.0 in steps of 0.5" in response.json()["message"]


def test_similar_titles_are_the_nearest_by_cosine(client, model):
    body = client.get("/titles/ns4/similar", params={"n": 5}).json()
    item = model.item_index("ns4")
    vectors = model.item_factors / np.linalg.norm(model.item_factors, axis=1, keepdims=True)
    cosine = vectors @ vectors[item]
    cosine[item] = -np.inf
    assert [i["title_id"] for i in body["items"]] == list(
        model.item_ids[np.argsort(-cosine, kind="stable")[:5]]
    )
    assert "ns4" not in [i["title_id"] for i in body["items"]]
    assert client.get("/titles/ns99999/similar").status_code == 404


def test_the_model_endpoint_describes_the_served_model(client, model):
    body = client.get("/model").json()
    assert body["version"] == model.version
    assert body["params"]["n_factors"] == small_params().n_factors
    assert {"svd", "baseline_only", "global_mean"} <= set(body["metrics"])


def test_not_ready_until_a_model_exists_then_picked_up_without_restart(db, demo_model, tmp_path):
    empty = tmp_path / "models"
    with recommender_client(db, empty, model_poll_s=0.1) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["model"] == "unavailable"
        assert client.get("/predict", params={"user_id": 1, "title_id": "ns1"}).status_code == 503
        shutil.copytree(demo_model, empty, symlinks=True)
        wait_for(lambda: client.get("/health/ready").status_code == 200, timeout=5, step=0.1)
        assert client.get("/health/ready").json()["checks"] == {"model": "ok", "database": "ok"}
        assert client.get("/predict", params={"user_id": 1, "title_id": "ns1"}).status_code == 200


def test_a_corrupt_new_model_is_refused_and_the_old_one_keeps_serving(
    db, demo_model, tmp_path, caplog
):
    models = tmp_path / "models"
    shutil.copytree(demo_model, models, symlinks=True)
    old = load(models).version
    with recommender_client(db, models, model_poll_s=0.1) as client:
        broken = models / "29990101T000000Z-broken"
        shutil.copytree(models / old, broken)
        (broken / "item_factors.npy").write_bytes(b"\x93NUMPY garbage")
        (models / "current").unlink()
        (models / "current").symlink_to(broken.name)
        time.sleep(0.5)
        assert client.get("/model").json()["version"] == old
        assert client.get("/health/ready").status_code == 200
    assert any("refusing model 29990101T000000Z-broken" in r.message for r in caplog.records)
