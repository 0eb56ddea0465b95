"""What a person sees on the real catalogues: one work across platforms, similar titles by what
the titles are, and why, on the four real catalogues and a slice of the real ratings."""

import numpy as np
import pytest

from services.recommender.model import load
from services.recommender.settings import Settings
from services.recommender.train import Params, train
from tests.conftest import catalog_client, recommender_client
from tests.loading import copy_titles, write_ratings_slice
from tests.loading import load as load_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_slice(new_database, shared_data, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("real-slice")
    copy_titles(shared_data / "titles", folder / "titles")
    (folder / "ratings").mkdir()
    write_ratings_slice(
        shared_data / "ratings" / "1.csv.gz", folder / "ratings" / "1.csv.gz", 60_000
    )
    url = new_database()
    load_data(url, folder / "titles", folder / "ratings")
    return url


@pytest.fixture(scope="module")
def real_model(real_slice, tmp_path_factory):
    folder = tmp_path_factory.mktemp("real-model")
    params = Params(n_factors=2, n_epochs=5, lr_all=0.005, reg_bu=0.02, reg_bi=2.0, reg_factors=1.0)
    train(Settings(database_url=real_slice, model_dir=folder), params=params)
    return folder


def titles_of(client, ids):
    return [client.get(f"/titles/{i}").json()["title"] for i in ids]


def test_the_same_film_on_two_platforms_is_one_work_and_says_where_else_it_is(real_slice):
    with catalog_client(real_slice) as catalog:
        amazon = catalog.get("/titles/as7474").json()
        hulu = catalog.get("/titles/hs874").json()
        assert amazon["title"] == hulu["title"] == "1 night in san diego"
        assert amazon["work_id"] == hulu["work_id"] == "as7474"
        assert amazon["also_on"] == [{"platform": "hulu", "id": "hs874"}]
        assert hulu["also_on"] == [{"platform": "amazon", "id": "as7474"}]
        avatar = catalog.get("/titles/ns2520").json()
        assert avatar["also_on"] == [{"platform": "amazon", "id": "as3191"}]
        assert catalog.get("/titles/ns1").json()["also_on"] == []


def test_no_title_signal_means_similar_titles_come_from_content_alone(real_model):
    model = load(real_model)
    ranking = model.metadata["ranking"]
    assert model.metadata["signal"]["titles"]["z"] < 3
    assert ranking["similar_factor_weight"] == 0
    assert "no title signal" in ranking["similar_factor_weight_reason"]
    lists = model.metadata["lists"]["similar"]
    served, factors, rand = lists["served"], lists["rating_factors"], lists["random"]
    assert served["franchise_recall_at_10"] > 0.6 > 0.05 > factors["franchise_recall_at_10"]
    assert served["genre_jaccard_at_10"] > 0.6 > 0.1 > rand["genre_jaccard_at_10"]
    # Not circular: without the genre field, neighbours still share genres far above chance.
    assert lists["content_without_genres"]["genre_jaccard_at_10"] > 3 * rand["genre_jaccard_at_10"]


@pytest.mark.parametrize(
    ("title_id", "expected"),
    [
        ("ds1378", {"toy story 2", "toy story 3", "toy story 4"}),  # toy story
        ("ns5941", {"el camino: a breaking bad movie", "better call saul", "ozark"}),
        ("ds1039", {"marvel studios' the avengers", "marvel studios' avengers: endgame"}),
    ],
)
def test_well_known_titles_have_sensible_neighbours(real_slice, real_model, title_id, expected):
    with (
        recommender_client(real_slice, real_model) as recommender,
        catalog_client(real_slice) as catalog,
    ):
        body = recommender.get(f"/titles/{title_id}/similar", params={"n": 10}).json()
        assert body["reason"] == "content"
        names = titles_of(catalog, [i["title_id"] for i in body["items"]])
    assert expected <= set(names), names


def test_stranger_things_neighbours_share_its_genres(real_slice, real_model):
    with (
        recommender_client(real_slice, real_model) as recommender,
        catalog_client(real_slice) as catalog,
    ):
        body = recommender.get("/titles/ns3686/similar", params={"n": 10}).json()
        genres = [
            set(catalog.get(f"/titles/{i['title_id']}").json()["genres"]) for i in body["items"]
        ]
    own = {"tv horror", "tv mysteries", "tv sci-fi & fantasy"}
    assert np.mean([bool(g & own) for g in genres]) >= 0.8
    assert np.mean([len(g & own) >= 2 for g in genres]) >= 0.6
