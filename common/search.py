"""How search sees text: the loader folds each title's fields with these functions, the catalog
folds each query with the same ones, so both sides agree on every server (the embedded one has
no unaccent)."""

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+")
# Everything but letters, digits, white space, double quotes and hyphens, and the underscore.
_PUNCTUATION = re.compile(r'[^\w\s"-]|_')
# A hyphen negates only at the start of a word (websearch_to_tsquery's rule); inside a word
# ("spider-man") or on its own it separates words, as it does in the folded documents.
_LOOSE_HYPHEN = re.compile(r'(?<=[^\s"])-|-(?![^\W_]|")')
_NEGATED = re.compile(r'(?<![^\s"])-(?:"[^"]*"?|[^\s"]+)')


def fold(text: str) -> str:
    """Lower case without accents: "Pokémon" and "POKEMON" both become "pokemon"."""
    if text.isascii():
        return text.lower()
    # Every combining mark goes, not only accents: the words stay whole in every script.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))


def search_key(text: str | None) -> str:
    """The folded words of `text` separated by single spaces: what titles are compared by."""
    return " ".join(_WORD.findall(fold(text or "")))


def document(
    *,
    title: str,
    director: str | None,
    cast: list[str],
    genres: list[str],
    country: str | None,
    description: str | None,
) -> dict[str, str | None]:
    """The search columns of one title (see common/tables.py), as the loader writes them."""
    people = [*([director] if director else []), *cast]
    return {
        "search_title": search_key(title),
        "search_people": search_key(", ".join(people)) or None,
        "search_tags": search_key(", ".join([*genres, *([country] if country else [])])) or None,
        "search_description": search_key(description) or None,
    }


@dataclass(frozen=True)
class Query:
    """A search as typed, in the forms the catalog's SQL needs."""

    websearch: str  # for websearch_to_tsquery: folded words, quotes and leading hyphens kept
    key: str  # the words wanted (negated ones left out), compared with the titles' search keys
    plain: bool  # words only: no "phrase", no `or`, no -word

    @classmethod
    def parse(cls, text: str) -> "Query":
        folded = _LOOSE_HYPHEN.sub(" ", _PUNCTUATION.sub(" ", fold(text)))
        websearch = " ".join(folded.split())
        key = search_key(_NEGATED.sub(" ", websearch))
        return cls(websearch, key, websearch == key and "or" not in key.split())
