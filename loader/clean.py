"""Pure cleaning rules for catalogue rows and ratings. No I/O here: every rule is unit-tested.

A rule either repairs a value (and says which rule did it) or rejects the row (`Reject`).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from common.platforms import PLATFORM_BY_PREFIX, TITLE_TYPES, Platform, is_title_id

# Bump when a rule changes, so an unchanged data set is still reloaded under the new rules.
RULES_VERSION = 2

TITLE_COLUMNS = (
    "show_id",
    "type",
    "title",
    "director",
    "cast",
    "country",
    "date_added",
    "release_year",
    "rating",
    "duration",
    "listed_in",
    "description",
)
RATING_COLUMNS = ("userId", "rating", "timestamp", "movieId")


def missing_after_cleaning(row: "TitleRow") -> list[str]:
    """The source columns a cleaned title has no value for."""
    values = {
        "show_id": row.show_id,
        "type": row.type,
        "title": row.title,
        "director": row.director,
        "cast": row.cast,
        "country": row.country,
        "date_added": row.date_added,
        "release_year": row.release_year,
        "rating": row.rating,
        "duration": row.duration_int,
        "listed_in": row.listed_in,
        "description": row.description,
    }
    return [column for column in TITLE_COLUMNS if values[column] in (None, [], "")]


MIN_YEAR, MAX_YEAR = 1850, 2100
MIN_RATING, MAX_RATING = 0.5, 5.0
MAX_USER_ID = 2**31 - 1

ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
LINE_BREAK = re.compile("[\r\n\u2028\u2029\x85\v\f]")
WHITESPACE_RUN = re.compile(r"\s+")
SHOW_ID = re.compile(r"s[1-9]\d{0,8}")
DURATION = re.compile(r"(\d{1,5})\s*(min|mins|minutes?|seasons?)", re.IGNORECASE)
# Name suffixes that a comma split tears off the name they belong to.
NAME_SUFFIX = re.compile(r"(jr|sr|ph\.?\s?d|md|m\.d|esq|ii|iii|iv)\.?", re.IGNORECASE)
# Amazon truncated a few maturity codes at the source; map them to Amazon's own full codes.
UNTRUNCATED_MATURITY = {
    "ages_16_": "16+",
    "ages_18_": "18+",
    "all_ages": "all",
    "not_rate": "nr",
    "16": "16+",
}
NULL_WORDS = {"none"}
FILLED_RATING = "g"  # an empty maturity rating, as the bootcamp's ETL filled it


class Reject(ValueError):
    """The row cannot be loaded; `rule` names why."""

    def __init__(self, rule: str, detail: str):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


@dataclass
class Repairs:
    """The rules that changed a row, each with a short human-readable detail."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, rule: str, detail: str) -> None:
        self.items.append((rule, detail))

    def __bool__(self) -> bool:
        return bool(self.items)


def clean_text(raw: str | None, column: str = "", repairs: Repairs | None = None) -> str | None:
    """NFC, zero-width characters removed, white space collapsed, lower case; '' becomes None."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw)
    if ZERO_WIDTH.search(text):
        text = ZERO_WIDTH.sub("", text)
        _note(repairs, "zero_width_removed", column)
    has_line_break = bool(LINE_BREAK.search(text))
    if has_line_break:
        _note(repairs, "line_break_collapsed", column)
    stripped = text.strip()
    if stripped != text:
        _note(repairs, "whitespace_trimmed", column)
    collapsed = WHITESPACE_RUN.sub(" ", stripped)
    if collapsed != stripped and not has_line_break:
        _note(repairs, "whitespace_collapsed", column)
    return collapsed.lower() or None


def _note(repairs: Repairs | None, rule: str, column: str) -> None:
    if repairs is not None:
        repairs.add(rule, column)


def build_id(platform: Platform, show_id: str) -> str:
    """`as123` for Amazon's `s123`: the platform's first letter + show_id."""
    if not SHOW_ID.fullmatch(show_id):
        raise Reject("bad_show_id", f"show_id {show_id!r} is not s<number>")
    return platform.prefix + show_id


def parse_id(title_id: str) -> tuple[Platform, str]:
    """The inverse of build_id."""
    if not is_title_id(title_id):
        raise ValueError(f"title id {title_id!r} is not [adhn]s<number>")
    return PLATFORM_BY_PREFIX[title_id[0]], title_id[1:]


def parse_duration(raw: str | None) -> tuple[int, str] | None:
    """'90 min' -> (90, 'min'); '1 Season' / '3 Seasons' -> (n, 'season'); '' -> None."""
    text = (raw or "").strip()
    if not text:
        return None
    match = DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"duration {raw!r} is neither '<n> min' nor '<n> Season(s)'")
    unit = "season" if match[2].lower().startswith("season") else "min"
    return int(match[1]), unit


def format_duration(value: int, unit: str) -> str:
    """The source's own spelling: '90 min', '1 Season', '3 Seasons'."""
    if unit == "min":
        return f"{value} min"
    return f"{value} Season" if value == 1 else f"{value} Seasons"


def parse_date(raw: str | None) -> date | None:
    """'September 25, 2021' (leading space allowed) -> date(2021, 9, 25); '' -> None."""
    text = (raw or "").strip()
    if not text:
        return None
    return datetime.strptime(text, "%B %d, %Y").date()


def format_date(value: date) -> str:
    """The source's own spelling: 'September 25, 2021'."""
    return f"{value:%B} {value.day}, {value.year:04d}"


def split_names(raw: str | None, repairs: Repairs | None = None) -> list[str]:
    """Split a comma list of people, keeping suffixes (Jr., Ph.D.) with the name before them.

    A piece with no letter (e.g. '1') is not a name; a name listed twice is kept once.
    """
    names: list[str] = []
    for piece in (raw or "").split(","):
        # The space after each comma is the separator itself, not something to repair.
        name = clean_text(piece.strip(" "), "cast", repairs)
        if name is None:
            continue
        if NAME_SUFFIX.fullmatch(name):
            if names:
                names[-1] = f"{names[-1]} {name}"
                _note(repairs, "cast_suffix_joined", name)
            else:
                _note(repairs, "cast_non_name_dropped", name)
            continue
        if not any(ch.isalpha() for ch in name):
            _note(repairs, "cast_non_name_dropped", name)
            continue
        names.append(name)
    unique = list(dict.fromkeys(names))
    if len(unique) != len(names):
        repeated = [name for name in unique if names.count(name) > 1]
        _note(repairs, "cast_duplicate_dropped", ", ".join(repeated))
    return unique


def split_genres(listed_in: str | None) -> list[str]:
    """'Comedies, Dramas' -> ['comedies', 'dramas'] (already cleaned text in, each genre once)."""
    genres = (clean_text(g) for g in (listed_in or "").split(","))
    return list(dict.fromkeys(g for g in genres if g))


@dataclass
class TitleRow:
    id: str
    platform: str
    show_id: str
    type: str
    title: str
    director: str | None
    country: str | None
    date_added: date | None
    release_year: int
    rating: str
    duration_int: int | None
    duration_type: str | None
    listed_in: str | None
    description: str | None
    cast: list[str]
    genres: list[str]
    repairs: Repairs


def clean_title(platform: Platform, raw: dict[str, str]) -> TitleRow:
    """One catalogue record, cleaned; raises Reject when it cannot be a title."""
    repairs = Repairs()
    show_id = (raw["show_id"] or "").strip()
    title_id = build_id(platform, show_id)

    kind = clean_text(raw["type"])
    if kind not in TITLE_TYPES:
        raise Reject("bad_type", f"type {raw['type']!r} is not Movie or TV Show")
    title = clean_text(raw["title"], "title", repairs)
    if title is None:
        raise Reject("missing_title", "title is empty")
    try:
        release_year = int(raw["release_year"].strip())
    except ValueError:
        raise Reject("bad_release_year", f"release_year {raw['release_year']!r}") from None
    if not MIN_YEAR <= release_year <= MAX_YEAR:
        raise Reject("bad_release_year", f"release_year {release_year} is out of range")

    people = {col: _people_field(raw[col], col, repairs) for col in ("director", "country")}
    cast = split_names(None if _is_null_word(raw["cast"]) else raw["cast"], repairs)

    duration_text, maturity = raw["duration"], raw["rating"]
    if _looks_like_duration(maturity):
        if not (duration_text or "").strip():
            duration_text = maturity
            repairs.add("duration_moved_from_rating", f"rating {maturity!r} was the duration")
        else:
            repairs.add("duration_in_rating_dropped", f"rating {maturity!r}; duration kept")
        maturity = ""
    rating = clean_text(maturity, "rating", repairs)
    if rating is None:
        rating = FILLED_RATING
        repairs.add("null_rating_to_g", "maturity rating was empty")
    elif rating in UNTRUNCATED_MATURITY:
        repairs.add("maturity_code_untruncated", f"{rating!r} -> {UNTRUNCATED_MATURITY[rating]!r}")
        rating = UNTRUNCATED_MATURITY[rating]

    try:
        duration = parse_duration(duration_text)
    except ValueError as exc:
        duration = None
        repairs.add("duration_unparseable", str(exc))
    if raw["duration"].strip() and raw["duration"] != raw["duration"].strip():
        repairs.add("whitespace_trimmed", "duration")

    try:
        date_added = parse_date(raw["date_added"])
    except ValueError:
        date_added = None
        repairs.add("date_unparseable", f"date_added {raw['date_added']!r} set to null")
    if raw["date_added"].strip() and raw["date_added"] != raw["date_added"].strip():
        repairs.add("whitespace_trimmed", "date_added")

    listed_in = clean_text(raw["listed_in"], "listed_in", repairs)
    return TitleRow(
        id=title_id,
        platform=platform.value,
        show_id=show_id,
        type=kind,
        title=title,
        director=people["director"],
        country=people["country"],
        date_added=date_added,
        release_year=release_year,
        rating=rating,
        duration_int=duration[0] if duration else None,
        duration_type=duration[1] if duration else None,
        listed_in=listed_in,
        description=clean_text(raw["description"], "description", repairs),
        cast=cast,
        genres=split_genres(listed_in),
        repairs=repairs,
    )


def _people_field(raw: str, column: str, repairs: Repairs) -> str | None:
    if _is_null_word(raw):
        repairs.add("literal_none_to_null", f"{column} was the word {raw.strip()!r}")
        return None
    return clean_text(raw, column, repairs)


def _is_null_word(raw: str | None) -> bool:
    return (raw or "").strip().lower() in NULL_WORDS


def _looks_like_duration(raw: str | None) -> bool:
    try:
        return parse_duration(raw) is not None
    except ValueError:
        return False


MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01, seconds since the epoch


def title_index(movie_id: pa.Array, known: pa.Array) -> pa.Array:
    """Each movieId's position in `known` (the loaded title ids); null when it is no title."""
    return pc.index_in(movie_id, value_set=known)


def check_ratings(
    user_id: pa.Array, rating: pa.Array, timestamp: pa.Array, title: pa.Array
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows to keep, and for the others the index of the first rule they break
    (an index into RATING_RULES). Nulls stand for values the reader could not parse;
    `title` is title_index(movie_id, known).
    """
    checks = [
        pc.and_(pc.greater_equal(user_id, 1), pc.less_equal(user_id, MAX_USER_ID)),
        pc.and_(
            pc.and_(pc.greater_equal(rating, MIN_RATING), pc.less_equal(rating, MAX_RATING)),
            pc.equal(pc.multiply(rating, 2.0), pc.round(pc.multiply(rating, 2.0))),
        ),
        pc.or_kleene(
            pc.is_null(timestamp),
            pc.and_(pc.greater_equal(timestamp, 0), pc.less(timestamp, MAX_TIMESTAMP)),
        ),
        pc.is_valid(title),
    ]
    passed = np.stack([c.fill_null(False).to_numpy(zero_copy_only=False) for c in checks])
    keep = passed.all(axis=0)
    first_failure = np.argmin(passed[:, ~keep], axis=0)
    return keep, first_failure


RATING_RULES = ("bad_user_id", "bad_rating", "bad_timestamp", "unknown_title")


def describe_rating_reject(rule: str, user_id, rating, timestamp, movie_id) -> str:
    """One line a person can act on."""
    return {
        "bad_user_id": f"userId {user_id!r} is not an integer from 1 to {MAX_USER_ID}",
        "bad_rating": f"rating {rating!r} is not {MIN_RATING}-{MAX_RATING} in steps of 0.5",
        "bad_timestamp": f"timestamp {timestamp!r} is not Unix seconds before 2100",
        "unknown_title": f"movieId {movie_id!r} matches no title in the catalogues",
    }[rule]


# What each rule means, for people reading a load's record (the insights report shows these).
RULE_EXPLANATIONS = {
    "zero_width_removed": "invisible zero-width characters removed from a text field",
    "line_break_collapsed": "line breaks inside a field replaced by a space",
    "whitespace_trimmed": "spaces around a value removed",
    "whitespace_collapsed": "runs of spaces inside a value made one space",
    "cast_suffix_joined": "a suffix (Jr., Ph.D.) split off by the comma joined back to its name",
    "cast_non_name_dropped": "a cast entry with no letter in it (e.g. '1') dropped",
    "cast_duplicate_dropped": "a name listed twice in one cast kept once",
    "literal_none_to_null": "the word 'None' in director or country made a real null",
    "duration_moved_from_rating": "a duration found in the maturity-rating column moved back",
    "duration_in_rating_dropped": "a duration in the rating column dropped; the duration kept",
    "null_rating_to_g": "an empty maturity rating set to g (the bootcamp's rule)",
    "maturity_code_untruncated": "a maturity code truncated at the source restored",
    "duration_unparseable": "a duration that is neither minutes nor seasons set to null",
    "date_unparseable": "a date_added that is not 'Month D, YYYY' set to null",
    "wrong_field_count": "the row has more or fewer fields than the header",
    "bad_show_id": "show_id is not s<number>",
    "bad_type": "type is neither Movie nor TV Show",
    "missing_title": "the title is empty",
    "bad_release_year": f"release_year is not a year from {MIN_YEAR} to {MAX_YEAR}",
    "duplicate_show_id": "the show_id appeared earlier in the same file",
    "bad_user_id": f"userId is not an integer from 1 to {MAX_USER_ID}",
    "bad_rating": f"rating is not {MIN_RATING}-{MAX_RATING} in steps of 0.5",
    "bad_timestamp": "timestamp is not Unix seconds before 2100",
    "unknown_title": "movieId matches no title in the catalogues",
}
