"""The gateway's cost: requests/s, p50 and p99 for /predict and for top-10 recommendations
through the gateway, next to the same requests sent straight to the recommender, in one run.

    python -m bench.gateway [--database-url URL --model-dir DIR] [--data DIR] [--seconds 5]

Without --database-url/--model-dir the real data is loaded into a private embedded server and
a model trained first (a few minutes). Needs wrk. Latency with one connection; throughput with
16 connections.
"""

from bench.data import arguments, prepared
from bench.recommender import scripts_for
from bench.wrk import wrk
from common.proc import Stack
from services.recommender.model import load


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], seconds=5)
    args = parser.parse_args()

    with prepared(args) as (url, model_dir, scratch):
        model = load(model_dir)
        stack = Stack(url, model_dir, scratch)
        # Through the gateway as a trusted back-end (any user); straight to the recommender with
        # the service token the gateway itself sends.
        scripts = {
            "gateway": scripts_for(model, scratch / "gateway", stack.auth("bench", service=True)),
            "recommender": scripts_for(model, scratch / "recommender", stack.internal),
        }
        routes = {"/predict": "predict", "/users/{id}/recommendations": "top-10"}
        stack.start()
        try:
            print(
                f"{'route':<30} {'via':<12} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}"
            )
            for route, name in routes.items():
                for via, base in (("gateway", stack.url), ("recommender", stack.recommender.url)):
                    script = scripts[via][name]
                    latency = wrk(base, seconds=args.seconds, script=script)
                    busy = wrk(base, seconds=args.seconds, connections=16, threads=2, script=script)
                    print(
                        f"{route:<30} {via:<12} {latency.p50_ms:7.2f} {latency.p99_ms:7.2f}"
                        f" {busy.requests_per_s:7.0f} {latency.errors + busy.errors:6d}"
                    )
        finally:
            stack.stop()
    print("the gateway adds a catalog call for the title cards (one batch call per request)")


if __name__ == "__main__":
    main()
