"""The four platforms, their catalogue files and the one-letter prefix of their title ids."""

from enum import StrEnum


class Platform(StrEnum):
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


CATALOGUE_FILES = {
    Platform.amazon: "amazon_prime_titles.csv",
    Platform.disney: "disney_plus_titles.csv",
    Platform.hulu: "hulu_titles.csv",
    Platform.netflix: "netflix_titles.csv",
}

PLATFORM_BY_PREFIX = {p.prefix: p for p in Platform}

TITLE_TYPES = ("movie", "tv show")
DURATION_TYPES = ("min", "season")
