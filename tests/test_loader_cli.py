"""`python -m loader` as a user runs it: bad input gives one line naming the file, exit 1,
and an untouched database."""

import gzip
import os
import subprocess
from pathlib import Path

import pytest

from tests.loading import (
    assert_one_line_error,
    load,
    run_module,
    table_digests,
    write_tiny_catalogues,
)

RATINGS_HEADER = "userId,rating,timestamp,movieId\n"
MANY_ROWS = RATINGS_HEADER + "".join(f"{n},4.0,,as1\n" for n in range(1, 50_001))
TRUNCATED_GZIP = gzip.compress(MANY_ROWS.encode())[:-5000]


def run_loader(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_module("loader", "--quiet", *args, env=env, timeout=120)


@pytest.fixture
def loaded_url(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "good")
    load(database_url, titles, None)
    return database_url


def titles_with(tmp_path: Path, name: str, content: bytes) -> Path:
    folder = write_tiny_catalogues(tmp_path / "titles")
    (folder / name).write_bytes(content)
    return folder


def ratings_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "ratings"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert_one_line_error(result, "loader", *fragments)


def test_a_missing_titles_folder(loaded_url, tmp_path):
    before = table_digests(loaded_url)
    result = run_loader("--titles-dir", str(tmp_path / "nowhere"), "--database-url", loaded_url)
    one_line_error(result, "nowhere", "does not exist")
    assert table_digests(loaded_url) == before


def test_a_missing_catalogue(loaded_url, tmp_path):
    folder = write_tiny_catalogues(tmp_path / "titles")
    (folder / "hulu_titles.csv").unlink()
    result = run_loader("--titles-dir", str(folder), "--database-url", loaded_url)
    one_line_error(result, "hulu_titles.csv", "missing catalogue for hulu")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,listed_in",
            "missing column(s) description",
        ),
        (
            "show_id,type,title,director,cast,country,date_added,release_year,rating,duration,listed_in,description,extra",
            "unexpected column(s) extra",
        ),
    ],
)
def test_a_catalogue_with_wrong_columns(loaded_url, tmp_path, header, message):
    before = table_digests(loaded_url)
    folder = titles_with(tmp_path, "disney_plus_titles.csv", f"{header}\r\ns1,Movie,x\r\n".encode())
    result = run_loader("--titles-dir", str(folder), "--database-url", loaded_url)
    one_line_error(result, "disney_plus_titles.csv:1", message)
    assert table_digests(loaded_url) == before


def test_a_catalogue_with_undecodable_bytes(loaded_url, tmp_path):
    before = table_digests(loaded_url)
    good = (write_tiny_catalogues(tmp_path / "src") / "netflix_titles.csv").read_bytes()
    lines = good.split(b"\r\n")
    lines[2] = lines[2].replace(b"film", b"f\xe9lm")  # Latin-1, not UTF-8
    folder = titles_with(tmp_path, "netflix_titles.csv", b"\r\n".join(lines))
    result = run_loader("--titles-dir", str(folder), "--database-url", loaded_url)
    one_line_error(result, "netflix_titles.csv:3", "not UTF-8")
    assert table_digests(loaded_url) == before


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("1.csv", b"", ("1.csv", "empty")),
        ("1.csv.gz", b"", ("1.csv.gz", "empty")),
        ("1.csv.gz", gzip.compress(b""), ("1.csv.gz", "empty")),
        ("1.csv.gz", TRUNCATED_GZIP, ("1.csv.gz", "truncated")),
        (
            "1.csv",
            b"userId,rating,movieId\n1,4.0,as1\n",
            ("1.csv:1", "missing column(s) timestamp"),
        ),
        (
            "1.csv",
            b"userId,rating,timestamp,movieId,extra\n1,4.0,,as1,x\n",
            ("1.csv:1", "unexpected column(s) extra"),
        ),
        (
            "1.csv",
            (RATINGS_HEADER + "1,4.0,,as1\n2,4.0,,as\xe91\n").encode("latin-1"),
            ("1.csv:3", "not UTF-8"),
        ),
    ],
)
def test_a_bad_ratings_file(loaded_url, tmp_path, name, content, fragments):
    before = table_digests(loaded_url)
    titles = write_tiny_catalogues(tmp_path / "titles")
    ratings = ratings_with(
        tmp_path, {"0.csv": (RATINGS_HEADER + "1,4.0,,as1\n").encode(), name: content}
    )
    result = run_loader(
        "--titles-dir", str(titles), "--ratings-dir", str(ratings), "--database-url", loaded_url
    )
    one_line_error(result, *fragments)
    assert table_digests(loaded_url) == before


def test_an_empty_ratings_folder(loaded_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    ratings = ratings_with(tmp_path, {})
    result = run_loader(
        "--titles-dir", str(titles), "--ratings-dir", str(ratings), "--database-url", loaded_url
    )
    one_line_error(result, "ratings", "no .csv or .csv.gz")


def test_without_a_url_the_loader_uses_the_embedded_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["STREAMREC_HOME"] = str(tmp_path / "home")
    titles = write_tiny_catalogues(tmp_path / "titles")
    first = run_loader("--titles-dir", str(titles), env=env)
    assert first.returncode == 0, first.stderr
    assert "load #1 done" in first.stdout
    assert (tmp_path / "home" / "pg" / "PG_VERSION").exists()
    second = run_loader("--titles-dir", str(titles), env=env)
    assert second.returncode == 0, second.stderr
    assert "Nothing to do" in second.stdout


def test_an_unreachable_database_is_a_one_line_error(tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    result = run_loader(
        "--titles-dir", str(titles), "--database-url", "postgresql://x@127.0.0.1:9/none"
    )
    one_line_error(result, "database", "cannot reach PostgreSQL")


def test_a_database_that_does_not_exist_is_a_one_line_error(server_url, tmp_path):
    from sqlalchemy.engine import make_url

    titles = write_tiny_catalogues(tmp_path / "titles")
    missing = make_url(server_url).set(database="no_such_database_here").render_as_string(False)
    result = run_loader("--titles-dir", str(titles), "--database-url", missing)
    one_line_error(result, "database", "no_such_database_here")
