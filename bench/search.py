"""Search and suggestions over HTTP on the full data set, with the catalog's previous search
(a substring of the title, bench/substring_app.py) measured in the same run; then the two typo
engines on misspelt real titles.

    python -m bench.search [--database-url URL] [--data DIR] [--seconds 5]

--database-url must hold the full loaded data set; without it the real data is loaded into a
private embedded server first (about a minute). Needs wrk (apt-get install wrk). The searches
are the 64 queries of tests/search_relevance.json, the suggestions their first 2, 3, 5 and 8
characters, each request drawn at random. Latency with one connection (p50, p99); requests/s
with 8 connections.
"""

import json
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from bench.data import arguments, loaded_database
from bench.wrk import lua_script, wrk
from common.db import engine_at
from common.files import PROJECT_ROOT
from common.proc import Service, free_port
from services.catalog.typos import Typos

RELEVANCE = PROJECT_ROOT / "tests" / "search_relevance.json"
TARGETS_MS = {"search": 5.0, "suggest": 2.0}
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def misspell(text: str, edits: int, rng: random.Random) -> str:
    """`text` with `edits` letters inserted, deleted or replaced, at random."""
    chars = list(text)
    for _ in range(edits):
        at = rng.choice([i for i, c in enumerate(chars) if c.isalpha()])
        kind = rng.choice("idr")
        if kind == "i":
            chars.insert(at, rng.choice(LETTERS))
        elif kind == "d":
            del chars[at]
        else:
            chars[at] = rng.choice(LETTERS.replace(chars[at], ""))
    return "".join(chars)


def workloads() -> dict[str, list[str]]:
    queries = [j["query"] for j in json.loads(RELEVANCE.read_text())["queries"]]
    prefixes = sorted({q[:n] for q in queries for n in (2, 3, 5, 8) if len(q) >= n})
    return {
        "search": [f"/titles?{urlencode({'q': q})}" for q in queries],
        "suggest": [f"/titles/suggest?{urlencode({'q': p})}" for p in prefixes],
    }


def measure(base: str, script: Path, seconds: int) -> tuple[float, float, float, int]:
    latency = wrk(base, seconds=seconds, script=script)
    busy = wrk(base, seconds=seconds, connections=8, threads=2, script=script)
    return latency.p50_ms, latency.p99_ms, busy.requests_per_s, latency.errors + busy.errors


def http(url: str, seconds: int, folder: Path) -> None:
    env, ours_port, base_port = {"DATABASE_URL": url}, free_port(), free_port()
    ours = Service("catalog", ["services.catalog"], ours_port, env, folder)
    baseline = Service(
        "substring",
        ["uvicorn", "bench.substring_app:app", "--port", str(base_port), "--log-level", "warning"],
        base_port,
        env,
        folder,
    )
    try:
        ours.start().wait()
        baseline.start().wait()
        work = workloads()
        scripts = {
            name: lua_script(folder, name, [("GET", path, None) for path in paths])
            for name, paths in work.items()
        }
        print(f"{'route':<32} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}")
        # The machine is shared: a route whose cost is known shows how loaded it is now.
        reference = wrk(ours.url + "/get_count_platform?platform=amazon", seconds=seconds)
        print(
            f"{'reference /get_count_platform':<32} {reference.p50_ms:7.2f} {reference.p99_ms:7.2f}"
        )
        rows = [
            ("search   /titles?q= (full text)", ours.url, scripts["search"], "search"),
            ("search   /titles?q= (substring)", baseline.url, scripts["search"], None),
            ("suggest  /titles/suggest", ours.url, scripts["suggest"], "suggest"),
        ]
        for label, base, script, target in rows:
            p50, p99, rate, errors = measure(base, script, seconds)
            verdict = ""
            if target and p50 > TARGETS_MS[target]:
                verdict = f"  OVER the {TARGETS_MS[target]} ms target"
            print(f"{label:<32} {p50:7.2f} {p99:7.2f} {rate:7.0f} {errors:6d}{verdict}")
        print(
            f"{len(work['search'])} searches, {len(work['suggest'])} prefixes; targets: search p50"
            f" <= {TARGETS_MS['search']} ms, suggest p50 <= {TARGETS_MS['suggest']} ms"
        )
    finally:
        ours.stop()
        baseline.stop()


def typo_engines(url: str, cases_per_edit: int = 200) -> None:
    """Each engine's share of misspelt titles (6+ letters) it puts among its first ten."""
    rng = random.Random(7)
    with engine_at(url, application_name="bench") as engine, engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, search_title FROM titles ORDER BY id").all()
        (load_id,) = conn.exec_driver_sql("SELECT max(id) FROM loads").one()
        same = defaultdict(set)
        for title_id, key in rows:
            same[key].add(title_id)
        eligible = [key for _, key in rows if sum(c.isalpha() for c in key) >= 6]
        trigrams = conn.exec_driver_sql(
            "SELECT to_regclass('ix_titles_search_title_trgm') IS NOT NULL"
        ).scalar()
        typos = Typos()
        engines = {"rapidfuzz": lambda k: typos.by_ratio(conn, k, load_id=load_id)}
        if trigrams:
            engines["pg_trgm"] = lambda k: Typos.by_trigrams(conn, k)
        print(f"\n{'typo engine':<12} {'letters':>7} {'found':>7} {'p50 ms':>7} {'p99 ms':>7}")
        for edits in (1, 2):
            cases = [(misspell(k, edits, rng), k) for k in rng.sample(eligible, cases_per_edit)]
            for name, similar in engines.items():
                similar(cases[0][0])  # rapidfuzz reads the titles on its first call
                hits, times = 0, []
                for typo, key in cases:
                    started = time.perf_counter()
                    found = similar(typo)[:10]
                    times.append((time.perf_counter() - started) * 1000)
                    hits += bool(same[key] & set(found))
                times.sort()
                print(
                    f"{name:<12} {edits:7d} {hits / len(cases):7.1%}"
                    f" {statistics.median(times):7.2f} {times[int(len(times) * 0.99)]:7.2f}"
                )
            conn.rollback()
        if not trigrams:
            print("(this server has no pg_trgm: rapidfuzz only)")


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], model=False)
    args = parser.parse_args()
    with loaded_database(args.database_url, args.data) as url, tempfile.TemporaryDirectory() as f:
        http(url, args.seconds, Path(f))
        typo_engines(url)


if __name__ == "__main__":
    main()
