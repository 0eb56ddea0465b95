"""The trainer's data path and the model layer, without a database."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from surprise import Dataset, Reader

from common import stats
from services.recommender import content, evaluation, ranking
from services.recommender.data import COLUMNS, Ratings, build_trainset, deduplicate, split
from services.recommender.model import ARRAYS, ArtifactError, load, save
from services.recommender.ranking import Neighbours
from services.recommender.train import Clock, Params, evaluate, fit_svd, model_arrays
from tests.catalogues import clustered, content_metadata


def ratings_table(rows: list[tuple]) -> pa.Table:
    """(user_id, title_id, rating, rated_at or -1, from_api, seq) rows, as the trainer reads."""
    return pa.table({name: [row[k] for row in rows] for k, name in enumerate(COLUMNS)})


def planted(
    users=800, items=300, per_user=80, rank=3, noise=0.3, seed=1
) -> tuple[Ratings, np.ndarray]:
    """Ratings = 3.5 + biases + a rank-3 product + Gaussian noise, rounded to half stars.
    Returns the ratings and, for each, the noiseless value it was drawn around."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.7, (users, rank)), rng.normal(0, 0.7, (items, rank))
    bu, bi = rng.normal(0, 0.3, users), rng.normal(0, 0.3, items)
    u = np.repeat(np.arange(users), per_user)
    i = np.concatenate([rng.choice(items, per_user, replace=False) for _ in range(users)])
    clean = 3.5 + bu[u] + bi[i] + np.einsum("ij,ij->i", p[u], q[i])
    observed = np.clip(np.round((clean + rng.normal(0, noise, len(u))) * 2) / 2, 0.5, 5.0)
    item_ids = np.array([f"ns{k + 1}" for k in range(items)])
    order = np.argsort(item_ids)
    rank_of = np.empty(items, dtype=np.int32)
    rank_of[order] = np.arange(items)
    data = Ratings(
        u.astype(np.int32), rank_of[i], observed, np.arange(1, users + 1), item_ids[order]
    )
    return data, np.clip(clean, 0.5, 5.0)


def test_the_trainer_learns_a_planted_low_rank_structure():
    data, clean = planted()
    catalogue, _ = clustered(data.item_ids)
    report, chosen = evaluate(
        data,
        Params(n_factors=10, n_epochs=40, lr_all=0.01, reg_bu=0.05, reg_bi=0.05, reg_factors=0.05),
        seed=0,
        clock=Clock(),
        neighbours=Neighbours(*content.neighbours(content.vectorise(catalogue))),
        title_signal_z=10.0,
    )
    # The ratings' structure has nothing to do with these titles' clusters: the rating model
    # is what predicts the held-out ratings, and the validation leans on it.
    assert chosen["weights"]["prediction"] >= 0.5
    _, test = split(len(data), seed=0, fraction=0.1)
    noise_floor = evaluation.rmse(
        data.ratings[test], clean[test]
    )  # what a perfect model would score
    models = report["models"]
    assert models["svd"]["rmse"] < 1.15 * noise_floor
    assert models["svd"]["rmse"] < 0.75 * models["baseline_only"]["rmse"]
    assert models["svd"]["rmse"] < 0.6 * models["global_mean"]["rmse"]
    assert models["svd"]["ndcg_at_10"] > models["random"]["ndcg_at_10"] + 0.05


def test_the_signal_check_finds_planted_item_signal_and_none_in_shuffled_ratings():
    data, _ = planted()
    found = stats.signal(data.items, data.ratings, n_groups=len(data.item_ids), seed=0)
    shuffled = stats.signal(
        data.items,
        np.random.default_rng(5).permutation(data.ratings),
        n_groups=len(data.item_ids),
        seed=0,
    )
    assert found["std_ratio"] > 2 and found["z"] > 10
    assert 0.8 < shuffled["std_ratio"] < 1.2 and abs(shuffled["z"]) < 4


def test_deduplication_keeps_the_latest_by_time_else_the_last_delivered():
    table = ratings_table(
        [
            (1, "as1", 2.0, -1, 0, 1),
            (1, "as1", 3.0, -1, 0, 2),  # same pair, no time: the later delivery wins
            (2, "ns1", 5.0, 200, 0, 3),
            (2, "ns1", 1.0, 100, 0, 4),  # delivered later but older: the earlier row wins
            (3, "hs1", 4.0, -1, 0, 5),
            (3, "hs1", 0.5, -1, 1, 1),  # posted through the API after the files: it wins
            (4, "ds1", 3.5, -1, 0, 6),
        ]
    )
    data, dropped = deduplicate(table)
    assert dropped == 3
    kept = {
        (int(data.user_ids[u]), str(data.item_ids[i])): r
        for u, i, r in zip(data.users, data.items, data.ratings, strict=True)
    }
    assert kept == {(1, "as1"): 3.0, (2, "ns1"): 5.0, (3, "hs1"): 0.5, (4, "ds1"): 3.5}
    assert list(data.item_ids) == sorted(data.item_ids)


def test_the_lean_trainset_holds_what_surprise_would_build():
    data, _ = planted(users=50, items=40, per_user=10)
    lean = build_trainset(data, np.arange(len(data)))
    frame = pd.DataFrame(
        {
            "user": data.user_ids[data.users],
            "item": data.item_ids[data.items],
            "rating": data.ratings,
        }
    )
    reference = Dataset.load_from_df(frame, Reader(rating_scale=(0.5, 5.0))).build_full_trainset()

    def as_raw(trainset):
        return {
            (trainset.to_raw_uid(u), trainset.to_raw_iid(i), r)
            for u, i, r in trainset.all_ratings()
        }

    assert as_raw(lean) == as_raw(reference)
    assert lean.global_mean == pytest.approx(reference.global_mean, abs=1e-12)
    assert (lean.n_users, lean.n_items, lean.n_ratings) == (
        reference.n_users,
        reference.n_items,
        reference.n_ratings,
    )
    assert sum(len(v) for v in lean.ir.values()) == len(data)


def artifact(data: Ratings, svd) -> tuple[dict, dict]:
    """The arrays and metadata of a model of `data`, over a clustered catalogue of its titles."""
    catalogue, _ = clustered(data.item_ids)
    vectors = content.vectorise(catalogue)
    neighbours = Neighbours(*content.neighbours(vectors))
    metadata = {
        "global_mean": float(np.mean(data.ratings)),
        "rating_scale": [0.5, 5.0],
        **content_metadata(vectors, neighbours),
    }
    return model_arrays(data, svd, catalogue, vectors, neighbours), metadata


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data, _ = planted(users=200, items=120, per_user=30)
    trainset = build_trainset(data, np.arange(len(data)), with_items=False)
    svd = fit_svd(
        trainset,
        Params(n_factors=6, n_epochs=15, lr_all=0.01, reg_bu=0.05, reg_bi=0.05, reg_factors=0.05),
        seed=3,
    )
    folder = tmp_path_factory.mktemp("models")
    arrays, metadata = artifact(data, svd)
    save(folder, "v1", arrays, {**metadata, "global_mean": trainset.global_mean})
    return data, svd, folder


def test_the_loaded_artifact_predicts_exactly_what_surprise_predicted(trained):
    data, svd, folder = trained
    model = load(folder)
    users = [int(u) for u in data.user_ids[::7]] + [10**6]  # the last one is unknown
    items = [str(i) for i in data.item_ids[::5]] + ["ns99999"]
    worst = 0.0
    for user in users:
        for item in items:
            expected = svd.predict(user, item).est
            got = model.predict(model.user_index(user), model.item_index(item))
            worst = max(worst, abs(got - expected))
    assert worst < 1e-9
    u = np.array([model.user_index(x) if model.user_index(x) is not None else -1 for x in users])
    i = np.array([model.item_index(x) if model.item_index(x) is not None else -1 for x in items])
    uu, ii = np.repeat(u, len(i)), np.tile(i, len(u))
    expected = np.array([svd.predict(a, b).est for a in users for b in items])
    assert np.max(np.abs(model.predict_many(uu, ii) - expected)) < 1e-9
    row = model.user_index(users[0])
    expected_row = np.array([svd.predict(users[0], str(t)).est for t in model.item_ids])
    assert np.max(np.abs(model.user_scores(row) - expected_row)) < 1e-9


def test_surprise_treats_a_wrongly_typed_id_as_unknown_without_saying_so(trained):
    data, svd, folder = trained
    user = int(data.user_ids[0])
    item = str(data.item_ids[0])
    silent = svd.predict(str(user), item)  # "1" is not 1: surprise quietly falls back
    assert silent.details["was_impossible"] is False
    model = load(folder)
    assert model.predict(model.user_index(user), model.item_index(item)) != silent.est


def test_the_shortlist_is_the_best_allowed_titles_best_first_one_copy_per_work():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.7, 0.3])
    every = np.ones(6, dtype=bool)
    works = np.arange(6)
    assert ranking.shortlist(scores, every, works, 3).tolist() == [1, 3, 4]
    allowed = np.array([True, False, True, False, True, True])
    assert ranking.shortlist(scores, allowed, works, 10).tolist() == [4, 2, 5, 0]
    # Titles 1 and 3 are one work on two platforms: its best copy stands for it.
    assert ranking.shortlist(scores, every, np.array([0, 1, 2, 1, 4, 5]), 3).tolist() == [1, 4, 2]


def test_no_file_of_the_artifact_is_a_pickle(trained):
    _, _, folder = trained
    names = sorted(p.name for p in (folder / "v1").iterdir())
    assert names == sorted([*(f"{a}.npy" for a in ARRAYS), "metadata.json"])
    for name in ARRAYS:
        array = np.load(folder / "v1" / f"{name}.npy", allow_pickle=False)
        assert array.dtype != object


@pytest.fixture
def copy(trained, tmp_path) -> Path:
    """A copy of the trained model folder, for a test to damage."""
    copy = tmp_path / "models"
    shutil.copytree(trained[2], copy, symlinks=True)
    return copy


def test_a_tampered_artifact_is_refused(copy):
    bias = copy / "v1" / "item_bias.npy"
    values = np.load(bias)
    values[0] += 1.0
    np.save(bias, values)
    with pytest.raises(ArtifactError, match="checksum"):
        load(copy)


def test_an_artifact_smuggling_a_pickle_is_refused_even_with_a_matching_checksum(copy):
    evil = copy / "v1" / "item_prior.npy"
    np.save(evil, np.array([{"payload": "runs on unpickle"}], dtype=object), allow_pickle=True)
    metadata = json.loads((copy / "v1" / "metadata.json").read_text())
    metadata["files"]["item_prior.npy"] = hashlib.sha256(evil.read_bytes()).hexdigest()
    (copy / "v1" / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ArtifactError, match="not a plain NumPy array"):
        load(copy)


def test_an_incomplete_artifact_is_refused(copy, tmp_path):
    (copy / "v1" / "user_factors.npy").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load(copy)
    with pytest.raises(ArtifactError, match="no model yet"):
        load(tmp_path / "empty")


def test_a_crash_while_saving_leaves_current_on_the_old_version(trained, monkeypatch):
    data, svd, folder = trained
    arrays, metadata = artifact(data, svd)
    calls = {"n": 0}
    real_save = np.save

    def crash_midway(path, array, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        real_save(path, array, **kwargs)

    monkeypatch.setattr(np, "save", crash_midway)
    with pytest.raises(OSError):
        save(folder, "v2", arrays, metadata)
    monkeypatch.undo()
    assert load(folder).version == "v1"
    assert not (folder / "v2").exists()


def test_a_top_n_cut_through_tied_scores_keeps_the_lowest_ids():
    # Ranking cut at n: equal scores go in id (index) order, also across the cut.
    rng = np.random.default_rng(3)
    scores = rng.choice([1.0, 2.0, 3.0], size=5000)
    for n in (1, 5, 17, 400):
        expected = np.lexsort((np.arange(len(scores)), -scores))[:n]
        shortlist = ranking.shortlist(scores, np.ones(len(scores), bool), np.arange(5000), n)
        assert shortlist.tolist() == expected.tolist()
