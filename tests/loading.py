"""Helpers for tests that load data: run the loader, fingerprint tables, write small files."""

import gzip
import itertools
import shutil
from pathlib import Path

import sqlalchemy as sa

from common.db import create_engine
from common.platforms import Platform
from loader.load import LoadResult, run_load
from loader.progress import LoadProgress

DATA_TABLES = ("titles", "title_cast", "title_genres", "ratings")


def load(url: str, titles_dir: Path, ratings_dir: Path | None, *, force: bool = True) -> LoadResult:
    engine = create_engine(url, application_name="tests")
    try:
        return run_load(
            engine,
            titles_dir=titles_dir,
            ratings_dir=ratings_dir,
            force=force,
            progress=LoadProgress(quiet=True),
        )
    finally:
        engine.dispose()


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every data table."""
    engine = create_engine(url, application_name="tests")
    try:
        with engine.connect() as conn:
            return {
                table: tuple(
                    conn.exec_driver_sql(
                        "SELECT count(*),"
                        " coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
                        f" FROM {table} t"
                    ).one()
                )
                for table in DATA_TABLES
            }
    finally:
        engine.dispose()


def query(url: str, sql: str, **params) -> list[sa.Row]:
    engine = create_engine(url, application_name="tests")
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def write_ratings_slice(source: Path, target: Path, rows: int) -> None:
    """The header and the first `rows` rows of a ratings file, gzipped like the original."""
    with gzip.open(source, "rt", newline="") as src, gzip.open(target, "wt", newline="") as dst:
        dst.writelines(itertools.islice(src, rows + 1))


def copy_titles(shared_titles: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for platform in Platform:
        shutil.copyfile(shared_titles / platform.catalogue_file, target / platform.catalogue_file)
    return target


TITLES_HEADER = (
    "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,"
    "listed_in,description\r\n"
)


def write_tiny_catalogues(target: Path, rows_per_platform: int = 3) -> Path:
    """Four small, valid catalogues: s1..sN per platform."""
    target.mkdir(parents=True, exist_ok=True)
    for platform in Platform:
        lines = [TITLES_HEADER]
        for n in range(1, rows_per_platform + 1):
            lines.append(
                f's{n},Movie,{platform.value} film {n},,"Actor {n}, Actor X",,'
                f'"March {n}, 2021",2020,PG,{80 + n} min,"Dramas, Comedies",A film.\r\n'
            )
        (target / platform.catalogue_file).write_text("".join(lines), encoding="utf-8", newline="")
    return target


PROJECT_ROOT = Path(__file__).resolve().parent.parent
