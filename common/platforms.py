"""The four platforms, title types and duration units, shared by every service."""

import re
from enum import StrEnum


class _CaseInsensitive(StrEnum):
    @classmethod
    def _missing_(cls, value: object):
        if isinstance(value, str):
            return cls.__members__.get(value.strip().lower().replace(" ", "_"))
        return None


class Platform(_CaseInsensitive):
    amazon = "amazon"
    disney = "disney"
    hulu = "hulu"
    netflix = "netflix"

    @property
    def prefix(self) -> str:
        return self.value[0]

    @property
    def catalogue_file(self) -> str:
        return CATALOGUE_FILES[self]


class TitleType(_CaseInsensitive):
    movie = "movie"
    tv_show = "tv show"


class DurationType(_CaseInsensitive):
    min = "min"
    season = "season"


CATALOGUE_FILES = {
    Platform.amazon: "amazon_prime_titles.csv",
    Platform.disney: "disney_plus_titles.csv",
    Platform.hulu: "hulu_titles.csv",
    Platform.netflix: "netflix_titles.csv",
}

PLATFORM_BY_PREFIX = {p.prefix: p for p in Platform}
TITLE_TYPES = tuple(t.value for t in TitleType)
TITLE_ID_PATTERN = r"^[adhn]s[1-9][0-9]{0,8}$"


def is_title_id(text: str) -> bool:
    return re.fullmatch(TITLE_ID_PATTERN, text) is not None
