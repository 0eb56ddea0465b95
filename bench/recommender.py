"""Latency of the recommender over real HTTP on loopback; in the same run, in process, the
similar titles and picks as served before the content model (the rating factors' neighbours, and
the rating model's top 10), and a top-10 done the seed's way (a loop of surprise's predict over
every title); and what the content model costs the trainer and the artifact.

    python -m bench.recommender [--database-url URL --model-dir DIR] [--data DIR] [--seconds 5]

Without --database-url/--model-dir the real data is loaded into a private embedded server and
a model is trained on it first (about 4 minutes). Needs wrk (apt-get install wrk). Each route is
measured with one connection over 1,000 random known users or titles (p50, p99) and with 8
connections (requests/s). Ratings posted by the benchmark are deleted afterwards.
"""

import json
import statistics
import time
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from surprise import SVD, Trainset

from bench.data import arguments, prepared
from bench.wrk import lua_script, wrk
from common.db import engine_at
from common.proc import Service, free_port
from services.recommender import ranking
from services.recommender.model import Model, current_version, load

BENCH_USERS = 2_000_000_000  # ratings posted here are the benchmark's own, deleted afterwards
TARGETS_MS = {"predict": 1.0, "top-10": 3.0, "similar": 1.0}
TARGET_MODEL_MB = 300
TARGET_CONTENT_S = 30


def as_surprise(model: Model) -> SVD:
    """surprise's own SVD object holding the artifact's arrays: what the seed would call."""
    trainset = Trainset(
        {u: [] for u in range(len(model.user_ids))},
        {i: [] for i in range(len(model.item_ids))},
        len(model.user_ids),
        len(model.item_ids),
        0,
        tuple(model.rating_scale),
        {int(raw): k for k, raw in enumerate(model.user_ids)},
        {str(raw): k for k, raw in enumerate(model.item_ids)},
    )
    trainset._global_mean = model.global_mean
    algo = SVD(n_factors=model.user_factors.shape[1])
    algo.trainset = trainset
    algo.bu, algo.bi = model.user_bias, model.item_bias
    algo.pu, algo.qi = model.user_factors, model.item_factors
    return algo


def seed_top10_ms(model: Model, users: list[int]) -> float:
    algo, titles = as_surprise(model), [str(t) for t in model.item_ids]
    times = []
    for user in users:
        started = time.perf_counter()
        predictions = [algo.predict(user, title) for title in titles]
        sorted(predictions, key=lambda p: p.est, reverse=True)[:10]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def median_ms(run, arguments: list) -> float:
    times = []
    for argument in arguments:
        started = time.perf_counter()
        run(argument)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def in_process(model: Model) -> None:
    """The served lists against the lists served before, on the same titles and users."""
    rng = np.random.default_rng(2)
    titles = rng.choice(len(model.item_ids), 1000).tolist()
    users = rng.choice(len(model.user_ids), 300).tolist()
    none = np.empty(0, dtype=np.int64)

    def factor_neighbours(item: int) -> None:  # what /similar served before the content model
        allowed = np.arange(len(model.item_ids)) != item
        ranking.shortlist(model.factor_similarity(item), allowed, model.item_work, 10)

    def rating_top10(user: int) -> None:  # what /recommendations served before
        allowed = np.ones(len(model.item_ids), dtype=bool)
        allowed[model.seen(user)] = False
        ranking.shortlist(model.user_scores(user), allowed, model.item_work, 10)

    def picks(user: int) -> None:
        model.recommend(
            user,
            extra_items=none,
            extra_ratings=np.empty(0),
            n=10,
            allowed=None,
            exclude_seen=True,
        )

    rows = [
        (
            "similar: content model (served)",
            median_ms(lambda i: model.similar(i, 10, None), titles),
        ),
        ("similar: rating factors (before)", median_ms(factor_neighbours, titles)),
        ("top-10: the blend (served)", median_ms(picks, users)),
        ("top-10: rating model (before)", median_ms(rating_top10, users)),
    ]
    print("\nin process, no HTTP (median over 1,000 titles / 300 users):")
    for label, value in rows:
        print(f"  {label:<36} {value:6.3f} ms")


def costs(model: Model, model_dir: Path) -> None:
    """The content model's share of the training run (the trainer's own clock) and of the files."""
    timings = model.metadata["timings_s"]
    content_s = sum(timings.get(k, 0.0) for k in ("content", "ranking", "lists"))
    folder = model_dir / (current_version(model_dir) or model.version)
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    content_mb = (
        sum(
            f.stat().st_size
            for f in folder.iterdir()
            if f.name.startswith(("content_", "neighbour_"))
        )
        / 2**20
    )
    verdict = "met" if content_s <= TARGET_CONTENT_S else "MISSED"
    print(
        f"\ntraining: {timings['total']:.0f} s in all, of which the content model "
        f"{content_s:.0f} s "
        f"(content {timings.get('content', 0):.1f}, ranking {timings.get('ranking', 0):.1f}, "
        f"lists {timings.get('lists', 0):.1f}; target <= {TARGET_CONTENT_S} s: {verdict}); "
        f"peak memory {model.metadata['peak_rss_mb'] / 1024:.2f} GB"
    )
    verdict = "met" if size_mb <= TARGET_MODEL_MB else "MISSED"
    print(
        f"model files: {size_mb:.0f} MB (content vectors and neighbours {content_mb:.0f} MB; "
        f"target <= {TARGET_MODEL_MB} MB: {verdict})"
    )


def scripts_for(
    model: Model, folder: Path, headers: dict[str, str] | None = None
) -> dict[str, Path]:
    """wrk scripts over 1,000 random known users and titles, one per route, each request with
    `headers`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    users = [int(u) for u in rng.choice(model.user_ids, 1000)]
    titles = [str(t) for t in rng.choice(model.item_ids, 1000)]
    pairs = zip(users, titles, strict=True)
    posts = [
        json.dumps({"user_id": BENCH_USERS + k, "title_id": t, "rating": 4.0})
        for k, t in enumerate(titles)
    ]
    return {
        "predict": lua_script(
            folder,
            "predict",
            [("GET", f"/predict?user_id={u}&title_id={t}", None) for u, t in pairs],
            headers,
        ),
        "top-10": lua_script(
            folder,
            "top",
            [("GET", f"/users/{u}/recommendations?n=10", None) for u in users],
            headers,
        ),
        "similar": lua_script(
            folder,
            "similar",
            [("GET", f"/titles/{t}/similar?n=10", None) for t in titles],
            headers,
        ),
        "POST /ratings": lua_script(
            folder, "post", [("POST", "/ratings", body) for body in posts], headers
        ),
    }


def measure(url: str, scripts: dict[str, Path], seconds: int) -> dict[str, float]:
    print(f"{'route':<16} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}")
    p50s = {}
    for name, script in scripts.items():
        latency = wrk(url, seconds=seconds, script=script)
        busy = wrk(url, seconds=seconds, connections=8, threads=2, script=script)
        p50s[name] = latency.p50_ms
        verdict = ""
        if name in TARGETS_MS:
            met = "met" if latency.p50_ms <= TARGETS_MS[name] else "MISSED"
            verdict = f"  target p50 <= {TARGETS_MS[name]:.0f} ms: {met}"
        errors = latency.errors + busy.errors
        print(
            f"{name:<16} {latency.p50_ms:7.2f} {latency.p99_ms:7.2f} {busy.requests_per_s:7.0f}"
            f" {errors:6d}{verdict}"
        )
    return p50s


HEAVY_USER = BENCH_USERS - 1  # rates every title of the catalogue through the API


def heavy_user_ms(url: str, service_url: str) -> tuple[int, float]:
    """A user with an API rating of every title (the most one-per-title allows): how many, and
    the median time of their top-10 over HTTP; the cost must stay bounded."""
    with engine_at(url, application_name="bench") as engine, engine.begin() as conn:
        rated = conn.execute(
            sa.text(
                "INSERT INTO ratings (source, user_id, title_id, rating, rated_at)"
                " SELECT 'api', :user, id, 0.5 + (abs(hashtext(id)) % 10) / 2.0, now()"
                " FROM titles"
            ),
            {"user": HEAVY_USER},
        ).rowcount
    times = []
    with httpx.Client(base_url=service_url) as client:
        for _ in range(60):
            started = time.perf_counter()
            client.get(f"/users/{HEAVY_USER}/recommendations", params={"n": 10}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return rated, statistics.median(times[10:])


def delete_bench_ratings(url: str) -> None:
    with engine_at(url, application_name="bench") as engine, engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM ratings WHERE source = 'api' AND user_id >= :first"),
            {"first": HEAVY_USER},
        )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], seconds=5)
    args = parser.parse_args()

    with prepared(args) as (url, model_dir, scratch):
        model = load(model_dir)
        print(
            f"model {model.version}: {len(model.user_ids):,} users, {len(model.item_ids):,} "
            f"titles, {model.user_factors.shape[1]} factors"
        )
        env = {"DATABASE_URL": url, "MODEL_DIR": str(model_dir)}
        service = Service("recommender", ["services.recommender"], free_port(), env, scratch)
        try:
            service.start().wait(timeout=120)
            p50s = measure(service.url, scripts_for(model, scratch), args.seconds)
            rated, heavy = heavy_user_ms(url, service.url)
            print(
                f"top-10 for a user with {rated:,} API ratings (every title): {heavy:.2f} ms "
                f"median = {heavy / p50s['top-10']:.1f}x a random user's p50"
            )
        finally:
            service.stop()
            delete_bench_ratings(url)
        in_process(model)
        costs(model, model_dir)
        users = [int(u) for u in np.random.default_rng(1).choice(model.user_ids, 20)]
        seed = seed_top10_ms(model, users)
        print(
            f"top-10 the seed's way (surprise predict over {len(model.item_ids):,} titles, in"
            f" process, no HTTP): {seed:.1f} ms median = {seed / p50s['top-10']:.0f}x the"
            " service's p50 over HTTP"
        )


if __name__ == "__main__":
    main()
