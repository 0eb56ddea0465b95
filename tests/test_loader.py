"""The loader against a real PostgreSQL: real catalogues, a slice of the real ratings."""

import csv
import gzip
import re
from collections import Counter
from datetime import datetime

import pandas as pd
import pytest

from common.platforms import Platform
from loader.read import LoadError
from tests.loading import (
    copy_titles,
    load,
    query,
    table_digests,
    write_ratings_slice,
    write_tiny_catalogues,
)

SLICE_ROWS = 20_000


@pytest.fixture(scope="module")
def ratings_slice(tmp_path_factory, shared_data):
    """The first rows of 1.csv.gz (no timestamps) and 7.csv.gz (timestamps)."""
    folder = tmp_path_factory.mktemp("ratings")
    for name in ("1.csv.gz", "7.csv.gz"):
        write_ratings_slice(shared_data / "ratings" / name, folder / name, SLICE_ROWS)
    return folder


@pytest.fixture(scope="module")
def loaded(new_database, shared_data, ratings_slice):
    url = new_database()
    result = load(url, shared_data / "titles", ratings_slice)
    return url, result


def raw_catalogue(shared_data, platform: Platform) -> dict[str, dict[str, str]]:
    with open(shared_data / "titles" / platform.catalogue_file, newline="", encoding="utf-8") as f:
        return {row["show_id"]: row for row in csv.DictReader(f)}


def expected_duration(src: dict[str, str]) -> tuple[int | None, str | None]:
    text = src["duration"].strip()
    if not text and re.fullmatch(r"\d+ (min|Seasons?)", src["rating"]):
        text = src["rating"]
    if not text:
        return None, None
    number, unit = text.split()
    return int(number), "min" if unit == "min" else "season"


def test_every_title_of_every_platform_is_loaded(loaded):
    url, result = loaded
    counts = dict(query(url, "SELECT platform, count(*) FROM titles GROUP BY platform"))
    assert counts == {"amazon": 9668, "disney": 1450, "hulu": 3073, "netflix": 8807}
    titles_files = [f for f in result.files if f.kind == "titles"]
    assert sum(f.rows_rejected for f in titles_files) == 0


def test_every_ratings_row_of_the_slice_is_kept(loaded, ratings_slice):
    url, _ = loaded
    ((count, timed),) = query(
        url, "SELECT count(*), count(rated_at) FROM ratings WHERE source = 'file'"
    )
    assert count == 2 * SLICE_ROWS
    assert timed == SLICE_ROWS  # only 7.csv.gz carries timestamps


def test_titles_match_the_raw_csv(loaded, shared_data):
    url, _ = loaded
    for platform in Platform:
        raw = raw_catalogue(shared_data, platform)
        sample = sorted(raw)[:: max(1, len(raw) // 40)]
        rows = query(
            url,
            "SELECT * FROM titles WHERE id = ANY(:ids)",
            ids=[platform.prefix + show_id for show_id in sample],
        )
        assert len(rows) == len(sample)
        for row in rows:
            src = raw[row.show_id]
            assert row.platform == platform.value
            assert row.title == " ".join(src["title"].replace("\u200b", "").split()).lower()
            assert row.type == src["type"].lower()
            assert row.release_year == int(src["release_year"])
            if src["date_added"].strip():
                assert (
                    row.date_added
                    == datetime.strptime(src["date_added"].strip(), "%B %d, %Y").date()
                )
            else:
                assert row.date_added is None
            assert (row.duration_int, row.duration_type) == expected_duration(src)
            if src["rating"] and not src["rating"][0].isdigit():
                assert row.rating in (src["rating"].lower(), "16+", "18+", "all", "nr")


def test_the_295_durations_in_the_rating_column_are_moved_back(loaded, shared_data):
    url, _ = loaded
    moved = dict(
        query(
            url,
            "SELECT file, (repairs->>'duration_moved_from_rating')::int FROM load_files"
            " WHERE load_id = (SELECT max(id) FROM loads) AND kind = 'titles'",
        )
    )
    assert moved["hulu_titles.csv"] == 292
    assert moved["netflix_titles.csv"] == 3
    rows = query(
        url,
        "SELECT id, rating, duration_int, duration_type FROM titles"
        " WHERE id IN ('hs51', 'ns5542', 'ns5795', 'ns5814')",
    )
    assert sorted(tuple(r) for r in rows) == [
        ("hs51", "g", 2, "season"),
        ("ns5542", "g", 74, "min"),
        ("ns5795", "g", 84, "min"),
        ("ns5814", "g", 66, "min"),
    ]


def test_null_maturity_ratings_became_g(loaded, shared_data):
    url, _ = loaded
    nulls = Counter()
    for platform in Platform:
        nulls[platform.value] = sum(
            1 for r in raw_catalogue(shared_data, platform).values() if not r["rating"]
        )
    assert nulls == {"amazon": 337, "disney": 3, "hulu": 520, "netflix": 4}
    (missing,) = query(url, "SELECT count(*) FROM titles WHERE rating IS NULL OR rating = ''")[0]
    assert missing == 0


def test_known_traps_in_real_rows(loaded):
    url, _ = loaded
    cast = [
        r.actor
        for r in query(
            url, "SELECT actor FROM title_cast WHERE title_id = 'as28' ORDER BY position"
        )
    ]
    assert cast == ["christina ricci", "david hoflin"]
    (director,) = query(url, "SELECT director FROM titles WHERE id = 'as5141'")[0]
    assert director is None
    (description,) = query(url, "SELECT description FROM titles WHERE id = 'hs1'")[0]
    assert not description.startswith(("\u200b", " "))
    suffixed = query(url, "SELECT actor FROM title_cast WHERE title_id = 'as269' ORDER BY position")
    assert "clifton collins jr." in [r.actor for r in suffixed]
    (text_with_breaks,) = query(
        url,
        "SELECT count(*) FROM titles WHERE description ~ '[\\r\\n\u2028]' OR title ~ '[\\r\\n]'",
    )[0]
    assert text_with_breaks == 0
    actors = [r.actor for r in query(url, "SELECT DISTINCT actor FROM title_cast")]
    assert not [a for a in actors if not any(ch.isalpha() for ch in a) or a in ("jr.", "ph.d.")]


def test_scores_are_the_mean_of_the_delivered_rows(loaded, ratings_slice):
    url, _ = loaded
    frame = pd.concat(pd.read_csv(p) for p in sorted(ratings_slice.iterdir()))
    expected = frame.groupby("movieId")["rating"].agg(["mean", "count"])
    rows = {r.id: r for r in query(url, "SELECT id, score, votes FROM titles WHERE votes > 0")}
    assert len(rows) == len(expected)
    for title_id, (mean, count) in expected.iterrows():
        assert rows[title_id].votes == count
        assert rows[title_id].score == pytest.approx(mean, abs=1e-12)


def test_loading_the_same_files_twice_changes_nothing(loaded, shared_data, ratings_slice):
    url, _ = loaded
    before = table_digests(url)
    again = load(url, shared_data / "titles", ratings_slice, force=True)
    assert again.load_id is not None
    assert table_digests(url) == before
    skipped = load(url, shared_data / "titles", ratings_slice, force=False)
    assert skipped.unchanged_since == again.load_id
    assert table_digests(url) == before


def test_a_failing_load_leaves_the_earlier_data_untouched(
    loaded, shared_data, ratings_slice, tmp_path
):
    url, _ = loaded
    before = table_digests(url)
    loads_before = query(url, "SELECT count(*) FROM loads")[0][0]
    bad = tmp_path / "ratings"
    bad.mkdir()
    write_ratings_slice(shared_data / "ratings" / "1.csv.gz", bad / "1.csv.gz", 5_000)
    good = gzip.compress(b"userId,rating,timestamp,movieId\n" + b"7,4.0,,ns1\n" * 50_000)
    (bad / "2.csv.gz").write_bytes(good[: len(good) // 2])  # truncated in the middle
    write_ratings_slice(shared_data / "ratings" / "8.csv.gz", bad / "3.csv.gz", 5_000)
    with pytest.raises(LoadError, match=r"2\.csv\.gz.*truncated"):
        load(url, shared_data / "titles", bad)
    assert table_digests(url) == before
    assert query(url, "SELECT count(*) FROM loads")[0][0] == loads_before
    assert (
        query(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'loader_staging'")[0][0] == 0
    )


def test_bad_rating_rows_are_rejected_with_file_and_line(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    ratings = tmp_path / "ratings"
    ratings.mkdir()
    (ratings / "a.csv").write_text(
        "userId,rating,timestamp,movieId\n"
        "1,4.5,,as1\n"  # line 2: fine
        "2,4.0,,zs9\n"  # line 3: no such title
        "3,7.0,,ns2\n"  # line 4: out of range
        "4,3.5,1425941529,hs3\n"  # line 5: fine, with a time
        "5,3.25,,ds1\n"  # line 6: not a half step
        "0,3.0,,ds1\n"  # line 7: bad user
    )
    (ratings / "b.csv").write_text(
        "userId,rating,timestamp,movieId\n"
        "6,2.0,,as2\n"  # line 2: fine
        "7,2.0,as2\n"  # line 3: a field is missing
        "8,abc,,as2\n"  # line 4: not a number
        "9,1.0,,as3,extra\n"  # line 5: one field too many
        "10,1.5,,as3\n"  # line 6: fine
    )
    result = load(database_url, titles, ratings)
    by_file = {f.file: f for f in result.files}
    assert (by_file["a.csv"].rows_read, by_file["a.csv"].rows_loaded) == (6, 2)
    assert (by_file["b.csv"].rows_read, by_file["b.csv"].rows_loaded) == (5, 2)
    issues = [
        tuple(r)
        for r in query(
            database_url,
            "SELECT file, line, rule FROM load_issues"
            " WHERE action = 'rejected' ORDER BY file, line",
        )
    ]
    assert issues == [
        ("a.csv", 3, "unknown_title"),
        ("a.csv", 4, "bad_rating"),
        ("a.csv", 6, "bad_rating"),
        ("a.csv", 7, "bad_user_id"),
        ("b.csv", 3, "wrong_field_count"),
        ("b.csv", 4, "bad_rating"),
        ("b.csv", 5, "wrong_field_count"),
    ]
    rows = query(
        database_url,
        "SELECT user_id, title_id, rated_at IS NOT NULL AS timed, seq FROM ratings ORDER BY seq",
    )
    assert [tuple(r) for r in rows] == [
        (1, "as1", False, 1),
        (4, "hs3", True, 2),
        (6, "as2", False, 3),
        (10, "as3", False, 4),
    ]


def test_plain_and_gzipped_ratings_files_both_load(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    ratings = tmp_path / "ratings"
    ratings.mkdir()
    body = "userId,rating,timestamp,movieId\n1,4.5,,as1\n2,3.0,,ns2\n"
    (ratings / "1.csv").write_text(body)
    (ratings / "2.csv.gz").write_bytes(gzip.compress(body.encode()))
    (ratings / "notes.txt").write_text("not a ratings file")
    result = load(database_url, titles, ratings)
    assert [f.file for f in result.files if f.kind == "ratings"] == ["1.csv", "2.csv.gz"]
    assert query(database_url, "SELECT count(*) FROM ratings")[0][0] == 4


def test_a_titles_only_load_leaves_scores_empty(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    ratings = tmp_path / "ratings"
    ratings.mkdir()
    (ratings / "1.csv").write_text("userId,rating,timestamp,movieId\n1,4.5,,as1\n")
    load(database_url, titles, ratings)
    assert query(database_url, "SELECT score, votes FROM titles WHERE id = 'as1'")[0] == (4.5, 1)
    load(database_url, titles, None)
    assert (
        query(database_url, "SELECT count(*) FROM titles WHERE score IS NOT NULL OR votes > 0")[0][
            0
        ]
        == 0
    )
    assert query(database_url, "SELECT count(*) FROM ratings WHERE source = 'file'")[0][0] == 0


def test_api_ratings_survive_a_reload(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles")
    load(database_url, titles, None)
    query(
        database_url,
        "INSERT INTO ratings (source, user_id, title_id, rating) VALUES ('api', 42, 'ns1', 4.0)",
    )
    load(database_url, titles, None)
    assert [
        tuple(r) for r in query(database_url, "SELECT source, user_id, title_id FROM ratings")
    ] == [("api", 42, "ns1")]


def test_a_title_with_api_ratings_is_not_silently_dropped(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles", rows_per_platform=3)
    load(database_url, titles, None)
    query(
        database_url,
        "INSERT INTO ratings (source, user_id, title_id, rating) VALUES ('api', 42, 'ns3', 4.0)",
    )
    before = table_digests(database_url)
    fewer = write_tiny_catalogues(tmp_path / "fewer", rows_per_platform=2)
    with pytest.raises(LoadError, match=r"1 ratings posted .* \(ns3\).*--archive-dropped-ratings"):
        load(database_url, fewer, None)
    assert table_digests(database_url) == before


def test_the_operator_can_archive_the_api_ratings_of_dropped_titles(database_url, tmp_path):
    titles = write_tiny_catalogues(tmp_path / "titles", rows_per_platform=3)
    load(database_url, titles, None)
    query(
        database_url,
        "INSERT INTO ratings (source, user_id, title_id, rating) VALUES"
        " ('api', 42, 'ns3', 4.0), ('api', 42, 'ns1', 2.5), ('api', 7, 'as3', 1.0)",
    )
    fewer = write_tiny_catalogues(tmp_path / "fewer", rows_per_platform=2)
    result = load(database_url, fewer, None, archive_dropped_ratings=True)
    assert result.archived_ratings == 2
    assert "2 API ratings of dropped titles moved to ratings_archive" in result.headline()
    kept = query(database_url, "SELECT user_id, title_id, rating FROM ratings ORDER BY title_id")
    assert [tuple(r) for r in kept] == [(42, "ns1", 2.5)]
    archived = query(
        database_url,
        "SELECT reason, load_id, user_id, title_id, rating FROM ratings_archive ORDER BY title_id",
    )
    assert [tuple(r) for r in archived] == [
        ("title_dropped", result.load_id, 7, "as3", 1.0),
        ("title_dropped", result.load_id, 42, "ns3", 4.0),
    ]


def test_catalogue_copies_from_shared_data_are_found(shared_data, tmp_path, database_url):
    titles = copy_titles(shared_data / "titles", tmp_path / "titles")
    result = load(database_url, titles, None)
    assert sum(f.rows_loaded for f in result.files) == 22_998


def test_the_same_work_on_several_platforms_shares_a_work_id(loaded):
    url, result = loaded
    rows = {
        r.id: r.work_id
        for r in query(
            url,
            "SELECT id, work_id FROM titles WHERE work_id <> id OR id IN "
            "('as7474', 'as3191', 'hs1070', 'ds1378')",
        )
    }
    assert rows["hs874"] == rows["as7474"] == "as7474"  # 1 night in san diego, 2020 on both
    assert rows["ns2520"] == rows["as3191"] == "as3191"  # avatar: the last airbender, 2008/2007
    assert rows["ns5413"] == "hs1070"  # criminal minds: Hulu dates 2005, Netflix 2017, 12 seasons
    assert rows["ds1378"] == "ds1378"  # toy story is only on Disney+
    # A work holds one title per platform, and every work's id is one of its own titles.
    works = query(
        url,
        "SELECT work_id, count(*) AS copies, count(DISTINCT platform) AS platforms,"
        " bool_or(id = work_id) AS named_after_a_copy FROM titles GROUP BY work_id",
    )
    assert all(w.copies == w.platforms and w.named_after_a_copy for w in works)
    shared = sum(1 for w in works if w.copies > 1)
    assert shared == result.shared_works and 500 < shared < 700
    assert f"{shared:,} films and shows are on two or more platforms" in result.headline()
