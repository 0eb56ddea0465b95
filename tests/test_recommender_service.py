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
        "INSERT INTO titles (id, platform, show_id, type, title, release_year, rating, work_id)"
        " VALUES ('ns9000', 'netflix', 's9000', 'movie', 'loaded after training', 2021, 'g',"
        " 'ns9000')"
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


def blended(model, user: int) -> np.ndarray:
    """The ranking's blend for a user the model knows, rebuilt here from the artifact alone:
    z-scored predicted rating, content affinity (ratings minus the damped mean, times each
    rated title's neighbour similarities, over the sum of |weights|) and prior."""
    items, ratings = model.seen_with_ratings(user)
    mean = (ratings.sum() + 3 * model.global_mean) / (len(ratings) + 3)
    weights = ratings - mean
    affinity = np.zeros(len(model.item_ids))
    for title, weight in zip(items.tolist(), weights.tolist(), strict=True):
        for other, similarity in zip(
            model.neighbour_items[title], model.neighbour_scores[title], strict=True
        ):
            if other >= 0:
                affinity[other] += weight * similarity / np.abs(weights).sum()
    signals = {
        "prediction": np.array([model.predict(user, k) for k in range(len(model.item_ids))]),
        "affinity": affinity,
        "prior": model.item_prior,
    }
    total = np.zeros(len(model.item_ids))
    for name, values in signals.items():
        if values.std() > 0:
            total += model.ranking["weights"][name] * (values - values.mean()) / values.std()
    return total


def unseen_works(model, user: int) -> np.ndarray:
    rated = set(model.item_work[model.seen(user)].tolist())
    return np.array([w not in rated for w in model.item_work.tolist()])


def test_recommendations_are_drawn_from_the_best_of_the_blend_one_copy_per_work(client, model):
    user_id = int(model.user_ids[3])
    user = model.user_index(user_id)
    body = client.get(f"/users/{user_id}/recommendations", params={"n": 7}).json()
    assert body["reason"] == "model"
    picks = [model.item_index(item["title_id"]) for item in body["items"]]
    assert len(picks) == len(set(picks)) == 7
    scores = blended(model, user)
    allowed = unseen_works(model, user)
    assert allowed[picks].all()  # nothing the user rated, on any platform
    assert len(set(model.item_work[picks].tolist())) == 7  # never two copies of one work
    # The first pick is the best allowed title (ties by id); the diversity step chooses the
    # rest among the best n x MMR_POOL of them.
    order = sorted(np.flatnonzero(allowed), key=lambda k: (-scores[k], k))
    assert picks[0] == order[0]
    pool = scores[order[7 * 5 - 1]]
    assert all(scores[p] >= pool - 1e-9 for p in picks)
    for item in body["items"]:
        k = model.item_index(item["title_id"])
        assert item["score"] == pytest.approx(model.predict(user, k), abs=1e-9)


def test_every_pick_says_which_titles_the_user_liked_led_to_it(client, model):
    for row in (3, 11, 40):
        user_id = int(model.user_ids[row])
        user = model.user_index(user_id)
        items, ratings = model.seen_with_ratings(user)
        mean = (ratings.sum() + 3 * model.global_mean) / (len(ratings) + 3)
        liked = {int(i) for i, r in zip(items, ratings, strict=True) if r > mean}
        body = client.get(f"/users/{user_id}/recommendations", params={"n": 10}).json()
        named = 0
        for item in body["items"]:
            pick = model.item_index(item["title_id"])
            assert len(item["because"]) <= 3
            for reason in item["because"]:
                k = model.item_index(reason)
                assert k in liked
                assert pick in model.neighbour_items[k].tolist()
            named += bool(item["because"])
        assert named >= 5  # on the demo set the content signal is real: most picks have one


def test_recommendations_can_include_seen_titles_and_be_filtered_by_platform(client, model):
    user_id = int(model.user_ids[5])
    user = model.user_index(user_id)
    everything = client.get(
        f"/users/{user_id}/recommendations", params={"n": 5, "exclude_seen": "false"}
    ).json()
    first = model.item_index(everything["items"][0]["title_id"])
    scores = blended(model, user)
    assert first == min(range(len(scores)), key=lambda k: (-scores[k], k))
    filtered = client.get(
        f"/users/{user_id}/recommendations",
        params=[("n", 20), ("platform", "hulu"), ("platform", "Disney")],
    ).json()
    assert len(filtered["items"]) == 20
    assert {i["title_id"][0] for i in filtered["items"]} <= {"h", "d"}


def test_a_work_on_two_platforms_is_offered_once_and_on_an_allowed_platform(client, model):
    works = model.item_work
    shared = next(w for w in np.unique(works) if (works == w).sum() == 2)
    copies = [str(model.item_ids[k]) for k in np.flatnonzero(works == shared)]
    # A user the model knows, who rated nothing of this work: on each copy's platform alone,
    # wherever the work appears it is the allowed copy; over all platforms, it appears once.
    user_id = next(
        int(u)
        for k, u in enumerate(model.user_ids)
        if shared not in set(works[model.seen(k)].tolist())
    )
    platforms = {"a": "amazon", "d": "disney", "h": "hulu", "n": "netflix"}
    for title_id in copies:
        body = client.get(
            f"/users/{user_id}/recommendations",
            params={"n": 100, "platform": platforms[title_id[0]]},
        ).json()
        ids = [i["title_id"] for i in body["items"]]
        assert all(i[0] == title_id[0] for i in ids)
        assert not (set(copies) - {title_id}) & set(ids)
    both = client.get(f"/users/{user_id}/recommendations", params={"n": 100}).json()
    assert len(set(copies) & {i["title_id"] for i in both["items"]}) <= 1


def test_a_user_the_model_does_not_know_gets_the_best_damped_means(client, model):
    body = client.get("/users/999999/recommendations", params={"n": 5}).json()
    assert body["reason"] == "cold_start"
    # Equal priors are broken by title id, so the answer is the same on every run.
    expected, works = [], set()
    for k in sorted(range(len(model.item_ids)), key=lambda k: (-model.item_prior[k], k)):
        if int(model.item_work[k]) not in works and len(expected) < 5:
            works.add(int(model.item_work[k]))
            expected.append(str(model.item_ids[k]))
    assert [i["title_id"] for i in body["items"]] == expected
    assert all(i["because"] == [] for i in body["items"])


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


def exact_similar(model, title_id: str, n: int, platform: str | None = None) -> list[str]:
    """The n titles whose content vectors are nearest (exact cosine over the whole catalogue),
    one copy per work, none of the title's own work, ties by id."""
    item = model.item_index(title_id)
    cosine = (model.content @ model.content[item].T).toarray().ravel()
    order = sorted(range(len(cosine)), key=lambda k: (-cosine[k], k))
    picked, works = [], {int(model.item_work[item])}
    for k in order:
        if cosine[k] <= 0 or len(picked) == n:
            break
        if int(model.item_work[k]) in works or (platform and model.item_ids[k][0] != platform):
            continue
        works.add(int(model.item_work[k]))
        picked.append(str(model.item_ids[k]))
    return picked


def test_similar_titles_are_the_nearest_by_content_one_copy_per_work(client, model):
    for title_id in ("ns4", "as5", "hs6", "ds20"):
        body = client.get(f"/titles/{title_id}/similar", params={"n": 5}).json()
        assert body["reason"] == "content"  # the demo model's choice: see its metadata
        assert [i["title_id"] for i in body["items"]] == exact_similar(model, title_id, 5)
        assert title_id not in [i["title_id"] for i in body["items"]]
    filtered = client.get("/titles/ns4/similar", params={"n": 30, "platform": "disney"}).json()
    assert [i["title_id"] for i in filtered["items"]] == exact_similar(model, "ns4", 30, "d")
    assert client.get("/titles/ns99999/similar").status_code == 404


def test_similar_titles_never_list_a_copy_of_the_title_asked_about(client, model):
    works = model.item_work
    shared = [w for w in np.unique(works) if (works == w).sum() > 1]
    assert shared, "the demo set has titles on two platforms"
    for work in shared:
        copies = {str(model.item_ids[k]) for k in np.flatnonzero(works == work)}
        for title_id in copies:
            body = client.get(f"/titles/{title_id}/similar", params={"n": 20}).json()
            listed = [i["title_id"] for i in body["items"]]
            assert not copies & set(listed)
            assert len({int(works[model.item_index(i)]) for i in listed}) == len(listed)


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


def test_a_work_rated_on_one_platform_is_never_offered_on_another(client, model, db):
    works = model.item_work
    shared = [w for w in np.unique(works) if (works == w).sum() == 2]
    user_id = 390  # a user of the demo set, in the model
    user = model.user_index(user_id)
    seen_works = set(works[model.seen(user)].tolist())
    work = next(w for w in shared if w not in seen_works)
    first, second = (str(model.item_ids[k]) for k in np.flatnonzero(works == work))
    posted = client.post("/ratings", json={"user_id": user_id, "title_id": first, "rating": 5})
    assert posted.status_code == 201
    body = client.get(f"/users/{user_id}/recommendations", params={"n": 100}).json()
    assert not {first, second} & {i["title_id"] for i in body["items"]}


def test_a_user_new_to_the_model_gets_picks_from_their_ratings_since(client, model, db):
    user_id = 77_777  # not in the demo set
    liked = "ns4"
    for title_id, rating in ((liked, 5.0), ("as7", 1.0), ("hs10", 3.0)):
        response = client.post(
            "/ratings", json={"user_id": user_id, "title_id": title_id, "rating": rating}
        )
        assert response.status_code == 201
    body = client.get(f"/users/{user_id}/recommendations", params={"n": 10}).json()
    assert body["reason"] == "content"
    ids = {i["title_id"] for i in body["items"]}
    assert not ids & {liked, "as7", "hs10"}
    assert any(liked in i["because"] for i in body["items"])
    assert all(set(i["because"]) <= {liked, "hs10"} for i in body["items"])
