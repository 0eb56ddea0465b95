"""Differential tests: the catalog over HTTP against an independent pandas oracle built from
the raw CSVs, on the whole real data set."""

import itertools

import pytest

from tests import oracle
from tests.conftest import catalog_client

PLATFORMS = ["amazon", "disney", "hulu", "netflix"]
YEARS = [1925, 1950, 1975, 1990, 2000, 2010, 2015, 2017, 2018, 2019, 2020, 2021]
TYPES = [None, "movie", "tv show"]
SCORES = [0, 2.5, 3.0, 3.5, 3.55, 3.6, 4.0, 5]


@pytest.fixture(scope="module")
def expected(shared_data):
    titles = oracle.load_titles(shared_data / "titles")
    return oracle.add_scores(titles, shared_data / "ratings")


@pytest.fixture(scope="module")
def client(real_db):
    with catalog_client(real_db) as client:
        yield client


def ask(client, path: str, **params):
    response = client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code in (200, 404), (path, params, response.text)
    return response.json() if response.status_code == 200 else None


def compare(cases, actual, oracle_answer) -> None:
    mismatches, answered = [], 0
    for case in cases:
        got, want = actual(case), oracle_answer(case)
        answered += want is not None
        if got != want:
            mismatches.append((case, got, want))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, e.g. {mismatches[:5]}"
    assert answered > len(cases) // 3, "too few cases have an answer to prove anything"


def test_get_max_duration_agrees(client, expected):
    cases = list(itertools.product([None, *YEARS], [None, *PLATFORMS], ["min", "season"], TYPES))

    def actual(case):
        year, platform, duration_type, kind = case
        body = ask(
            client,
            "/get_max_duration",
            year=year,
            platform=platform,
            duration_type=duration_type,
            type=kind,
        )
        return body and {k: body[k] for k in ("id", "title", "duration_int")}

    def want(case):
        year, platform, duration_type, kind = case
        return oracle.get_max_duration(expected, year, platform, duration_type, kind)

    compare(cases, actual, want)


def test_get_score_count_agrees(client, expected):
    cases = list(itertools.product(PLATFORMS, SCORES, YEARS, TYPES))

    def actual(case):
        platform, scored, year, kind = case
        body = ask(
            client, "/get_score_count", platform=platform, scored=scored, year=year, type=kind
        )
        return body and body["count"]

    def want(case):
        return oracle.get_score_count(expected, *case)

    compare(cases, actual, want)


def test_get_count_platform_agrees(client, expected):
    cases = list(itertools.product(PLATFORMS, TYPES))

    def actual(case):
        platform, kind = case
        body = ask(client, "/get_count_platform", platform=platform, type=kind)
        return body and body["count"]

    compare(cases, actual, lambda case: oracle.get_count_platform(expected, *case))
    assert ask(client, "/get_count_platform", platform="netflix")["count"] == 8807


def test_get_actor_agrees(client, expected):
    cases = list(itertools.product(PLATFORMS, YEARS, TYPES))

    def actual(case):
        platform, year, kind = case
        body = ask(client, "/get_actor", platform=platform, year=year, type=kind)
        return body and {k: body[k] for k in ("actor", "appearances")}

    compare(cases, actual, lambda case: oracle.get_actor(expected, *case))


def test_the_answers_echo_the_question(client):
    assert ask(client, "/get_score_count", platform="NETFLIX", scored=3.5, year=2020) == {
        "platform": "netflix",
        "scored": 3.5,
        "year": 2020,
        "count": ask(client, "/get_score_count", platform="netflix", scored=3.5, year=2020)[
            "count"
        ],
    }
    top = ask(client, "/get_actor", platform="netflix", year=2019)
    assert (top["platform"], top["year"]) == ("netflix", 2019)
