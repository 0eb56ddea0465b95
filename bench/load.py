"""Time the full real data set through the loader, against pandas to_sql on a 1M-row slice.

    python -m bench.load [--data DIR] [--database-url URL] [--runs 3]

Without --database-url (or DATABASE_URL) it uses a private embedded server. Each run loads into a
fresh database; figures are medians.
"""

import argparse
import gzip
import os
import statistics
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd

from bench.data import DEFAULT_DATA
from common.db import engine_at
from common.throwaway import throwaway_database, throwaway_server
from loader.load import run_load
from loader.progress import LoadProgress

SLICE_ROWS = 1_000_000


def time_loader(server_url: str, data: Path) -> tuple[float, int]:
    with (
        throwaway_database(server_url) as url,
        engine_at(url, application_name="bench") as engine,
    ):
        started = time.perf_counter()
        result = run_load(
            engine,
            titles_dir=data / "titles",
            ratings_dir=data / "ratings",
            force=True,
            progress=LoadProgress(quiet=True),
        )
        seconds = time.perf_counter() - started
    return seconds, sum(f.rows_loaded for f in result.files)


def read_slice(data: Path) -> pd.DataFrame:
    with gzip.open(data / "ratings" / "1.csv.gz", "rt") as handle:
        return pd.read_csv(handle, nrows=SLICE_ROWS)


def time_to_sql(server_url: str, frame: pd.DataFrame) -> float:
    with (
        throwaway_database(server_url) as url,
        engine_at(url, application_name="bench") as engine,
    ):
        started = time.perf_counter()
        frame.to_sql("ratings", engine, index=False, chunksize=10_000)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with (
        throwaway_server() if args.database_url is None else nullcontext(args.database_url)
    ) as server_url:
        loads = [time_loader(server_url, args.data) for _ in range(args.runs)]
        frame = read_slice(args.data)
        to_sql = [time_to_sql(server_url, frame) for _ in range(args.runs)]

    rows = loads[0][1]
    load_s = statistics.median(s for s, _ in loads)
    to_sql_s = statistics.median(to_sql)
    print(f"runs: {args.runs} (medians below)")
    line("loader, full data set", rows, load_s)
    line("pandas to_sql, 1M slice", SLICE_ROWS, to_sql_s)
    speedup = (rows / load_s) / (SLICE_ROWS / to_sql_s)
    print(f"loader rows/s over to_sql rows/s: {speedup:.1f}x (the loader also cleans, validates,")
    print("scores and swaps atomically)")
    print(f"target, full load in 60 s or less: {'met' if load_s <= 60 else 'MISSED'}")


def line(label: str, rows: int, seconds: float) -> None:
    print(f"{label:<24}: {rows:>10,} rows in {seconds:6.1f} s = {rows / seconds:>9,.0f} rows/s")


if __name__ == "__main__":
    main()
