"""Property-based tests (Hypothesis) for the cleaning functions: they never crash on any input,
and they round-trip what they should."""

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.platforms import Platform
from loader import clean

SHOW_IDS = st.integers(min_value=1, max_value=999_999_999).map(lambda n: f"s{n}")
NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=","),
    min_size=1,
    max_size=30,
).filter(lambda s: any(ch.isalpha() for ch in (clean.clean_text(s) or "")))


@given(st.sampled_from(list(Platform)), SHOW_IDS)
def test_the_id_builder_round_trips(platform, show_id):
    title_id = clean.build_id(platform, show_id)
    assert title_id == platform.value[0] + show_id
    assert clean.parse_id(title_id) == (platform, show_id)


@given(st.sampled_from(list(Platform)), st.text(max_size=20))
def test_the_id_builder_accepts_s_number_or_rejects_with_a_reason(platform, show_id):
    try:
        title_id = clean.build_id(platform, show_id)
    except clean.Reject as reject:
        assert reject.rule == "bad_show_id"
    else:
        assert clean.parse_id(title_id)[1] == show_id


@given(st.integers(min_value=0, max_value=99_999), st.sampled_from(["min", "season"]))
def test_the_duration_parser_round_trips_the_sources_spelling(value, unit):
    assert clean.parse_duration(clean.format_duration(value, unit)) == (value, unit)


@given(st.text(max_size=40))
def test_the_duration_parser_returns_or_raises_value_error_only(text):
    try:
        parsed = clean.parse_duration(text)
    except ValueError:
        return
    assert parsed is None or (parsed[0] >= 0 and parsed[1] in ("min", "season"))


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_the_date_parser_round_trips_the_sources_spelling(day):
    assert clean.parse_date(clean.format_date(day)) == day
    assert clean.parse_date(" " + clean.format_date(day)) == day


@given(st.text(max_size=40))
def test_the_date_parser_returns_or_raises_value_error_only(text):
    with contextlib.suppress(ValueError):
        clean.parse_date(text)


@given(st.text(max_size=300))
def test_the_cast_splitter_never_crashes_and_yields_clean_names(text):
    names = clean.split_names(text)
    assert len(names) == len(set(names))
    for name in names:
        assert name and "," not in name
        assert name == name.strip() and "  " not in name
        assert any(ch.isalpha() for ch in name)
        assert name == name.lower()


@given(st.lists(NAME, max_size=8))
def test_the_cast_splitter_keeps_plain_names_in_order(raw_names):
    names = [clean.clean_text(n) for n in raw_names]
    plain = [n for n in names if n and not clean.NAME_SUFFIX.fullmatch(n)]
    assert clean.split_names(", ".join(plain)) == list(dict.fromkeys(plain))


@given(st.text(max_size=300))
def test_splitting_is_idempotent(text):
    once = clean.split_names(text)
    assert clean.split_names(", ".join(once)) == once


@given(st.text(max_size=200))
def test_clean_text_is_idempotent_and_never_crashes(text):
    once = clean.clean_text(text)
    assert clean.clean_text(once) == once
    if once is not None:
        assert once == once.strip() and once == once.lower()


@pytest.mark.parametrize(
    "field",
    [
        "title",
        "director",
        "cast",
        "country",
        "date_added",
        "rating",
        "duration",
        "listed_in",
        "description",
    ],
)
@given(value=st.text(max_size=60))
def test_a_catalogue_row_is_cleaned_or_rejected_never_crashes(field, value):
    row = {c: "" for c in clean.TITLE_COLUMNS} | {
        "show_id": "s1",
        "type": "Movie",
        "title": "x",
        "release_year": "2000",
    }
    row[field] = value
    try:
        result = clean.clean_title(Platform.netflix, row)
    except clean.Reject as reject:
        assert reject.rule in {"missing_title"}
    else:
        assert result.rating
        assert result.duration_type in (None, "min", "season")
