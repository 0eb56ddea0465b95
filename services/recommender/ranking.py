"""How picks are ranked: plain NumPy, shared by the service and the trainer's validation, so
that the weights the trainer chooses are the weights the service applies.

A user's picks blend three signals, each standardised over the catalogue for that user:
- the rating model's predicted rating;
- the user's content affinity: the titles the user rated, each weighted by how far its rating
  is from the user's own mean, pull their content neighbours up (or, disliked, down);
- a quality prior: each title's mean rating, damped toward the global mean.
Then copies of one work collapse to the best allowed one, and a diversity step (maximal
marginal relevance) keeps ten picks from being ten entries of one franchise.
"""

from dataclasses import dataclass

import numpy as np

SIGNALS = ("prediction", "affinity", "prior")
PROFILE_TITLES = 100  # a user's most telling ratings; the cost stays bounded whatever the history
MEAN_PRIOR = 3  # a user's mean is damped toward the global mean by this many ratings
BECAUSE = 3  # titles named as the reason for a pick
MMR_LAMBDA = 0.7  # relevance against novelty in the diversity step
MMR_POOL = 5  # the diversity step chooses among n x this many of the best titles
MMR_POOL_MAX = 200  # ... and never more than this many (its cost grows with the square)


@dataclass(frozen=True)
class Neighbours:
    """Each title's nearest titles by content: indices (-1 pads) and cosine similarities."""

    items: np.ndarray  # (titles, k) int32
    scores: np.ndarray  # (titles, k) float32

    def among(self, titles: np.ndarray) -> np.ndarray:
        """The similarity of every pair of `titles` (distinct), from the neighbour lists: 0 for
        a pair where neither is in the other's list, which are the dissimilar ones."""
        slot = np.full(len(self.items) + 1, -1)  # the extra last slot catches the -1 pads
        slot[titles] = np.arange(len(titles))
        rows = self.items[titles]
        columns = slot[rows]
        found = columns >= 0
        matrix = np.zeros((len(titles), len(titles)))
        r = np.broadcast_to(np.arange(len(titles))[:, None], rows.shape)[found]
        matrix[r, columns[found]] = self.scores[titles][found]
        return np.maximum(matrix, matrix.T)


@dataclass(frozen=True)
class Profile:
    """The titles that speak for a user's taste, and how much: rating minus the user's mean."""

    items: np.ndarray  # int
    weights: np.ndarray  # float

    @classmethod
    def of(cls, items: np.ndarray, ratings: np.ndarray, global_mean: float) -> "Profile":
        mean = (ratings.sum() + MEAN_PRIOR * global_mean) / (len(ratings) + MEAN_PRIOR)
        weights = ratings - mean
        if len(items) > PROFILE_TITLES:
            # The most telling ones: farthest from the mean, ties to the lower title index.
            keep = np.lexsort((items, -np.abs(weights)))[:PROFILE_TITLES]
            items, weights = items[keep], weights[keep]
        return cls(np.asarray(items), np.asarray(weights, dtype=np.float64))


def affinity(profile: Profile, neighbours: Neighbours, n_titles: int):
    """Every title's affinity to the profile (similarity-weighted, normalised by the weights),
    and the contributions behind it: (affinity, source titles, target titles, amounts)."""
    total = np.abs(profile.weights).sum()
    if len(profile.items) == 0 or total == 0:
        empty = np.empty(0, dtype=np.int64)
        return np.zeros(n_titles), empty, empty, np.empty(0)
    targets = neighbours.items[profile.items]  # (profile, k)
    amounts = profile.weights[:, None] * neighbours.scores[profile.items] / total
    sources = np.broadcast_to(profile.items[:, None], targets.shape)
    real = targets >= 0
    sources, targets, amounts = sources[real], targets[real], amounts[real]
    scores = np.bincount(targets, weights=amounts, minlength=n_titles)
    return scores, sources, targets, amounts


def standardise(values: np.ndarray) -> np.ndarray:
    """In standard deviations from the mean over the catalogue; 0 when the signal is flat."""
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def blend(weights: dict[str, float], **signals: np.ndarray) -> np.ndarray:
    """The weighted sum of the standardised signals (a signal without weight is skipped)."""
    total = np.zeros(len(next(iter(signals.values()))))
    for name, values in signals.items():
        if weights.get(name, 0.0):
            total += weights[name] * standardise(values)
    return total


def best_per_work(order: np.ndarray, work: np.ndarray) -> np.ndarray:
    """`order` (title indices, best first) without a second copy of any work."""
    _, first = np.unique(work[order], return_index=True)
    return order[np.sort(first)]


def ranked(scores: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The candidates, best score first, equal scores by title index."""
    return candidates[np.lexsort((candidates, -scores[candidates]))]


def shortlist(scores: np.ndarray, allowed: np.ndarray, work: np.ndarray, size: int) -> np.ndarray:
    """The `size` best allowed titles, one copy per work, best first, ties by index."""
    candidates = np.flatnonzero(allowed)
    pool = min(len(candidates), max(4 * size, size + 50))
    while True:
        if pool < len(candidates):
            nth = -np.partition(-scores[candidates], pool - 1)[pool - 1]
            chosen = candidates[scores[candidates] >= nth]  # ties with the cut stay in
        else:
            chosen = candidates
        best = best_per_work(ranked(scores, chosen), work)
        if len(best) >= size or len(chosen) == len(candidates):
            return best[:size]
        pool *= 4  # copies took the places: look further down


def diversify(order: np.ndarray, scores: np.ndarray, neighbours: Neighbours, n: int) -> np.ndarray:
    """Maximal marginal relevance over `order` (best first): each next pick is the best trade
    of its score against its similarity to the picks so far."""
    if len(order) <= 1 or n <= 1:
        return order[:n]
    relevance = scores[order]
    span = relevance.max() - relevance.min()
    relevance = (relevance - relevance.min()) / span if span > 0 else np.ones(len(order))
    similar = neighbours.among(order)
    picked = [0]
    closest = similar[0].copy()
    remaining = np.ones(len(order), dtype=bool)
    remaining[0] = False
    while len(picked) < min(n, len(order)):
        gain = np.where(remaining, MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * closest, -np.inf)
        k = int(np.argmax(gain))  # the first of equal gains: the better-ranked one
        picked.append(k)
        remaining[k] = False
        closest = np.maximum(closest, similar[k])
    return order[picked]


def because(picks: np.ndarray, sources, targets, amounts) -> list[list[int]]:
    """For each pick, up to BECAUSE titles of the profile that pulled it up the most."""
    reasons = []
    for pick in picks:
        mine = (targets == pick) & (amounts > 0)
        top = np.lexsort((sources[mine], -amounts[mine]))[:BECAUSE]
        reasons.append(sources[mine][top].tolist())
    return reasons
