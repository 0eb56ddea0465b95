"""Ratings that resist flooding and shilling: one row per (user, title), a daily cap, and the
trainer's screening of suspect API ratings, replayed as the attacks were."""

import pyarrow as pa
import pytest

from services.recommender import screening
from services.recommender.data import COLUMNS
from services.recommender.model import load
from services.recommender.settings import Settings
from services.recommender.train import train
from tests.conftest import recommender_client, small_params
from tests.loading import query


@pytest.fixture(scope="module")
def db(demo_copy):
    return demo_copy()


def cold_start_rank(model, title_id: str) -> int:
    order = sorted(range(len(model.item_ids)), key=lambda k: (-model.item_prior[k], k))
    return [str(model.item_ids[k]) for k in order].index(title_id)


def test_eighty_made_up_users_cannot_lift_a_title_for_everyone(db, demo_model, tmp_path):
    before = load(demo_model)
    target = [str(t) for t in before.item_ids][
        sorted(range(len(before.item_ids)), key=lambda k: (-before.item_prior[k], k))[40]
    ]
    with recommender_client(db, demo_model) as client:
        for fake in range(80):
            body = {"user_id": 900_000 + fake, "title_id": target, "rating": 5.0}
            assert client.post("/ratings", json=body).status_code == 201

    screened = tmp_path / "screened"
    train(Settings(database_url=db, model_dir=screened), params=small_params())
    after = load(screened)
    assert cold_start_rank(after, target) == cold_start_rank(before, target) == 40
    report = after.metadata["screening"]
    assert report["set_aside"]["new_account_pile_on"] == 80
    assert report["titles"][0] == {"title_id": target, "ratings": 80}

    # The same retrain without the screening: the attack works, so the test above can fail.
    naive = tmp_path / "naive"
    train(Settings(database_url=db, model_dir=naive), params=small_params(), screen=False)
    assert cold_start_rank(load(naive), target) < 5


def test_posting_one_rating_again_and_again_keeps_one_row_the_last(db, demo_model):
    with recommender_client(db, demo_model) as client:
        for k in range(200):
            rating = 0.5 + (k % 10) / 2
            body = {"user_id": 31337, "title_id": "ns7", "rating": rating}
            response = client.post("/ratings", json=body)
            assert response.status_code == 201
            assert response.json()["replaced"] is (k > 0)
    rows = query(db, "SELECT rating FROM ratings WHERE user_id = 31337 AND title_id = 'ns7'")
    assert [r.rating for r in rows] == [5.0]


def test_the_daily_cap_refuses_with_429_and_when_to_retry(db, demo_model):
    with recommender_client(db, demo_model, api_ratings_per_day=5) as client:
        for title in ("ns10", "ns11", "ns12", "ns13", "ns14"):
            body = {"user_id": 4242, "title_id": title, "rating": 4.0}
            assert client.post("/ratings", json=body).status_code == 201
        again = client.post("/ratings", json={"user_id": 4242, "title_id": "ns10", "rating": 2})
        assert again.status_code == 201  # rating a title again does not count twice
        refused = client.post("/ratings", json={"user_id": 4242, "title_id": "ns15", "rating": 2})
        assert refused.status_code == 429
        assert "at most 5 titles rated per user in 24 hours" in refused.json()["detail"]
        assert 86_000 < int(refused.headers["retry-after"]) <= 86_400
        unknown = client.post(
            "/ratings", json={"user_id": 4242, "title_id": "ns99999", "rating": 2}
        )
        assert unknown.status_code == 422  # a bad title is said so first
        other = client.post("/ratings", json={"user_id": 4243, "title_id": "ns15", "rating": 2})
        assert other.status_code == 201
    stored = query(db, "SELECT count(*) AS n FROM ratings WHERE user_id = 4242")
    assert stored[0].n == 5


def table(rows: list[tuple]) -> pa.Table:
    """(user_id, title_id, rating, rated_at, from_api, seq) rows."""
    return pa.table({name: [row[k] for row in rows] for k, name in enumerate(COLUMNS)})


def test_a_burst_and_a_scripted_run_are_set_aside_and_a_busy_person_is_not():
    rows = [(1, f"ns{k}", 4.0, -1, 0, k) for k in range(1, 40)]  # user 1's delivered ratings
    rows += [(1, f"as{k}", 3.0 + k % 3, 1_000 + 2 * k, 1, k) for k in range(40)]  # 40 in 80 s
    rows += [(2, f"hs{k}", 5.0, 5_000 + 100 * k, 1, 100 + k) for k in range(25)]  # all 5.0
    rows += [(3, f"ds{k}", 1.0 + k % 4, 9_000 + 60 * k, 1, 200 + k) for k in range(40)]  # a person
    kept, report = screening.screen(table(rows))
    assert report["set_aside"] == {"burst": 40, "identical_run": 25, "new_account_pile_on": 0}
    users = kept.column("user_id").to_numpy()
    from_api = kept.column("from_api").to_numpy()
    assert set(users[from_api == 1]) == {3} and (users[from_api == 0] == 1).all()


def test_a_few_new_accounts_rating_one_title_are_just_new_viewers():
    rows = [
        (u, "ns5", 5.0, 100 * u, 1, u) for u in range(100, 100 + screening.PILE_ON_ACCOUNTS - 1)
    ]
    kept, report = screening.screen(table(rows))
    assert kept.num_rows == len(rows) and report["set_aside"]["new_account_pile_on"] == 0
    more = [*rows, (999, "ns5", 5.0, 99_999, 1, 999)]
    _, report = screening.screen(table(more))
    assert report["set_aside"]["new_account_pile_on"] == screening.PILE_ON_ACCOUNTS
