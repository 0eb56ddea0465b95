"""Offline evaluation: error and ranking metrics on a held-out split.

Ranking protocol: for every user with ratings in the held-out split, that user's held-out
titles are ranked by predicted score (ties in random order, seeded); the top 10 are the
recommendations and a title is relevant when its true rating is 4.0 or more.
Precision@10 = relevant in the top 10 / min(10, held-out titles of the user), averaged over
users; Recall@10 and NDCG@10 (binary gain) are averaged over users with at least one relevant
title.
"""

import numpy as np

K = 10
RELEVANT = 4.0


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(truth - predicted)))


def _per_user(users: np.ndarray, truth: np.ndarray, predicted: np.ndarray, *, seed: int):
    """Per user: (held-out titles, relevant ones, relevant in the top 10, NDCG@10)."""
    tiebreak = np.random.default_rng(seed).random(len(users))
    order = np.lexsort((tiebreak, -predicted, users))
    u, relevant = users[order], truth[order] >= RELEVANT
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    size = np.diff(np.r_[starts, len(u)])  # held-out titles per user
    rank = np.arange(len(u)) - np.repeat(starts, size)
    group = np.repeat(np.arange(len(starts)), size)
    in_top = rank < K
    hits = np.bincount(group, weights=relevant & in_top)
    n_relevant = np.bincount(group, weights=relevant)
    dcg = np.bincount(group, weights=(relevant & in_top) / np.log2(rank + 2))
    discounts = np.cumsum(1 / np.log2(np.arange(K) + 2))
    ideal = np.where(n_relevant > 0, discounts[np.minimum(n_relevant, K).astype(int) - 1], 1.0)
    return size, n_relevant, hits, dcg / ideal


def ranking(users: np.ndarray, truth: np.ndarray, predicted: np.ndarray, *, seed: int) -> dict:
    """Precision@10, Recall@10 and NDCG@10 under the protocol above."""
    size, n_relevant, hits, ndcg = _per_user(users, truth, predicted, seed=seed)
    has_relevant = n_relevant > 0
    return {
        "precision_at_10": float(np.mean(hits / np.minimum(size, K))),
        "recall_at_10": float(np.mean(hits[has_relevant] / n_relevant[has_relevant])),
        "ndcg_at_10": float(np.mean(ndcg[has_relevant])),
        "users": len(size),
    }


def ndcg_per_user(
    users: np.ndarray, truth: np.ndarray, predicted: np.ndarray, *, seed: int
) -> np.ndarray:
    """NDCG@10 of each user with at least one relevant held-out title, under the protocol."""
    _, n_relevant, _, ndcg = _per_user(users, truth, predicted, seed=seed)
    return ndcg[n_relevant > 0]


def scores(truth: np.ndarray, predicted: np.ndarray, users: np.ndarray, *, seed: int) -> dict:
    return {"rmse": rmse(truth, predicted), "mae": mae(truth, predicted)} | ranking(
        users, truth, predicted, seed=seed
    )
