"""Statistics shared by the trainer and the insights report."""

import numpy as np


def signal(
    groups: np.ndarray, ratings: np.ndarray, *, n_groups: int, seed: int, shuffles: int = 10
) -> dict:
    """How far the spread of per-group mean ratings (per title, or per user) is from what
    the same ratings, assigned to groups at random, would give."""
    sums = np.bincount(groups, weights=ratings, minlength=n_groups)
    counts = np.bincount(groups, minlength=n_groups)
    summary, _ = random_assignment(
        sums, counts, ratings, seed=seed, shuffles=shuffles, groups=groups
    )
    return summary


def random_assignment(
    sums: np.ndarray,
    counts: np.ndarray,
    ratings: np.ndarray,
    *,
    seed: int,
    shuffles: int,
    groups: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """`signal` from each group's sum and count, and every rating in any order; also the
    group means of the first random assignment. `groups` (the group of each rating, in the
    order of `ratings`) defaults to one block per group: a random permutation makes the two
    the same experiment."""
    present = counts > 0
    if groups is None:
        groups = np.repeat(np.arange(len(counts)), counts)
    mean, variance = ratings.mean(), ratings.var()

    def spread(group_sums: np.ndarray) -> tuple[float, float, np.ndarray]:
        means = group_sums[present] / counts[present]
        between = np.average((means - mean) ** 2, weights=counts[present])
        return float(np.std(means)), float(between / variance) if variance else 0.0, means

    observed_std, observed_share, _ = spread(sums)
    rng = np.random.default_rng(seed)
    random = [
        spread(np.bincount(groups, weights=rng.permutation(ratings), minlength=len(counts)))
        for _ in range(shuffles)
    ]
    stds = np.array([std for std, _, _ in random])
    random_std = float(stds.mean())
    summary = {
        "std_of_means": observed_std,
        "random_std_of_means": random_std,
        "random_std_of_means_sd": float(stds.std()),
        "std_ratio": observed_std / random_std if random_std else None,
        "z": float((observed_std - random_std) / max(stds.std(), 1e-12)),
        "variance_explained": observed_share,
        "random_variance_explained": float(np.mean([share for _, share, _ in random])),
    }
    return summary, random[0][2]
