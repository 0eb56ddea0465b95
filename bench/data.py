"""Where benchmarks get a loaded database, a trained model and a scratch folder."""

import argparse
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.db import engine_at
from common.throwaway import throwaway_database, throwaway_server
from loader.load import run_load
from loader.progress import LoadProgress

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def arguments(
    description: str, *, model: bool = True, seconds: int | None = 5
) -> argparse.ArgumentParser:
    """The options every benchmark takes (--seconds only for those that run for a while)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    if model:
        parser.add_argument("--model-dir", default=os.environ.get("MODEL_DIR"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    if seconds is not None:
        parser.add_argument("--seconds", type=int, default=seconds)
    return parser


@contextmanager
def loaded_database(database_url: str | None, data: Path) -> Iterator[str]:
    """`database_url` as it is (it must hold the data), or a private embedded server holding
    the full real data set from `data`, deleted afterwards."""
    if database_url:
        yield database_url
        return
    with throwaway_server() as server_url, throwaway_database(server_url) as url:
        print(f"loading {data} into a private embedded PostgreSQL ...", flush=True)
        with engine_at(url, application_name="bench") as engine:
            run_load(
                engine,
                titles_dir=data / "titles",
                ratings_dir=data / "ratings",
                force=True,
                progress=LoadProgress(quiet=True),
            )
        yield url


@contextmanager
def trained_model(url: str, model_dir: str | None) -> Iterator[Path]:
    """`model_dir` as it is, or a model trained now with the trainer's defaults."""
    if model_dir:
        yield Path(model_dir)
        return
    from services.recommender.settings import Settings
    from services.recommender.train import train, tuned_defaults

    with tempfile.TemporaryDirectory() as folder:
        print("training a model on the full data set ...", flush=True)
        train(Settings(database_url=url, model_dir=Path(folder)), params=tuned_defaults())
        yield Path(folder)


@contextmanager
def prepared(args: argparse.Namespace) -> Iterator[tuple[str, Path, Path]]:
    """(database URL, model folder, scratch folder) for a benchmark's run."""
    with (
        loaded_database(args.database_url, args.data) as url,
        trained_model(url, args.model_dir) as model_dir,
        tempfile.TemporaryDirectory() as scratch,
    ):
        yield url, model_dir, Path(scratch)
