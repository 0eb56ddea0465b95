"""python -m services.recommender.train as a user runs it, against a real PostgreSQL."""

import json
import subprocess

import numpy as np
import pytest

from services.recommender.model import ARRAYS, current_version, load
from tests.loading import assert_one_line_error, query, run_module, write_tiny_catalogues
from tests.loading import load as load_data


def run_trainer(*args: str) -> subprocess.CompletedProcess:
    return run_module("services.recommender.train", *args)


@pytest.fixture(scope="module")
def db(demo_copy):
    url = demo_copy()
    # A user who only exists through the API, and a title user 1 rated in the files and again
    # through the API (the API rating counts).
    query(
        url,
        "INSERT INTO ratings (source, user_id, title_id, rating, rated_at) VALUES"
        " ('api', 5000, 'ns1', 5.0, now()), ('api', 5000, 'ns2', 4.0, now()),"
        " ('api', 1, (SELECT min(title_id) FROM ratings WHERE user_id = 1), 0.5, now())",
    )
    return url


@pytest.fixture(scope="module")
def trained(db, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models")
    result = run_trainer(
        "--database-url",
        db,
        "--model-dir",
        str(model_dir),
        "--factors",
        "8",
        "--epochs",
        "30",
        "--lr",
        "0.01",
        "--reg",
        "0.05",
    )
    assert result.returncode == 0, result.stderr
    return model_dir, result


def test_training_shows_progress_per_epoch_and_points_current_at_the_new_version(trained):
    model_dir, result = trained
    for epoch in range(1, 31):
        assert f"svd on 100%: epoch {epoch}/30" in result.stderr
    assert "dropped 1 repeated (user, title) ratings" in result.stderr
    version = current_version(model_dir)
    assert (model_dir / version / "metadata.json").exists()


def test_the_artifact_holds_arrays_and_metadata_only(trained):
    model_dir, _ = trained
    folder = model_dir / current_version(model_dir)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*(f"{a}.npy" for a in ARRAYS), "metadata.json"]
    )
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["version"] == folder.name
    assert metadata["params"] == {
        "n_factors": 8,
        "n_epochs": 30,
        "lr_all": 0.01,
        "reg_bu": 0.05,
        "reg_bi": 0.05,
        "reg_factors": 0.05,
        "random_state": 0,
    }
    fingerprint = metadata["data"]["fingerprint"]
    assert fingerprint["users"] == 401 and fingerprint["titles"] == 600
    assert len(fingerprint["sha256"]) == 64
    assert metadata["data"]["duplicates_dropped"] == 1
    models = metadata["evaluation"]["models"]
    for name in ("svd", "baseline_only", "global_mean"):
        assert {"rmse", "mae", "precision_at_10", "recall_at_10", "ndcg_at_10"} <= set(models[name])
    assert {"titles", "users"} == set(metadata["signal"])
    assert {"read", "deduplicate", "evaluate", "refit", "total"} <= set(metadata["timings_s"])
    assert metadata["peak_rss_mb"] > 0
    assert {"scikit-surprise", "numpy", "python"} <= set(metadata["libraries"])
    assert "created_at" in metadata


def test_ratings_posted_through_the_api_are_trained_on(trained):
    model_dir, _ = trained
    model = load(model_dir)
    user = model.user_index(5000)
    assert user is not None
    items, ratings = model.seen_with_ratings(user)
    assert sorted(zip(model.item_ids[items].tolist(), ratings.tolist(), strict=False)) == [
        ("ns1", 5.0),
        ("ns2", 4.0),
    ]
    items, ratings = model.seen_with_ratings(model.user_index(1))
    assert (
        dict(zip(model.item_ids[items].tolist(), ratings.tolist(), strict=False))[
            min(model.item_ids[items])
        ]
        == 0.5
    )


def test_the_demo_sets_planted_structure_is_found(trained):
    model_dir, _ = trained
    models = load(model_dir).metadata["evaluation"]["models"]
    assert models["svd"]["rmse"] < models["baseline_only"]["rmse"] < models["global_mean"]["rmse"]


def test_a_sample_trains_on_part_of_the_users(db, tmp_path):
    result = run_trainer(
        "--database-url", db, "--model-dir", str(tmp_path), "--sample", "3000", "--epochs", "3"
    )
    assert result.returncode == 0, result.stderr
    model = load(tmp_path)
    assert 3000 <= model.metadata["data"]["fingerprint"]["rows"] < 3100
    assert len(model.user_ids) < 100
    assert np.all(np.diff(model.user_ids) > 0)


def test_an_empty_database_is_a_clear_error(database_url, tmp_path):
    load_data(database_url, write_tiny_catalogues(tmp_path / "titles"), None)
    result = run_trainer("--database-url", database_url, "--model-dir", str(tmp_path / "models"))
    one_line_error(result, "the ratings table is empty (run the loader first)")
    assert current_version(tmp_path / "models") is None


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert_one_line_error(result, "trainer", *fragments)


def test_an_unwritable_model_folder_is_a_one_line_error(db, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the folder should be")
    one_line_error(
        run_trainer("--database-url", db, "--model-dir", str(blocker)), str(blocker), "cannot write"
    )


@pytest.mark.parametrize(
    "content", ["", "{not json", '{"best": {"params": {"n_factors": "x"}}}', '{"best": 1}']
)
def test_a_broken_tuning_record_is_a_one_line_error(db, tmp_path, content):
    record = tmp_path / "tuning.json"
    record.write_text(content)
    result = run_trainer(
        "--database-url", db, "--model-dir", str(tmp_path / "m"), "--tuning-file", str(record)
    )
    one_line_error(result, str(record), "not a valid tuning record")


def test_an_unreachable_database_is_a_one_line_error(tmp_path):
    result = run_trainer(
        "--database-url", "postgresql://x@127.0.0.1:9/none", "--model-dir", str(tmp_path)
    )
    one_line_error(result, "cannot read the ratings", "cannot reach PostgreSQL")
    assert current_version(tmp_path) is None
