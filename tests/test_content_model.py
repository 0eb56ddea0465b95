"""The content model and the ranking of picks (content.py, ranking.py), without a database."""

import numpy as np
import pytest

from services.recommender import content, ranking
from services.recommender.ranking import Neighbours, Profile
from tests.catalogues import clustered


@pytest.fixture(scope="module")
def planted():
    ids = np.array(sorted(f"ns{k}" for k in range(1, 241)))
    catalogue, group = clustered(ids, clusters=6, seed=4)
    vectors = content.vectorise(catalogue)
    return catalogue, group, vectors, Neighbours(*content.neighbours(vectors, 20))


def test_titles_in_planted_genre_and_cast_clusters_are_each_others_neighbours(planted):
    _, group, _, neighbours = planted
    same = group[neighbours.items[:, :10]] == group[:, None]
    assert same.mean() > 0.99


def test_neighbours_are_best_first_never_the_title_itself_and_ties_go_to_the_lower_id(planted):
    _, _, vectors, neighbours = planted
    assert not (neighbours.items == np.arange(len(neighbours.items))[:, None]).any()
    assert (np.diff(neighbours.scores, axis=1) <= 1e-7).all()
    exact = (vectors @ vectors.T).toarray()
    np.fill_diagonal(exact, -np.inf)
    for title in (0, 17, 239):
        expected = np.lexsort((np.arange(len(exact)), -exact[title]))[:20]
        assert neighbours.items[title].tolist() == expected.tolist()


def test_cast_and_director_are_whole_names_and_title_words_count():
    ids = np.array(["as1", "as2", "as3", "as4"])
    catalogue, _ = clustered(ids, clusters=1)
    catalogue.titles = ["toy story", "toy story 2", "the winter soldier", "a quiet place"]
    catalogue.cast = [["tom hanks"], ["tom hanks"], ["tom holland"], ["emily blunt"]]
    catalogue.directors = [["john lasseter"], ["john lasseter"], ["john lee"], ["john krasinski"]]
    catalogue.genres = [["animation"], ["animation"], ["action"], ["horror"]]
    vectors = content.vectorise(catalogue)
    items, _ = content.neighbours(vectors, 1)
    assert items[:2, 0].tolist() == [1, 0]  # the sequel, by its title, cast and director
    # "tom hanks" and "tom holland" share a word, not a name: they do not make titles alike.
    only_cast = content.vectorise(catalogue, {"cast": 1.0})
    assert (only_cast[0] @ only_cast[2].T).toarray()[0, 0] == 0


def test_a_profile_weighs_each_rating_by_its_distance_from_the_users_mean():
    profile = Profile.of(np.array([3, 7, 9]), np.array([5.0, 1.0, 3.0]), global_mean=3.0)
    mean = (9.0 + 3 * 3.0) / 6
    assert profile.weights.tolist() == pytest.approx([5 - mean, 1 - mean, 3 - mean])


def test_a_long_history_keeps_only_its_most_telling_ratings():
    items = np.arange(5000)
    ratings = np.where(items % 50 == 0, 5.0, 3.5)
    profile = Profile.of(items, ratings, global_mean=3.5)
    assert len(profile.items) == ranking.PROFILE_TITLES
    assert set(np.flatnonzero(ratings == 5.0)) <= set(profile.items.tolist())


def test_picks_come_from_the_neighbours_of_liked_titles_and_say_which(planted):
    _, group, _, neighbours = planted
    liked = np.flatnonzero(group == 2)[:3]
    disliked = np.flatnonzero(group == 4)[:3]
    profile = Profile.of(
        np.r_[liked, disliked], np.r_[np.full(3, 5.0), np.full(3, 1.0)], global_mean=3.0
    )
    scores, sources, targets, amounts = ranking.affinity(profile, neighbours, len(group))
    allowed = np.ones(len(group), dtype=bool)
    allowed[profile.items] = False
    picks = ranking.shortlist(scores, allowed, np.arange(len(group)), 10)
    assert (group[picks] == 2).all()
    assert scores[group == 4].max() <= 0 < -scores[group == 4].mean()  # disliked: pulled down
    reasons = ranking.because(picks, sources, targets, amounts)
    assert all(reason and set(reason) <= set(liked.tolist()) for reason in reasons)
    assert all(len(reason) <= ranking.BECAUSE for reason in reasons)


def test_the_diversity_step_keeps_ten_picks_from_being_one_franchise():
    # Titles 0-9 are one franchise (all alike), 10-19 are unrelated: the top scores are 0-9.
    items = np.full((20, 9), -1, dtype=np.int32)
    scores = np.zeros((20, 9), dtype=np.float32)
    for t in range(10):
        others = [k for k in range(10) if k != t]
        items[t], scores[t] = others, 0.9
    relevance = np.r_[np.linspace(1.0, 0.9, 10), np.linspace(0.8, 0.7, 10)]
    order = np.arange(20)
    plain = order[:10]
    diverse = ranking.diversify(order, relevance, Neighbours(items, scores), 10)
    assert len(set(diverse.tolist())) == 10 and diverse[0] == 0
    assert (diverse < 10).sum() < (plain < 10).sum()
    assert (diverse < 10).sum() >= 1


def test_blending_standardises_each_signal_and_skips_the_unweighted():
    flat = np.full(5, 3.0)
    rising = np.arange(5.0)
    blended = ranking.blend({"prediction": 1.0, "prior": 0.0}, prediction=rising, prior=flat)
    assert blended.mean() == pytest.approx(0) and blended.std() == pytest.approx(1)
    assert ranking.blend({"affinity": 1.0}, affinity=flat).tolist() == [0.0] * 5
