"""Drive the gateway with a realistic mix: 60% recommendations, 20% predictions, 20% catalogue
queries, and report requests/s, p50, p99 and errors.

    python -m bench.load_test [--database-url URL --model-dir DIR] [--seconds 60]
                              [--connections 32] [--sweep | --workers 1/1/2,2/2/2] [--rounds 3]

A closed loop: `--connections` clients each send their next request when the last one is
answered, so the load is bounded by the system itself and never piles up unanswered. With
--sweep (or several --workers), worker counts per service (catalog/recommender/gateway) are
compared in interleaved rounds of 20 s; the one with the best median is then run for the full
time. Results go to test-artifacts/reliability/load.json, from which docs/reliability.md is
written (python -m bench.reliability). Needs wrk.
"""

import json
import secrets
import statistics
from pathlib import Path

import numpy as np

from bench.data import arguments, prepared
from bench.reliability import SOURCE
from bench.wrk import lua_script, wrk
from common.proc import Stack
from contracts.auth import claims, sign
from services.recommender.model import load

RESULTS = SOURCE / "load.json"
AUTH_SECRET = secrets.token_urlsafe(32)
BENCH_CLAIMS = claims("load-test", ttl_s=24 * 3600, service=True)
SERVICES = ("catalog", "recommender", "gateway")
SWEEP = ["1/1/1", "1/2/1", "1/1/2", "1/2/2", "2/1/2", "2/2/2", "2/2/3"]
PLATFORMS = ["amazon", "disney", "hulu", "netflix"]
CATALOGUE = [
    "/get_max_duration?year={y}&platform={p}&duration_type=min",
    "/get_score_count?platform={p}&scored=3.5&year={y}",
    "/get_count_platform?platform={p}",
    "/get_actor?platform=netflix&year={y}",
]


def mix(model, rng: np.random.Generator, size: int = 2000) -> list[tuple[str, str, None]]:
    """The requests, drawn in the 60/20/20 proportions."""
    users = rng.choice(model.user_ids, size)
    titles = rng.choice(model.item_ids, size)
    requests = []
    for k in range(size):
        draw = rng.random()
        if draw < 0.6:
            path = f"/users/{users[k]}/recommendations?n=10"
        elif draw < 0.8:
            path = f"/predict?user_id={users[k]}&title_id={titles[k]}"
        else:
            year = int(rng.integers(2010, 2022))
            path = CATALOGUE[k % len(CATALOGUE)].format(y=year, p=PLATFORMS[k % 4])
        requests.append(("GET", path, None))
    return requests


def run(
    url: str,
    model_dir: Path,
    script: Path,
    workers: str,
    seconds: int,
    connections: int,
    logs: Path,
) -> dict:
    counts = dict(zip(SERVICES, workers.split("/"), strict=True))
    env = {name: {"WORKERS": count, "LOG_LEVEL": "WARNING"} for name, count in counts.items()}
    stack = Stack(url, model_dir, logs, env=env, auth_secret=AUTH_SECRET).start()
    try:
        result = wrk(stack.url, seconds=seconds, connections=connections, threads=2, script=script)
    finally:
        stack.stop()
    outcome = {
        "workers": workers,
        "seconds": seconds,
        "connections": connections,
        "requests_per_s": round(result.requests_per_s, 1),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "errors": result.errors,
    }
    print(
        f"workers {workers} (catalog/recommender/gateway): {outcome['requests_per_s']:7.1f} req/s,"
        f" p50 {outcome['p50_ms']:.1f} ms, p99 {outcome['p99_ms']:.1f} ms,"
        f" errors {outcome['errors']} ({seconds} s, {connections} connections)",
        flush=True,
    )
    return outcome


def median_rate(runs: list[dict], workers: str) -> float:
    """Median requests/s of a worker count's runs; 0 if any of them had an error."""
    mine = [r for r in runs if r["workers"] == workers]
    if not mine or any(r["errors"] for r in mine):
        return 0.0
    return statistics.median(r["requests_per_s"] for r in mine)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], seconds=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sweep", action="store_true", help="compare the usual worker counts")
    parser.add_argument(
        "--workers", default="1/1/2", help="e.g. 1/1/2,2/2/2 (catalog/recommender/gateway)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="comparison runs per worker count")
    args = parser.parse_args()
    candidates = SWEEP if args.sweep else args.workers.split(",")

    with prepared(args) as (url, model_dir, scratch):
        # As a trusted back-end: the mix asks for many users; the per-user limits still count.
        script = lua_script(
            scratch,
            "mix",
            mix(load(model_dir), np.random.default_rng(0)),
            {"Authorization": f"Bearer {sign(AUTH_SECRET, 'HS256', BENCH_CLAIMS)}"},
        )
        comparison = []
        if len(candidates) > 1:
            # Interleaved, so that drift in the machine's speed hits every candidate alike.
            for _ in range(args.rounds):
                for workers in candidates:
                    comparison.append(
                        run(url, model_dir, script, workers, 20, args.connections, scratch)
                    )
        medians = {w: median_rate(comparison, w) for w in candidates} if comparison else {}
        best = max(medians, key=medians.get) if medians else candidates[0]
        final = run(url, model_dir, script, best, args.seconds, args.connections, scratch)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "mix": "60% recommendations, 20% predictions, 20% catalogue queries",
        "comparison": comparison,
        "median_requests_per_s": medians,
        "final": final,
    }
    RESULTS.write_text(json.dumps(record, indent=2))
    print(f"best median: {best}; written to {RESULTS}")


if __name__ == "__main__":
    main()
