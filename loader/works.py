"""One work, several platforms: which catalogue rows are the same film or show.

Two titles on different platforms are one work when they have the same type and the same
normalised title (accents, case, punctuation, a trailing "(1975)" and a leading article
ignored), and:
- they were released at most a year apart, and nothing contradicts it; or
- they were released at most three years apart and a director or a cast member confirms it
  (a film is dated by its festival or by its release).
A show is dated by its first season on one platform and by its latest on another (Criminal
Minds is 2005 on Hulu and 2017 on Netflix, with 12 seasons), so for shows the years may also
be as far apart as the later-dated copy has seasons.
Named directors with nobody in common contradict it, and so do two casts with nobody in common,
unless the other confirms. Names are compared as people write them, spelt differently:
"john hancock" and "john lee hancock", "xiaogang feng" and "feng xiaogang", "chris bell" and
"christopher bell" are the same person (rapidfuzz, for the fuzzy part).

A work holds at most one title per platform; the strongest pairs are joined first. Its id is
the id of its first title in platform order (amazon, disney, hulu, netflix), then by show number.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

CLOSE_YEARS = 1  # no other evidence needed
CONFIRMED_YEARS = 3  # with a director or a cast member in common
NAME_RATIO = 90  # rapidfuzz token_sort_ratio: word order and a letter or two may differ
LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+")
TRAILING_YEAR = re.compile(r"\s*\(\d{4}\)$")
NOT_ALNUM = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Copy:
    """What the matching looks at in one catalogue row."""

    id: str
    platform: str
    type: str
    title: str
    release_year: int
    directors: tuple[str, ...]
    cast: tuple[str, ...]
    seasons: int | None = None  # shows only


def normalise_title(title: str) -> str:
    """The title as the matching compares it: 'The Pokémon Movie!' -> 'pokemon movie'."""
    text = unicodedata.normalize("NFKD", title.lower().replace("&", " and "))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = TRAILING_YEAR.sub("", text.strip())
    text = " ".join(NOT_ALNUM.sub(" ", text).replace("_", " ").split())
    return LEADING_ARTICLE.sub("", text)


def same_person(a: str, b: str) -> bool:
    """Two spellings of one name: word order, middle names, initials, short first names."""
    a, b = default_process(a), default_process(b)
    if not a or not b:
        return False
    if a == b or fuzz.token_sort_ratio(a, b) >= NAME_RATIO:
        return True
    words_a, words_b = a.split(), b.split()
    if min(len(words_a), len(words_b)) >= 2 and fuzz.token_set_ratio(a, b) == 100:
        return True  # "bruce smith" and "bruce w. smith"
    first_a, first_b = words_a[0], words_b[0]
    return (
        len(words_a) >= 2
        and len(words_b) >= 2
        and words_a[-1] == words_b[-1]
        and min(len(first_a), len(first_b)) >= 3
        and (first_a.startswith(first_b) or first_b.startswith(first_a))
    )  # "chris bell" and "christopher bell"


def _share_someone(names_a: Sequence[str], names_b: Sequence[str]) -> bool:
    return any(same_person(a, b) for a in names_a for b in names_b)


def evidence(a: Copy, b: Copy) -> tuple[bool, bool]:
    """(confirmed, contradicted) by the directors and the casts of two copies."""
    directors = bool(a.directors and b.directors)
    cast = bool(a.cast and b.cast)
    director_match = directors and _share_someone(a.directors, b.directors)
    cast_match = cast and _share_someone(a.cast, b.cast)
    confirmed = director_match or cast_match
    contradicted = (directors and not director_match) or (cast and not cast_match)
    return confirmed, contradicted and not confirmed


def same_work(a: Copy, b: Copy) -> bool:
    """Whether two titles on different platforms are one work (see the module's docstring)."""
    if a.platform == b.platform or a.type != b.type:
        return False
    if normalise_title(a.title) != normalise_title(b.title):
        return False
    gap = abs(a.release_year - b.release_year)
    later = max(a, b, key=lambda copy: copy.release_year)
    span = (later.seasons or 0) if a.type == "tv show" else 0
    if gap > max(CONFIRMED_YEARS, span):
        return False
    confirmed, contradicted = evidence(a, b)
    if confirmed:
        return True
    return not contradicted and gap <= max(CLOSE_YEARS, span)


def _order(title_id: str) -> tuple[str, int]:
    return title_id[0], int(title_id[2:])


def assign_works(copies: Iterable[Copy]) -> dict[str, str]:
    """Every title's work id: the id of the work's first title (its own id when it is alone)."""
    copies = list(copies)
    groups: dict[tuple[str, str], list[Copy]] = defaultdict(list)
    for copy in copies:
        groups[(copy.type, normalise_title(copy.title))].append(copy)

    work = {copy.id: copy.id for copy in copies}
    members: dict[str, list[Copy]] = {copy.id: [copy] for copy in copies}
    for group in groups.values():
        if len({copy.platform for copy in group}) < 2:
            continue
        pairs = []
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if same_work(a, b):
                    confirmed, _ = evidence(a, b)
                    gap = abs(a.release_year - b.release_year)
                    pairs.append((not confirmed, gap, *sorted((_order(a.id), _order(b.id))), a, b))
        # The strongest evidence first, so that a weaker pair cannot take a platform's place.
        for *_, a, b in sorted(pairs, key=lambda p: p[:4]):
            left, right = work[a.id], work[b.id]
            if left == right:
                continue
            platforms = {c.platform for c in members[left]}
            if platforms & {c.platform for c in members[right]}:
                continue  # a work holds one title per platform
            # Each work's id is its first title's: the smaller of the two stays.
            keep, gone = sorted((left, right), key=_order)
            for copy in members.pop(gone):
                work[copy.id] = keep
                members[keep].append(copy)
    return work


def copy_of(row) -> Copy:
    """The matching's view of a cleaned catalogue row (loader.clean.TitleRow)."""
    directors = tuple(d.strip() for d in (row.director or "").split(",") if d.strip())
    seasons = row.duration_int if row.duration_type == "season" else None
    return Copy(
        row.id,
        row.platform,
        row.type,
        row.title,
        row.release_year,
        directors,
        tuple(row.cast),
        seasons,
    )
