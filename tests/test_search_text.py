"""How search reads text: folding accents away, and a query's parts for the SQL."""

import pytest

from common.search import Query, fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Pokémon", "pokemon"), ("SOÑADORA", "sonadora"), ("ﬁlm", "film"), ("Straße", "strasse")],
)
def test_fold(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "websearch", "key", "plain"),
    [
        ("Spider-Man: Homecoming", "spider man homecoming", "spider man homecoming", True),
        ("star -wars", "star -wars", "star", False),
        ('"star wars" or trek', '"star wars" or trek', "star wars or trek", False),
        ("l.a.\u2019s finest", "l a s finest", "l a s finest", True),
        ("%_\\'", "", "", True),
        ("-", "", "", True),
        ('x -"star wars', 'x -"star wars', "x", False),
    ],
)
def test_a_query_is_parsed_into_what_the_sql_needs(text, websearch, key, plain):
    assert Query.parse(text) == Query(websearch, key, plain)
