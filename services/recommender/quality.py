"""Whether the lists make sense to a person, measured: franchise partners found, genre agreement,
intra-list diversity, catalogue coverage and popularity bias, for the served model and for
baselines on the same queries.

Franchise pairs are derived from the titles themselves: two titles of different works whose
names share their main part ("toy story" in "toy story 2" and "toy story: that time forgot";
"pirates of the caribbean" before the colon) but are not the same name ("home" and "home" are
usually two unrelated films, so they do not count).
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

LIST_SIZE = 10
DIVERSITY_LISTS = 1000  # diversity is measured on about this many lists (pairwise, so costly)
MIN_KEY_LETTERS = 4
MAX_FRANCHISE = 30  # a larger group is a common word ("love"), not a franchise
SEQUEL = re.compile(r"\s+(part|chapter|vol|volume)?\s*(\d+|ii|iii|iv|v|vi|vii|viii)$")
LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+")


def _plain(title: str) -> str:
    text = unicodedata.normalize("NFKD", title.lower().replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\s*\(\d{4}\)$", "", text)
    return LEADING_ARTICLE.sub("", " ".join(re.sub(r"[^\w\s:]", " ", text).split()))


def franchise_key(title: str) -> str:
    """The main part of a title: before a colon or a dash, without a sequel number."""
    main = re.split(r":| - ", _plain(title))[0].strip()
    return LEADING_ARTICLE.sub("", SEQUEL.sub("", main)).strip()


def franchise_partners(titles: Sequence[str], work: np.ndarray) -> dict[int, set[int]]:
    """Each title's franchise partners (title indices of other works)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for k, title in enumerate(titles):
        key = franchise_key(title)
        if len(key.replace(" ", "")) >= MIN_KEY_LETTERS:
            groups[key].append(k)
    plain = [_plain(title) for title in titles]
    partners: dict[int, set[int]] = defaultdict(set)
    for members in groups.values():
        if not 2 <= len(members) <= MAX_FRANCHISE:
            continue
        for a in members:
            for b in members:
                if work[a] != work[b] and plain[a] != plain[b]:
                    partners[a].add(b)
    return dict(partners)


def list_metrics(
    lists: Sequence[np.ndarray],
    queries: np.ndarray | None,
    *,
    genres: Sequence[frozenset[str]],
    partners: dict[int, set[int]] | None,
    vectors: sp.csr_matrix,
    popularity: np.ndarray,
    keys: Sequence[str],
) -> dict[str, float]:
    """The figures of a set of top-10 lists (one per query title, or per user when `queries`
    is None): franchise recall and genre agreement need query titles."""
    result: dict[str, float] = {}
    if queries is not None and partners is not None:
        found = [
            len(partners[q] & set(items.tolist())) / min(LIST_SIZE, len(partners[q]))
            for q, items in zip(queries.tolist(), lists, strict=True)
            if q in partners
        ]
        result["franchise_recall_at_10"] = float(np.mean(found)) if found else float("nan")
        result["franchise_queries"] = len(found)
    if queries is not None:
        jaccard = [
            np.mean([len(genres[q] & genres[j]) / len(genres[q] | genres[j]) for j in items])
            for q, items in zip(queries.tolist(), lists, strict=True)
            if genres[q] and len(items)
        ]
        result["genre_jaccard_at_10"] = float(np.mean(jaccard))
    step = max(1, len(lists) // DIVERSITY_LISTS)
    result["intra_list_diversity"] = _diversity(lists[::step], vectors)
    shown = np.unique(np.concatenate([items for items in lists] or [np.empty(0, int)]))
    result["catalogue_coverage"] = len(shown) / vectors.shape[0]
    # The popularity percentile of what is shown: 0.5 is the catalogue's own middle.
    percentile = _percentiles(popularity)
    result["popularity_percentile"] = float(
        np.mean(
            np.concatenate([percentile[items] for items in lists if len(items)] or [np.empty(0)])
        )
    )
    result["largest_franchise_share"] = float(
        np.mean([_largest_share(items, keys) for items in lists if len(items)])
    )
    result["lists"] = len(lists)
    return result


def _percentiles(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks / max(1, len(values) - 1)


def _diversity(lists: Sequence[np.ndarray], vectors: sp.csr_matrix) -> float:
    """The mean, over lists, of 1 - the mean pairwise content cosine of a list's titles."""
    values = []
    for items in lists:
        if len(items) < 2:
            continue
        block = vectors[items]
        gram = (block @ block.T).toarray()
        pairs = gram[np.triu_indices(len(items), 1)]
        values.append(1 - float(pairs.mean()))
    return float(np.mean(values)) if values else float("nan")


def _largest_share(items: np.ndarray, keys: Sequence[str]) -> float:
    """The share of a list taken by its largest franchise (1/len when all differ)."""
    counts: dict[str, int] = defaultdict(int)
    for item in items.tolist():
        counts[keys[item]] += 1
    return max(counts.values()) / len(items)


def baseline_lists(
    queries: np.ndarray,
    work: np.ndarray,
    rank: Callable[[int], np.ndarray],
    n: int = LIST_SIZE,
) -> list[np.ndarray]:
    """For each query, the first n titles of `rank(query)` (title indices, best first) that are
    neither of the query's work nor a second copy of a work already listed."""
    lists = []
    for query in queries.tolist():
        order = rank(query)
        order = order[work[order] != work[query]]
        _, first = np.unique(work[order], return_index=True)
        lists.append(order[np.sort(first)][:n])
    return lists


SAMPLE_QUERIES = 4000  # query titles besides every title with franchise partners
SAMPLE_USERS = 1000


def evaluate_lists(model, catalogue, vectors: sp.csr_matrix, *, seed: int) -> dict:
    """Similar titles and picks of the served model against baselines on the same queries:
    the rating factors' neighbours (what was served before the content model), popularity,
    and random; and the content model without its genre field, so that genre agreement is
    not circular."""
    from services.recommender import content, ranking

    rng = np.random.default_rng(seed)
    n = len(model.item_ids)
    work = model.item_work
    genres = [frozenset(g) for g in catalogue.genres]
    keys = [franchise_key(title) for title in catalogue.titles]
    partners = franchise_partners(catalogue.titles, work)
    sample = rng.choice(n, min(SAMPLE_QUERIES, n), replace=False)
    queries = np.unique(np.concatenate([sample, np.fromiter(partners, int, len(partners))]))
    votes = np.bincount(model.seen_items, minlength=n)
    popular = np.lexsort((np.arange(n), -votes))
    measure = {
        "genres": genres,
        "partners": partners,
        "vectors": vectors,
        "popularity": votes,
        "keys": keys,
    }

    def random_order(_: int) -> np.ndarray:
        return rng.permutation(n)[: 4 * LIST_SIZE]

    factor_rows = content.neighbours(model.item_unit, 4 * LIST_SIZE, rows=queries)[0]
    factor_items = dict(zip(queries.tolist(), factor_rows, strict=True))

    def factor_order(query: int) -> np.ndarray:
        order = factor_items[query]
        return order[(order >= 0) & model.item_rated[order]]

    without_genres = {**content.FIELD_WEIGHTS, "genres": 0.0}
    plain = content.neighbours(content.vectorise(catalogue, without_genres), rows=queries)
    plain_items = dict(zip(queries.tolist(), plain[0], strict=True))

    similar = {
        "served": [model.similar(q, LIST_SIZE, None).items for q in queries.tolist()],
        "content_without_genres": baseline_lists(
            queries, work, lambda q: plain_items[q][plain_items[q] >= 0]
        ),
        "rating_factors": baseline_lists(queries, work, factor_order),
        "popularity": baseline_lists(queries, work, lambda _: popular[: 4 * LIST_SIZE]),
        "random": baseline_lists(queries, work, random_order),
    }
    users = np.sort(
        rng.choice(len(model.user_ids), min(SAMPLE_USERS, len(model.user_ids)), replace=False)
    )
    none = np.empty(0, dtype=np.int64)

    def served_picks(user: int) -> np.ndarray:
        return model.recommend(
            user,
            extra_items=none,
            extra_ratings=np.empty(0),
            n=LIST_SIZE,
            allowed=None,
            exclude_seen=True,
        ).items

    def rating_model_picks(user: int) -> np.ndarray:
        allowed = np.ones(n, dtype=bool)
        allowed[model.seen(user)] = False
        return ranking.shortlist(model.user_scores(user), allowed, work, LIST_SIZE)

    picks = {
        "served": [served_picks(u) for u in users.tolist()],
        "rating_model_alone": [rating_model_picks(u) for u in users.tolist()],
        "popularity": [popular[:LIST_SIZE] for _ in users],
        "random": [random_order(0)[:LIST_SIZE] for _ in users],
    }
    return {
        "queries": len(queries),
        "franchise_titles": len(partners),
        "users": len(users),
        "similar": {
            name: list_metrics(lists, queries, **measure) for name, lists in similar.items()
        },
        "picks": {name: list_metrics(lists, None, **measure) for name, lists in picks.items()},
    }
