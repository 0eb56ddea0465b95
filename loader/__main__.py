"""python -m loader --titles-dir DIR [--ratings-dir DIR] [--database-url URL] [--force]"""

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from common.db import engine_at, error_line
from common.settings import DatabaseSettings
from loader.load import run_load
from loader.progress import LoadProgress, print_summary
from loader.read import LoadError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loader",
        description="Clean the platform catalogues and ratings and load them into PostgreSQL.",
    )
    parser.add_argument("--titles-dir", type=Path, required=True, help="folder with the 4 CSVs")
    parser.add_argument(
        "--ratings-dir", type=Path, help="folder of *.csv / *.csv.gz ratings (omit: titles only)"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server in .data/)",
    )
    parser.add_argument("--force", action="store_true", help="reload even if nothing changed")
    parser.add_argument(
        "--archive-dropped-ratings",
        action="store_true",
        help="move the API ratings of titles the new catalogues drop to ratings_archive "
        "(without it, such a load stops and names them)",
    )
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    url = args.database_url or DatabaseSettings().resolved_database_url()
    try:
        with (
            engine_at(url, application_name="loader") as engine,
            LoadProgress(quiet=args.quiet) as progress,
        ):
            result = run_load(
                engine,
                titles_dir=args.titles_dir,
                ratings_dir=args.ratings_dir,
                force=args.force,
                archive_dropped_ratings=args.archive_dropped_ratings,
                progress=progress,
            )
    except LoadError as exc:
        print(f"loader: error: {exc}", file=sys.stderr)
        return 1
    except (DBAPIError, PoolTimeout) as exc:
        print(f"loader: error: database: {error_line(exc)}", file=sys.stderr)
        return 1
    if result.unchanged_since is not None:
        print(
            f"Nothing to do: these files are already loaded (load #{result.unchanged_since}). "
            "Use --force to load them again."
        )
        return 0
    print_summary(result.files, result.headline())
    return 0


if __name__ == "__main__":
    sys.exit(main())
