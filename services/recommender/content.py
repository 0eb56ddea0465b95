"""The content model: what each title is, as a weighted TF-IDF vector, and its nearest titles.

The ratings carry no per-title signal (docs/model.md), so similar titles and the reasons for a
pick come from the catalogue: the title's words (so that franchises and sequels meet), its
genres, cast and directors (whole names, never split into words), countries, description, and
its type, maturity rating and decade. Each field is vectorised on its own with scikit-learn's
TfidfVectorizer, L2-normalised, weighted, and the blocks are joined and normalised again, so
that the cosine of two titles is a weighted agreement of their fields.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import safe_sparse_dot
from sqlalchemy.engine import Connection

from common import queries
from common.tables import titles

# How much each field counts. Genres are few and coarse (two or three of about 120 per title):
# weighted like the rest they would make every neighbour a genre twin and hide the franchise,
# so they count a little less than the title and the description.
FIELD_WEIGHTS = {
    "title": 1.0,
    "genres": 0.7,
    "cast": 0.8,
    "director": 0.6,
    "country": 0.3,
    "description": 1.2,
    "facets": 0.4,  # type, maturity rating, decade
}
TOP_CAST = 10  # the billed leads; long tails of extras say little about a title
NEIGHBOURS = 100  # nearest titles kept per title
BLOCK_ROWS = 1000  # similarities are computed this many titles at a time


@dataclass
class Catalogue:
    """Every title, sorted by id, with the fields the content model reads."""

    ids: np.ndarray  # str, sorted
    work_ids: np.ndarray  # str: the same film or show on several platforms shares one
    titles: list[str]
    types: list[str]
    ratings: list[str]
    years: np.ndarray
    directors: list[list[str]]
    countries: list[list[str]]
    descriptions: list[str]
    cast: list[list[str]]
    genres: list[list[str]]
    votes: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def work_codes(self) -> np.ndarray:
        """Each title's work as a small integer (copies of one work share it)."""
        return np.unique(self.work_ids, return_inverse=True)[1].astype(np.int32)


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


CATALOGUE_SQL = sa.select(
    titles.c.id,
    titles.c.work_id,
    titles.c.title,
    titles.c.type,
    titles.c.rating,
    titles.c.release_year,
    titles.c.director,
    titles.c.country,
    titles.c.description,
    titles.c.votes,
    queries.CAST,
    queries.GENRES,
).order_by(titles.c.id)


def read_catalogue(conn: Connection) -> Catalogue:
    """Every title with its cast and genres, in one query."""
    rows = conn.execute(CATALOGUE_SQL).all()
    ids = np.array([r.id for r in rows], dtype=str)
    # The database sorts by its collation; the model's ids are in code-point order.
    order = np.argsort(ids, kind="stable")
    rows = [rows[k] for k in order]
    return Catalogue(
        ids=ids[order],
        work_ids=np.array([r.work_id for r in rows], dtype=str),
        titles=[r.title for r in rows],
        types=[r.type for r in rows],
        ratings=[r.rating for r in rows],
        years=np.array([r.release_year for r in rows], dtype=np.int32),
        directors=[_names(r.director) for r in rows],
        countries=[_names(r.country) for r in rows],
        descriptions=[r.description or "" for r in rows],
        cast=[list(r.cast)[:TOP_CAST] for r in rows],
        genres=[list(r.genres) for r in rows],
        votes=np.array([r.votes for r in rows], dtype=np.int64),
    )


def _whole(names: Sequence[str]) -> Sequence[str]:
    """The analyzer of the name fields: each name is one token, as delivered."""
    return names


def _field_documents(catalogue: Catalogue) -> dict[str, tuple[TfidfVectorizer, list]]:
    words = {"strip_accents": "unicode", "sublinear_tf": True, "dtype": np.float32}
    names = {"analyzer": _whole, "dtype": np.float32}
    facets = [
        [f"type:{kind}", f"rating:{rating}", f"decade:{year // 10 * 10}"]
        for kind, rating, year in zip(
            catalogue.types, catalogue.ratings, catalogue.years.tolist(), strict=True
        )
    ]
    return {
        # Word pairs too, so that "toy story" counts for more than "toy" and "story".
        "title": (
            TfidfVectorizer(ngram_range=(1, 2), stop_words="english", **words),
            catalogue.titles,
        ),
        "genres": (TfidfVectorizer(**names), catalogue.genres),
        # A name that appears once links no two titles.
        "cast": (TfidfVectorizer(min_df=2, **names), catalogue.cast),
        "director": (TfidfVectorizer(min_df=2, **names), catalogue.directors),
        "country": (TfidfVectorizer(**names), catalogue.countries),
        "description": (
            TfidfVectorizer(stop_words="english", min_df=2, max_df=0.3, **words),
            catalogue.descriptions,
        ),
        "facets": (TfidfVectorizer(**names), facets),
    }


def vectorise(catalogue: Catalogue, weights: dict[str, float] = FIELD_WEIGHTS) -> sp.csr_matrix:
    """One L2-normalised row per title: the weighted, normalised TF-IDF blocks side by side."""
    blocks = []
    for name, (vectorizer, documents) in _field_documents(catalogue).items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        try:
            block = vectorizer.fit_transform(documents)
        except ValueError:  # an empty vocabulary: no title has this field (say, no cast at all)
            continue
        blocks.append(weight * normalize(block))
    if not blocks:
        return sp.csr_matrix((len(catalogue), 0), dtype=np.float32)
    return normalize(sp.hstack(blocks, format="csr", dtype=np.float32))


def neighbours(
    vectors: sp.csr_matrix | np.ndarray, k: int = NEIGHBOURS, *, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each title's (or each of `rows`') k most similar titles (cosine), best first, equal
    similarities in id order: (indices padded with -1, similarities). Computed a block of
    titles at a time, on two threads (the products and partitions release the GIL)."""
    n = vectors.shape[0]
    k = max(0, min(k, n - 1))
    transposed = vectors.T.tocsr() if sp.issparse(vectors) else np.ascontiguousarray(vectors.T)
    wanted = np.arange(n) if rows is None else np.asarray(rows)

    def block(start: int) -> tuple[np.ndarray, np.ndarray]:
        part = wanted[start : start + BLOCK_ROWS]
        # scikit-learn multiplies two sparse matrices straight into a dense one, several times
        # faster than scipy's sparse product followed by toarray().
        sims = safe_sparse_dot(vectors[part], transposed, dense_output=True)
        sims[np.arange(len(part)), part] = -np.inf  # not its own neighbour
        index = np.full((len(part), k), -1, dtype=np.int32)
        scores = np.zeros((len(part), k), dtype=np.float32)
        if k == 0:
            return index, scores
        kth = np.partition(sims, n - k, axis=1)[:, n - k]
        r, c = np.nonzero(sims >= kth[:, None])
        v = sims[r, c]
        order = np.lexsort((c, -v, r))
        r, c, v = r[order], c[order], v[order]
        rank = np.arange(len(r)) - np.searchsorted(r, r)
        keep = rank < k  # ties with the k-th go to the lower ids
        index[r[keep], rank[keep]] = c[keep]
        scores[r[keep], rank[keep]] = v[keep]
        return index, scores

    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(block, range(0, len(wanted), BLOCK_ROWS)))
    if not parts:
        return np.empty((0, k), np.int32), np.empty((0, k), np.float32)
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])
