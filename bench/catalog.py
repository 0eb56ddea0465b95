"""Latency and throughput of the catalog over real HTTP on loopback, with the seed's way
(a pandas DataFrame filtered on every request) measured in the same run.

    python -m bench.catalog [--database-url URL] [--data DIR] [--seconds 5]

--database-url must hold the full loaded data set; without it the real data is loaded into a
private embedded server first (about 30 s). Needs wrk (apt-get install wrk). Latency is measured
with one connection (p50, p99); requests/s with 8 connections.
"""

import tempfile
from pathlib import Path

from bench.data import arguments, loaded_database
from bench.wrk import wrk
from common.proc import Service, free_port

QUERIES = {
    "get_max_duration": "/get_max_duration?year=2019&platform=hulu&duration_type=min",
    "get_score_count": "/get_score_count?platform=netflix&scored=3.5&year=2020",
    "get_count_platform": "/get_count_platform?platform=amazon",
    "get_actor": "/get_actor?platform=netflix&year=2019",
}
BROWSING = {
    "titles/{id}": "/titles/ns1",
    "titles?ids= (100 ids)": "/titles?ids=" + ",".join(f"ns{i}" for i in range(1, 101)),
    "titles?q= (search)": "/titles?q=love&platform=netflix&sort=score",
}
TARGET_P50_MS = 2.0


def measure(url: str, seconds: int) -> tuple[float, float, float, int]:
    latency = wrk(url, seconds=seconds, connections=1, threads=1)
    throughput = wrk(url, seconds=seconds, connections=8, threads=2)
    return (
        latency.p50_ms,
        latency.p99_ms,
        throughput.requests_per_s,
        latency.errors + throughput.errors,
    )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], model=False)
    args = parser.parse_args()

    with (
        loaded_database(args.database_url, args.data) as url,
        tempfile.TemporaryDirectory() as logs,
    ):
        env, seed_port = {"DATABASE_URL": url}, free_port()
        ours = Service("catalog", ["services.catalog"], free_port(), env, Path(logs))
        seed = Service(
            "seed",
            ["uvicorn", "bench.seed_app:app", "--port", str(seed_port), "--log-level", "warning"],
            seed_port,
            env,
            Path(logs),
        )
        try:
            ours.start().wait()
            seed.start().wait(timeout=120)
            report(ours.url, seed.url, args.seconds)
        finally:
            ours.stop()
            seed.stop()


def report(ours: str, seed: str, seconds: int) -> None:
    header = f"{'route':<24} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}"
    print(f"{header} | seed p50 ms  seed/ours")
    for name, path in QUERIES.items():
        p50, p99, rate, errors = measure(ours + path, seconds)
        # The seed's latency only: its throughput is not compared, so it is not measured.
        seed_p50 = wrk(seed + path, seconds=seconds, connections=1, threads=1).p50_ms
        verdict = "" if p50 <= TARGET_P50_MS else "  OVER TARGET"
        print(
            f"{name:<24} {p50:7.2f} {p99:7.2f} {rate:7.0f} {errors:6d} | {seed_p50:11.2f}"
            f"  {seed_p50 / p50:8.1f}x{verdict}"
        )
    for name, path in BROWSING.items():
        p50, p99, rate, errors = measure(ours + path, seconds)
        print(f"{name:<24} {p50:7.2f} {p99:7.2f} {rate:7.0f} {errors:6d} |")
    print(f"target: p50 <= {TARGET_P50_MS} ms for each of the four queries (one connection)")


if __name__ == "__main__":
    main()
