"""The ranking's weights, chosen on held-out ratings and recorded with the model.

For a seeded sample of users, every signal of ranking.py is computed exactly as the service
computes it, from the 90% of the ratings that the models were fitted on; the users' held-out
titles are then ranked by each blend on a grid and scored with NDCG@10 (the protocol of
evaluation.py). See RULE for how the choice is made.
"""

import itertools

import numpy as np

from services.recommender import evaluation, ranking
from services.recommender.ranking import Neighbours, Profile

USERS = 3000  # validation users (seeded sample)
GRID_STEP = 0.25
FACTOR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
TITLE_SIGNAL_Z = 3.0  # the signal check's z below which the ratings say nothing about titles
DEFAULT_WEIGHTS = {"prediction": 0.25, "affinity": 0.5, "prior": 0.25}  # no validation run
RULE = (
    "Among the blends no worse than the best by more than one standard error of the paired "
    "per-user difference in NDCG@10, the one that leans most on content affinity (a pick whose "
    "reason a person can read), then on the rating model. The weight of the rating factors in "
    "similar titles is chosen the same way, the smaller weight first, and is 0 whenever the "
    "signal check finds no title signal. When the ratings carry no per-title signal, every "
    "blend scores within noise of every other, and this rule is what decides."
)


def unvalidated() -> dict:
    """The ranking of a model trained without evaluation (--skip-evaluation): the defaults."""
    return {
        "weights": DEFAULT_WEIGHTS,
        "similar_factor_weight": 0.0,
        "similar_factor_weight_reason": "no validation ran (--skip-evaluation): content alone",
        "validation": None,
    }


def weight_grid(step: float = GRID_STEP) -> list[dict[str, float]]:
    """Every blend of the three signals with weights in steps of `step`, summing to 1."""
    units = round(1 / step)
    return [
        {"prediction": a * step, "affinity": b * step, "prior": (units - a - b) * step}
        for a, b in itertools.product(range(units + 1), repeat=2)
        if a + b <= units
    ]


def one_se_choice(per_config: np.ndarray, preference: list[tuple]) -> tuple[int, list[dict]]:
    """The preferred configuration among those within one paired standard error of the best:
    (index, a summary row per configuration). `per_config` is (configurations, users)."""
    means = per_config.mean(axis=1)
    best = int(np.argmax(means))
    rows, eligible = [], []
    for k in range(len(per_config)):
        difference = per_config[k] - per_config[best]
        se = float(difference.std(ddof=1) / np.sqrt(len(difference))) if k != best else 0.0
        ok = bool(difference.mean() >= -se)
        rows.append(
            {
                "ndcg_at_10": float(means[k]),
                "minus_best": float(-difference.mean()),
                "se": se,
                "within_one_se": ok,
            }
        )
        if ok:
            eligible.append(k)
    chosen = max(eligible, key=lambda k: (preference[k], -k))
    return chosen, rows


def choose(
    *,
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    test_users: np.ndarray,
    test_items: np.ndarray,
    test_truth: np.ndarray,
    global_mean: float,
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    prior: np.ndarray,
    neighbours: Neighbours,
    title_signal_z: float,
    rating_scale: tuple[float, float],
    seed: int,
) -> dict:
    """The blend weights and the factor weight of similar titles (see the module docstring).
    users/items/ratings: the ratings the models were fitted on; test_*: the held-out ones."""
    n_titles = len(item_bias)
    by_user = np.argsort(users, kind="stable")
    starts = np.searchsorted(users[by_user], np.arange(len(user_bias) + 1))
    test_order = np.argsort(test_users, kind="stable")
    test_starts = np.searchsorted(test_users[test_order], np.arange(len(user_bias) + 1))
    held = np.diff(test_starts)
    candidates = np.flatnonzero((held >= 2) & (np.diff(starts) >= 1))
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(candidates, min(USERS, len(candidates)), replace=False))
    norms = np.linalg.norm(item_factors, axis=1, keepdims=True)
    unit = item_factors / np.where(norms == 0, 1, norms)
    prior_z = ranking.standardise(prior)

    rows = {"users": [], "truth": [], "prediction": [], "prior": [], "prediction_raw": []}
    mixes = {alpha: [] for alpha in FACTOR_WEIGHTS}
    for u in sample.tolist():
        mine = by_user[starts[u] : starts[u + 1]]
        test = test_order[test_starts[u] : test_starts[u + 1]]
        wanted = test_items[test]
        predicted = np.clip(
            global_mean + user_bias[u] + item_bias + item_factors @ user_factors[u], *rating_scale
        )
        profile = Profile.of(items[mine], ratings[mine], global_mean)
        content = ranking.affinity(profile, neighbours, n_titles)[0]
        total = np.abs(profile.weights).sum()
        taste = (profile.weights @ unit[profile.items]) / total if total else 0 * unit[0]
        factors = unit @ taste
        for alpha in FACTOR_WEIGHTS:
            mix = (1 - alpha) * content + alpha * factors
            mixes[alpha].append(ranking.standardise(mix)[wanted])
        rows["users"].append(np.full(len(test), u))
        rows["truth"].append(test_truth[test])
        rows["prediction"].append(ranking.standardise(predicted)[wanted])
        rows["prediction_raw"].append(predicted[wanted])
        rows["prior"].append(prior_z[wanted])
    data = {k: np.concatenate(v) for k, v in rows.items()}
    mixes = {alpha: np.concatenate(v) for alpha, v in mixes.items()}

    def scores(weights: dict[str, float], affinity: np.ndarray) -> np.ndarray:
        blended = weights["prediction"] * data["prediction"] + weights["prior"] * data["prior"]
        return blended + weights["affinity"] * affinity

    def ndcg(predicted: np.ndarray) -> np.ndarray:
        return evaluation.ndcg_per_user(data["users"], data["truth"], predicted, seed=seed)

    grid = weight_grid()
    per_blend = np.array([ndcg(scores(w, mixes[0.0])) for w in grid])
    preference = [(w["affinity"], w["prediction"]) for w in grid]
    chosen, blend_rows = one_se_choice(per_blend, preference)
    weights = grid[chosen]

    per_alpha = np.array([ndcg(scores(weights, mixes[alpha])) for alpha in FACTOR_WEIGHTS])
    alpha_k, alpha_rows = one_se_choice(per_alpha, [(-a,) for a in FACTOR_WEIGHTS])
    no_signal = title_signal_z < TITLE_SIGNAL_Z
    alpha = 0.0 if no_signal else FACTOR_WEIGHTS[alpha_k]

    served = scores(weights, mixes[alpha])
    comparison = {
        "served_blend": evaluation.ranking(data["users"], data["truth"], served, seed=seed),
        "rating_model_alone": evaluation.ranking(
            data["users"], data["truth"], data["prediction_raw"], seed=seed
        ),
    }
    return {
        "weights": weights,
        "similar_factor_weight": alpha,
        "similar_factor_weight_reason": (
            f"the signal check found no title signal (z = {title_signal_z:.2f} < "
            f"{TITLE_SIGNAL_Z:g}): similar titles come from content alone"
            if no_signal
            else "chosen on validation (one-standard-error rule, the smaller weight first)"
        ),
        "validation": {
            "users": len(sample),
            "held_out_ratings": len(data["truth"]),
            "rule": RULE,
            "blends": [{**w, **row} for w, row in zip(grid, blend_rows, strict=True)],
            "factor_weights": [
                {"similar_factor_weight": a, **row}
                for a, row in zip(FACTOR_WEIGHTS, alpha_rows, strict=True)
            ],
            "chosen_vs_rating_model": comparison,
        },
    }
