"""python -m loader.report [--database-url URL] [--out DIR] [--model-dir DIR]"""

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from common.db import engine_at, error_line
from loader.report.build import ReportError, build
from loader.report.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loader.report",
        description="Write an HTML insights report (report.html, PNG figures) on the loaded data.",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL, else the embedded server in .data/)",
    )
    parser.add_argument(
        "--out", type=Path, help="folder to write into (default: $REPORT_DIR, else .data/report)"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="where the served model is, for its metrics (default: $MODEL_DIR, else .data/models)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    url = args.database_url or settings.resolved_database_url()
    try:
        with engine_at(url, application_name="report") as engine:
            result = build(
                engine,
                out=args.out or settings.report_dir,
                model_dir=args.model_dir or settings.model_dir,
            )
    except ReportError as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    except (DBAPIError, PoolTimeout) as exc:
        print(f"report: error: database: {error_line(exc)}", file=sys.stderr)
        return 1
    print(
        f"report: {result.page} ({len(result.figures)} figures) written in {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
