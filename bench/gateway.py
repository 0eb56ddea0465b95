"""The gateway's cost: requests/s, p50 and p99 for /predict and for top-10 recommendations
through the gateway, next to the same requests sent straight to the recommender, in one run.

    python -m bench.gateway [--database-url URL --model-dir DIR] [--data DIR] [--seconds 5]

Without --database-url/--model-dir the real data is loaded into a private embedded server and
a model trained first (a few minutes). Needs wrk. Latency with one connection; throughput with
16 connections.
"""

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from bench.data import DEFAULT_DATA, loaded_database
from bench.recommender import trained_model
from bench.wrk import lua_script, wrk
from common.proc import Stack
from services.recommender.model import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()

    with (
        loaded_database(args.database_url, args.data) as url,
        trained_model(url, args.model_dir) as model_dir,
        tempfile.TemporaryDirectory() as scratch,
    ):
        model = load(model_dir)
        rng = np.random.default_rng(0)
        users = [int(u) for u in rng.choice(model.user_ids, 1000)]
        titles = [str(t) for t in rng.choice(model.item_ids, 1000)]
        folder = Path(scratch)
        routes = {
            "/predict": lua_script(
                folder,
                "predict",
                [
                    ("GET", f"/predict?user_id={u}&title_id={t}", None)
                    for u, t in zip(users, titles, strict=True)
                ],
            ),
            "/users/{id}/recommendations": lua_script(
                folder, "top", [("GET", f"/users/{u}/recommendations?n=10", None) for u in users]
            ),
        }
        stack = Stack(url, model_dir, folder).start()
        try:
            print(
                f"{'route':<30} {'via':<12} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>6}"
            )
            for route, script in routes.items():
                for via, base in (("gateway", stack.url), ("recommender", stack.recommender.url)):
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
