"""Every cleaning rule and every trap of the real data, on small inputs written here."""

from datetime import date

import pyarrow as pa
import pytest

from common.platforms import Platform
from loader import clean
from loader.clean import Reject, clean_title, parse_date, parse_duration, split_names


def raw_title(**overrides: str) -> dict[str, str]:
    row = {
        "show_id": "s1",
        "type": "Movie",
        "title": "Dick Johnson Is Dead",
        "director": "Kirsten Johnson",
        "cast": "",
        "country": "United States",
        "date_added": "September 25, 2021",
        "release_year": "2020",
        "rating": "PG-13",
        "duration": "90 min",
        "listed_in": "Documentaries",
        "description": "As her father nears the end of his life, ...",
    }
    row.update(overrides)
    return row


def rules(row: clean.TitleRow) -> set[str]:
    return {rule for rule, _ in row.repairs.items}


# -- the five transformations the seed asks for ------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "show_id", "expected"),
    [
        (Platform.amazon, "s123", "as123"),
        (Platform.disney, "s7", "ds7"),
        (Platform.hulu, "s12", "hs12"),
        (Platform.netflix, "s5", "ns5"),
    ],
)
def test_id_is_platform_letter_plus_show_id(platform, show_id, expected):
    assert clean.build_id(platform, show_id) == expected
    assert clean.parse_id(expected) == (platform, show_id)
    row = clean_title(platform, raw_title(show_id=show_id))
    assert (row.id, row.platform, row.show_id) == (expected, platform.value, show_id)


@pytest.mark.parametrize("show_id", ["", "x1", "s", "s0", "s-1", "s1 2", "S1"])
def test_a_show_id_that_is_not_s_number_is_rejected(show_id):
    with pytest.raises(Reject) as caught:
        clean_title(Platform.amazon, raw_title(show_id=show_id))
    assert caught.value.rule == "bad_show_id"


def test_null_maturity_rating_becomes_g():
    row = clean_title(Platform.amazon, raw_title(rating=""))
    assert row.rating == "g"
    assert "null_rating_to_g" in rules(row)


def test_date_added_becomes_a_date():
    assert clean_title(Platform.netflix, raw_title()).date_added == date(2021, 9, 25)
    assert parse_date("March 30, 2021") == date(2021, 3, 30)
    assert parse_date("") is None


def test_date_added_with_a_leading_space_is_trimmed_and_noted():
    row = clean_title(Platform.netflix, raw_title(date_added=" August 4, 2017"))
    assert row.date_added == date(2017, 8, 4)
    assert "whitespace_trimmed" in rules(row)


def test_an_unparseable_date_becomes_null_and_is_explained():
    row = clean_title(Platform.netflix, raw_title(date_added="sometime in 2019"))
    assert row.date_added is None
    assert "date_unparseable" in rules(row)


def test_text_fields_are_lower_case():
    row = clean_title(
        Platform.netflix,
        raw_title(
            type="TV Show",
            title="Blood & Water",
            director="Julien Leclercq",
            cast="Ama Qamata, Khosi Ngema",
            country="South Africa",
            rating="TV-MA",
            duration="2 Seasons",
            listed_in="International TV Shows, TV Dramas",
            description="After crossing paths at a party, a Cape Town teen ...",
        ),
    )
    assert row.type == "tv show"
    assert row.title == "blood & water"
    assert row.director == "julien leclercq"
    assert row.cast == ["ama qamata", "khosi ngema"]
    assert row.country == "south africa"
    assert row.rating == "tv-ma"
    assert row.listed_in == "international tv shows, tv dramas"
    assert row.genres == ["international tv shows", "tv dramas"]
    assert row.description.startswith("after crossing paths at a party, a cape town teen")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90 min", (90, "min")),
        ("1 Season", (1, "season")),
        ("3 Seasons", (3, "season")),
        (" 45 min ", (45, "min")),
        ("", None),
    ],
)
def test_duration_is_split_into_int_and_type(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["90", "min", "ninety min", "1 Season 2", "-3 min"])
def test_a_duration_that_is_not_one_raises(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_an_unparseable_duration_becomes_null_and_is_explained():
    row = clean_title(Platform.netflix, raw_title(duration="a long time"))
    assert (row.duration_int, row.duration_type) == (None, None)
    assert "duration_unparseable" in rules(row)


# -- the traps listed in shared/data/README.md ----------------------------------------------


@pytest.mark.parametrize(
    ("platform", "rating", "duration"),
    [
        (Platform.hulu, "1 Season", (1, "season")),
        (Platform.hulu, "89 min", (89, "min")),
        (Platform.netflix, "74 min", (74, "min")),
    ],
)
def test_duration_found_in_the_rating_column_moves_back(platform, rating, duration):
    row = clean_title(platform, raw_title(rating=rating, duration=""))
    assert (row.duration_int, row.duration_type) == duration
    assert row.rating == "g"
    assert {"duration_moved_from_rating", "null_rating_to_g"} <= rules(row)


def test_duration_in_rating_when_duration_is_also_there_keeps_the_duration():
    row = clean_title(Platform.hulu, raw_title(rating="89 min", duration="90 min"))
    assert (row.duration_int, row.rating) == (90, "g")
    assert "duration_in_rating_dropped" in rules(row)


def test_zero_width_spaces_are_removed():
    row = clean_title(
        Platform.hulu, raw_title(description="\u200bA woman wakes up", title="Z\u200bed")
    )
    assert row.description == "a woman wakes up"
    assert row.title == "zed"
    assert "zero_width_removed" in rules(row)


def test_line_separator_in_cast_does_not_split_or_survive():
    row = clean_title(Platform.amazon, raw_title(cast="Christina Ricci \u2028, David Hoflin"))
    assert row.cast == ["christina ricci", "david hoflin"]
    assert "line_break_collapsed" in rules(row)


def test_line_breaks_inside_a_description_become_one_space():
    row = clean_title(Platform.amazon, raw_title(description="First line.\r\n\r\nSecond line."))
    assert row.description == "first line. second line."
    assert "line_break_collapsed" in rules(row)


def test_surrounding_white_space_is_trimmed():
    row = clean_title(
        Platform.netflix, raw_title(title=" Kid Cosmic ", director="  Craig McCracken ")
    )
    assert (row.title, row.director) == ("kid cosmic", "craig mccracken")
    assert "whitespace_trimmed" in rules(row)


def test_the_literal_word_none_as_director_is_null():
    row = clean_title(Platform.amazon, raw_title(director="None"))
    assert row.director is None
    assert "literal_none_to_null" in rules(row)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AGES_16_", "16+"),
        ("AGES_18_", "18+"),
        ("ALL_AGES", "all"),
        ("NOT_RATE", "nr"),
        ("16", "16+"),
    ],
)
def test_truncated_amazon_maturity_codes_are_restored(code, expected):
    row = clean_title(Platform.amazon, raw_title(rating=code))
    assert row.rating == expected
    assert "maturity_code_untruncated" in rules(row)


def test_other_maturity_codes_are_kept_as_delivered():
    for code in ("13+", "NR", "UNRATED", "TV-NR", "NOT RATED", "UR", "TV-Y7-FV"):
        assert clean_title(Platform.amazon, raw_title(rating=code)).rating == code.lower()


def test_cast_is_split_on_commas_and_trimmed():
    assert split_names(" Ama Qamata ,Khosi Ngema,  Gail Mabalane") == [
        "ama qamata",
        "khosi ngema",
        "gail mabalane",
    ]
    assert split_names("") == []
    assert split_names(None) == []


@pytest.mark.parametrize(
    ("cast", "expected"),
    [
        ("Clifton Collins, Jr.", ["clifton collins jr."]),
        ("Cuba Gooding, Jr., Famke Janssen", ["cuba gooding jr.", "famke janssen"]),
        (
            "Art Chadwick, Ph.D., H. Allen Davis, Jr., Ph.D.",
            ["art chadwick ph.d.", "h. allen davis jr. ph.d."],
        ),
        ("Nick Mortorano, Phd", ["nick mortorano phd"]),
        ("Dr Myiesha Taylor, MD", ["dr myiesha taylor md"]),
        ("Desi Arnaz, Sr.", ["desi arnaz sr."]),
    ],
)
def test_a_name_suffix_stays_with_the_name_before_it(cast, expected):
    repairs = clean.Repairs()
    assert split_names(cast, repairs) == expected
    assert "cast_suffix_joined" in {rule for rule, _ in repairs.items}


def test_a_suffix_with_no_name_before_it_is_not_an_actor():
    assert split_names("Jr., Tom Hanks") == ["tom hanks"]


def test_a_name_with_no_letter_is_not_an_actor():
    repairs = clean.Repairs()
    assert split_names("1, 2, 3", repairs) == []
    assert split_names("Tom Hanks, 1, Meg Ryan") == ["tom hanks", "meg ryan"]
    assert "cast_non_name_dropped" in {rule for rule, _ in repairs.items}


def test_an_actor_listed_twice_in_one_title_counts_once():
    assert split_names("Tom Hanks, Meg Ryan, tom hanks") == ["tom hanks", "meg ryan"]


def test_non_latin_names_are_names():
    assert split_names("Rin Takanashi, 渡辺 謙, Ана") == ["rin takanashi", "渡辺 謙", "ана"]


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("type", "Podcast", "bad_type"),
        ("title", "   ", "missing_title"),
        ("release_year", "20x0", "bad_release_year"),
        ("release_year", "3021", "bad_release_year"),
    ],
)
def test_rows_that_cannot_be_titles_are_rejected(field, value, rule):
    with pytest.raises(Reject) as caught:
        clean_title(Platform.netflix, raw_title(**{field: value}))
    assert caught.value.rule == rule


def test_a_clean_row_has_no_repairs():
    assert not clean_title(Platform.netflix, raw_title()).repairs


# -- ratings ---------------------------------------------------------------------------------


def test_rating_checks_name_the_first_broken_rule():
    known = pa.array(["as1", "ns2"])
    keep, failed = clean.check_ratings(
        pa.array([1, 0, 3, 4, None, 6, 7], pa.int64()),
        pa.array([4.5, 3.0, 5.5, 4.25, 1.0, 0.5, 5.0]),
        pa.array([None, None, None, None, None, -5, 1425941529], pa.int64()),
        clean.title_index(pa.array(["as1", "as1", "as1", "zz9", "as1", "ns2", "xs1"]), known),
    )
    assert keep.tolist() == [True, False, False, False, False, False, False]
    assert [clean.RATING_RULES[i] for i in failed] == [
        "bad_user_id",
        "bad_rating",
        "bad_rating",
        "bad_user_id",
        "bad_timestamp",
        "unknown_title",
    ]


def test_every_half_step_from_half_to_five_is_a_valid_rating():
    values = [x / 2 for x in range(1, 11)]
    keep, _ = clean.check_ratings(
        pa.array([1] * 10, pa.int64()),
        pa.array(values),
        pa.array([None] * 10, pa.int64()),
        clean.title_index(pa.array(["as1"] * 10), pa.array(["as1"])),
    )
    assert keep.all()


def test_a_repeated_cast_name_is_kept_once_and_named_in_the_repair():
    repairs = clean.Repairs()
    assert clean.split_names("Ann Lee, Bo Chan, Ann Lee", repairs) == ["ann lee", "bo chan"]
    assert ("cast_duplicate_dropped", "ann lee") in repairs.items


def test_missing_after_cleaning_names_the_empty_source_columns():
    raw = dict.fromkeys(clean.TITLE_COLUMNS, "")
    raw |= {"show_id": "s1", "type": "Movie", "title": "X", "release_year": "2000"}
    raw |= {"director": "None", "rating": "", "duration": "", "cast": "1"}
    missing = clean.missing_after_cleaning(clean_title(Platform.amazon, raw))
    assert missing == [
        "director",
        "cast",
        "country",
        "date_added",
        "duration",
        "listed_in",
        "description",
    ]
