"""Synthetic catalogues for the model layer's tests: titles in planted genre and cast clusters."""

import numpy as np

from services.recommender import content, validation
from services.recommender.content import Catalogue
from services.recommender.ranking import Neighbours

GENRES = ["dramas", "comedies", "documentaries", "thrillers", "anime", "kids' tv"]


def clustered(
    item_ids: np.ndarray, clusters: int = 6, seed: int = 0
) -> tuple[Catalogue, np.ndarray]:
    """A catalogue of `item_ids` (sorted) in which cluster k's titles share genres, a cast pool,
    a director and a title word, and nothing else: (catalogue, cluster of each title)."""
    rng = np.random.default_rng(seed)
    n = len(item_ids)
    group = rng.integers(clusters, size=n)
    words = ["orbit", "harbor", "lantern", "summit", "echo", "garden", "signal", "river"]
    return (
        Catalogue(
            ids=np.asarray(item_ids, dtype=str),
            work_ids=np.asarray(item_ids, dtype=str),
            titles=[f"{words[g]} {k}" for k, g in enumerate(group)],
            types=["movie"] * n,
            ratings=["pg"] * n,
            years=np.full(n, 2000, dtype=np.int32),
            directors=[[f"director {g}"] for g in group],
            countries=[["spain"]] * n,
            descriptions=[f"story number {k}" for k in range(n)],
            cast=[[f"actor {g}-{a}" for a in rng.choice(8, 3, replace=False)] for g in group],
            genres=[[GENRES[g % len(GENRES)], f"extra {g}"] for g in group],
            votes=np.zeros(n, dtype=np.int64),
        ),
        group,
    )


def content_metadata(vectors, neighbours: Neighbours) -> dict:
    """The metadata sections a model needs besides its arrays (as the trainer writes them)."""
    return {
        "content": {
            "field_weights": content.FIELD_WEIGHTS,
            "neighbours": int(neighbours.items.shape[1]),
            "dimensions": int(vectors.shape[1]),
        },
        "ranking": validation.unvalidated(),
    }
