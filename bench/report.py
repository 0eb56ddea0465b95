"""Time the insights report on the full real data, against the notebook way of getting the
same rating numbers: every rating into one pandas DataFrame, then groupby.

    python -m bench.report [--database-url URL] [--runs 3]

Without --database-url (or DATABASE_URL) it loads the real data into a private embedded server
first. Figures are medians; the target is a full report in 60 s or less.
"""

import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.data import arguments, loaded_database
from common.db import engine_at
from loader.report.build import build
from loader.report.facts import share_for


def time_report(url: str, out: Path) -> tuple[float, dict[str, float]]:
    with engine_at(url, application_name="bench") as engine:
        built = build(engine, out=out, model_dir=None)
    return built.seconds, built.phases


def time_dataframe_way(url: str) -> float:
    """The seed's notebook: the whole ratings table in memory, then the headline numbers."""
    started = time.perf_counter()
    with engine_at(url, application_name="bench") as engine, engine.connect() as conn:
        ratings = pd.read_sql("SELECT user_id, title_id, rating FROM ratings", conn)
    per_user = ratings.groupby("user_id").size()
    per_title = ratings.groupby("title_id")["rating"].agg(["size", "mean"])
    share_for(per_user.to_numpy(), 0.8)
    share_for(per_title["size"].to_numpy(), 0.8)
    per_title.sort_values("mean", ascending=False).head(10)
    pairs = ratings.groupby(["user_id", "title_id"]).size()
    int((pairs > 1).sum())
    ratings["rating"].value_counts()
    return time.perf_counter() - started


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], model=False, seconds=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with loaded_database(args.database_url, args.data) as url, tempfile.TemporaryDirectory() as tmp:
        reports, baselines = [], []
        for _ in range(args.runs):  # interleaved, so that drift on the machine hits both alike
            reports.append(time_report(url, Path(tmp) / "report"))
            baselines.append(time_dataframe_way(url))
    report_s = statistics.median(s for s, _ in reports)
    phases = {k: statistics.median(p[k] for _, p in reports) for k in reports[0][1]}
    baseline_s = statistics.median(baselines)
    print(f"runs: {args.runs} (medians below)")
    print(f"full report (facts + 13 figures + page): {report_s:6.1f} s")
    for name, seconds in phases.items():
        print(f"  {name:<8}{seconds:6.1f} s")
    print(f"notebook way (ratings into pandas, groupby; rating numbers only): {baseline_s:6.1f} s")
    print(f"report time / notebook-way time: {report_s / baseline_s:.2f}")
    print(f"target, report in 60 s or less: {'met' if report_s <= 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
