"""Helpers for tests that load data: run the loader, fingerprint tables, write small files."""

import gzip
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from common.db import engine_at
from common.files import PROJECT_ROOT
from common.platforms import Platform
from loader.load import LoadResult, run_load
from loader.progress import LoadProgress

DATA_TABLES = ("titles", "title_cast", "title_genres", "ratings")


def load(
    url: str,
    titles_dir: Path,
    ratings_dir: Path | None,
    *,
    force: bool = True,
    archive_dropped_ratings: bool = False,
) -> LoadResult:
    with engine_at(url, application_name="tests") as engine:
        return run_load(
            engine,
            titles_dir=titles_dir,
            ratings_dir=ratings_dir,
            force=force,
            archive_dropped_ratings=archive_dropped_ratings,
            progress=LoadProgress(quiet=True),
        )


def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every data table."""
    with engine_at(url, application_name="tests") as engine, engine.connect() as conn:
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


def query(url: str, sql: str, **params) -> list[sa.Row]:
    with engine_at(url, application_name="tests") as engine, engine.begin() as conn:
        result = conn.execute(sa.text(sql), params)
        return list(result) if result.returns_rows else []


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`python -m module args` from the project folder, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, prog: str, *fragments: str) -> None:
    """Exit code 1 and one line on stderr, `prog: error: ...`, holding every fragment."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


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
