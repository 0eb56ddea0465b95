"""python -m bench.reliability: write docs/reliability.md from what the reliability tests and
the load test recorded in test-artifacts/reliability/ (fuzz.json, hostile.json, faults.json,
load.json). Run the tests and `python -m bench.load_test` first."""

import json
from datetime import UTC, datetime

from common.files import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "test-artifacts" / "reliability"
OUT = PROJECT_ROOT / "docs" / "reliability.md"


def read(name: str) -> dict | None:
    path = SOURCE / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def section(title: str, body: list[str] | None, missing: str) -> list[str]:
    return [
        f"## {title}",
        "",
        *(body if body is not None else [f"Not recorded yet: {missing}."]),
        "",
    ]


def fuzzing(fuzz: dict | None, hostile: dict | None) -> list[str] | None:
    if fuzz is None or hostile is None:
        return None
    cases = fuzz["cases"]
    lines = [
        f"- **Schemathesis**, in process against each service's own OpenAPI schema "
        f"(`tests/test_fuzz.py`, up to {fuzz['examples_per_operation']} cases per operation): "
        + ", ".join(f"{n:,} cases on the {s}" for s, n in sorted(cases.items()))
        + f" ({sum(cases.values()):,} in all). Checked: no 5xx, and status code, content type, "
        "headers and body conform to the schema. Held: every case.",
        f"- **Hostile strings** (`tests/test_hostile.py`): {hostile['payloads']} payloads (SQL "
        "injection, NUL bytes, 10,000-character strings, bidirectional and zero-width and "
        "full-width characters, emoji, huge and non-finite numbers, path traversal) in every "
        "parameter and body field of every route: "
        + ", ".join(f"{n:,} requests to the {s}" for s, n in sorted(hostile["requests"].items()))
        + ". Held: never a 5xx; a 4xx wherever the value is not legal (a hostile search term is "
        "searched for, literally, and finds nothing); the tables' contents identical afterwards.",
        "- **Cleaning functions** (`tests/test_clean_properties.py`, Hypothesis): the duration, "
        "date, cast and id functions never crash and round-trip the source's own spelling. "
        "They found two real bugs, now fixed: a year before 1000 did not round-trip, and '¼' "
        "passed as an actor's name.",
        "- **Bad files** (`tests/test_loader_cli.py`): a truncated gzip, undecodable bytes, a "
        "missing or extra column, a 0-byte file, a missing catalogue: one line naming the file "
        "(and line), exit code 1, the database unchanged. A tampered or pickle-carrying model "
        "artifact is refused (`tests/test_recommender_model.py`).",
    ]
    return lines


def faults(data: dict | None) -> list[str] | None:
    if data is None:
        return None
    lines = []
    if stopped := data.get("postgres_stopped"):
        lines.append(
            f"- **PostgreSQL stopped** (`pg_ctl stop`) under the running services: the catalog "
            f"answered 503 in {stopped['catalog_503_within_s']} s, readiness turned false in all "
            "three, predictions for known ids went on from memory, and after `pg_ctl start` "
            "everything recovered with no restart."
        )
    if slow := data.get("slow_downstream"):
        lines.append(
            f"- **A slow recommender** (a proxy holding every connection 5 s): "
            f"{slow['concurrent_slow_requests']} concurrent recommendation requests all got a "
            f"503 by the gateway's clock within {slow['gateway_slowest_503_ms'] / 1000:.2f} s "
            f"(median {slow['callers_median_s']} s as the callers saw it), and a catalogue "
            f"query sent meanwhile took {slow['catalogue_answer_meanwhile_s'] * 1000:.0f} ms: "
            "nothing waited on the stuck service."
        )
    if killed := data.get("recommender_killed"):
        lines.append(
            f"- **Recommender killed** (SIGKILL): the catalogue kept working; predictions, "
            f"recommendations, similar titles and posted ratings answered 503 within "
            f"{killed['slowest_503_s']} s; the gateway was ready again once it was restarted."
        )
    if killed := data.get("catalog_killed"):
        lines.append(
            f"- **Catalog killed** (SIGKILL): recommendations kept coming, {killed['items']} per "
            "request with ids and scores and `degraded: true`; catalogue routes answered 503 "
            f"within {killed['catalogue_503_s']} s; title cards came back once it was restarted."
        )
    if killed := data.get("loader_killed"):
        points = ", ".join(killed["points"])
        lines.append(
            f"- **The loader killed** (SIGKILL) at {len(killed['points'])} points: {points}. "
            "Each time the previous data set was complete and queryable (every table's digest "
            "unchanged, no staging left); a full load then succeeded."
        )
    if swap := data.get("model_swap_under_load"):
        lines.append(
            f"- **A new model written under load**: {swap['requests']:,} requests from 8 clients "
            f"while two new versions went live; {swap['failed']} failed, and every answer named "
            f"a complete version ({swap['versions_served']} served)."
        )
    if ratings := data.get("concurrent_ratings"):
        lines.append(
            f"- **POST /ratings from {ratings['clients']} clients for {ratings['seconds']:.0f} s** "
            f"through the gateway: {ratings['acknowledged']:,} acknowledged (201), "
            f"{ratings['found_in_database']:,} found in the database, {ratings['lost']} lost, "
            f"{ratings['duplicated']} duplicated, {ratings['stored_without_acknowledgement']} "
            f"stored without an acknowledgement, {ratings['refused']} refused."
        )
    return lines


def load_test(data: dict | None) -> list[str] | None:
    if data is None:
        return None
    final = data["final"]
    lines = [
        f"`python -m bench.load_test`: {data['mix']}, a closed loop of {final['connections']} "
        "connections through the gateway on loopback, over the full data set and model, on "
        "this 2-core machine (wrk, PostgreSQL and all three services share it).",
        "",
    ]
    if data["comparison"]:
        lines += [
            "Uvicorn workers per service (catalog / recommender / gateway), compared in "
            "interleaved 20-second runs:",
            "",
            "| workers | runs (req/s) | median req/s | p99 ms (worst run) | errors |",
            "|---|---|---|---|---|",
        ]
        for workers, median in data["median_requests_per_s"].items():
            runs = [r for r in data["comparison"] if r["workers"] == workers]
            rates = ", ".join(f"{r['requests_per_s']:.0f}" for r in runs)
            worst = max(r["p99_ms"] for r in runs)
            errors = sum(r["errors"] for r in runs)
            lines.append(f"| {workers} | {rates} | {median:.0f} | {worst:.0f} | {errors} |")
        lines.append("")
    lines.append(
        f"Sustained with {final['workers']} workers: **{final['requests_per_s']:.0f} requests/s "
        f"for {final['seconds']} s with {final['errors']} errors** (p50 {final['p50_ms']:.0f} "
        f"ms, p99 {final['p99_ms']:.0f} ms)."
    )
    return lines


def main() -> None:
    lines = [
        "# Reliability report",
        "",
        f"Written by `python -m bench.reliability` on {datetime.now(UTC):%Y-%m-%d} from the "
        "records of the test suite and the load test (`test-artifacts/reliability/`). Do not "
        "edit by hand.",
        "",
        *section("Bad input", fuzzing(read("fuzz"), read("hostile")), "run the test suite"),
        *section("Faults, injected for real", faults(read("faults")), "run the test suite"),
        *section("Load", load_test(read("load")), "run python -m bench.load_test"),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
