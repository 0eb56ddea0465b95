"""Where benchmarks get a loaded database."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.db import create_engine
from common.throwaway import throwaway_database, throwaway_server
from loader.load import run_load
from loader.report import LoadProgress

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@contextmanager
def loaded_database(database_url: str | None, data: Path) -> Iterator[str]:
    """`database_url` as it is (it must hold the data), or a private embedded server holding
    the full real data set from `data`, deleted afterwards."""
    if database_url:
        yield database_url
        return
    with throwaway_server() as server_url, throwaway_database(server_url) as url:
        print(f"loading {data} into a private embedded PostgreSQL ...", flush=True)
        engine = create_engine(url, application_name="bench")
        run_load(
            engine,
            titles_dir=data / "titles",
            ratings_dir=data / "ratings",
            force=True,
            progress=LoadProgress(quiet=True),
        )
        engine.dispose()
        yield url
