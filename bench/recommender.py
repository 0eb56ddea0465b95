"""Latency of the recommender over real HTTP on loopback, with a top-10 done the seed's way (a
loop of surprise's predict over every title) measured in the same run.

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

import numpy as np
import sqlalchemy as sa
from surprise import SVD, Trainset

from bench.data import arguments, prepared
from bench.wrk import lua_script, wrk
from common.db import engine_at
from common.proc import Service, free_port
from services.recommender.model import Model, load

BENCH_USERS = 2_000_000_000  # ratings posted here are the benchmark's own, deleted afterwards
TARGETS_MS = {"predict": 1.0, "top-10": 5.0}


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


def delete_bench_ratings(url: str) -> None:
    with engine_at(url, application_name="bench") as engine, engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM ratings WHERE source = 'api' AND user_id >= :first"),
            {"first": BENCH_USERS},
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
        finally:
            service.stop()
            delete_bench_ratings(url)
        users = [int(u) for u in np.random.default_rng(1).choice(model.user_ids, 20)]
        seed = seed_top10_ms(model, users)
        print(
            f"top-10 the seed's way (surprise predict over {len(model.item_ids):,} titles, in"
            f" process, no HTTP): {seed:.1f} ms median = {seed / p50s['top-10']:.0f}x the"
            " service's p50 over HTTP"
        )


if __name__ == "__main__":
    main()
