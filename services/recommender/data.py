"""Ratings out of PostgreSQL, deduplicated, split, and turned into a surprise Trainset leanly."""

import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy.engine import Connection
from surprise import Trainset

RATING_SCALE = (0.5, 5.0)
# One Python float object per possible rating, shared by all 11M (user, title, rating) tuples.
HALF_STEPS = np.array([k / 2 for k in range(1, 11)], dtype=object)

EXPORT = (
    "COPY (SELECT user_id, title_id, rating,"
    " coalesce(extract(epoch FROM rated_at)::bigint, -1), (source = 'api')::int, seq"
    " FROM ratings) TO STDOUT"
)
COLUMNS = ["user_id", "title_id", "rating", "rated_at", "from_api", "seq"]


@dataclass
class Ratings:
    """One row per rating; users and items are inner ids into `user_ids` / `item_ids`."""

    users: np.ndarray  # int32
    items: np.ndarray  # int32
    ratings: np.ndarray  # float64
    user_ids: np.ndarray  # raw ids, sorted
    item_ids: np.ndarray  # raw ids, sorted

    def __len__(self) -> int:
        return len(self.ratings)

    def take(self, rows: np.ndarray, *, all_titles: bool = False) -> "Ratings":
        """These rows, with only the users (and, unless `all_titles`, the titles) they mention;
        ids renumbered."""
        user_codes, users = np.unique(self.users[rows], return_inverse=True)
        if all_titles:
            items, item_ids = self.items[rows], self.item_ids
        else:
            item_codes, items = np.unique(self.items[rows], return_inverse=True)
            item_ids = self.item_ids[item_codes]
        return Ratings(
            users.astype(np.int32),
            items.astype(np.int32),
            self.ratings[rows],
            self.user_ids[user_codes],
            item_ids,
        )

    def over(self, title_ids: np.ndarray) -> "Ratings":
        """The same ratings, with the titles numbered as positions in `title_ids` (sorted, a
        superset of the rated titles: the whole catalogue)."""
        positions = np.searchsorted(title_ids, self.item_ids)
        inside = positions < len(title_ids)
        if not inside.all() or (title_ids[positions[inside]] != self.item_ids[inside]).any():
            missing = self.item_ids[~np.isin(self.item_ids, title_ids)][:5].tolist()
            raise ValueError(f"rated titles missing from the catalogue: {missing}")
        return Ratings(
            self.users,
            positions[self.items].astype(np.int32),
            self.ratings,
            self.user_ids,
            title_ids,
        )

    def fingerprint(self) -> dict:
        digest = hashlib.sha256()
        for array in (self.users, self.items, (self.ratings * 2).astype(np.int8)):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\n".join(self.item_ids.tolist()).encode())
        digest.update(self.user_ids.tobytes())
        return {
            "rows": len(self),
            # Codes are small integers: counting the used ones needs no sort.
            "users": int(np.count_nonzero(np.bincount(self.users))),
            "titles": int(np.count_nonzero(np.bincount(self.items))),
            "sha256": digest.hexdigest(),
        }


def read_ratings(conn: Connection) -> pa.Table:
    """Every rating row, streamed out with COPY (no ORM, no giant result set in Python objects)."""
    buffer = io.BytesIO()
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(EXPORT) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    if buffer.getbuffer().nbytes == 0:
        return pa.table({name: pa.array([], pa.int64()) for name in COLUMNS})
    return pcsv.read_csv(
        buffer,
        read_options=pcsv.ReadOptions(column_names=COLUMNS),
        parse_options=pcsv.ParseOptions(delimiter="\t"),
        convert_options=pcsv.ConvertOptions(
            column_types={
                "user_id": pa.int64(),
                "title_id": pa.string(),
                "rating": pa.float64(),
                "rated_at": pa.int64(),
                "from_api": pa.int8(),
                "seq": pa.int64(),
            }
        ),
    )


def deduplicate(table: pa.Table) -> tuple[Ratings, int]:
    """Keep one rating per (user, title): the latest by rated_at; without a time, the last one
    delivered (API ratings count as delivered after every file). Returns the rows kept, in
    delivery order, and how many were dropped."""
    user_raw = table.column("user_id").to_numpy()
    user_ids, users = np.unique(user_raw, return_inverse=True)
    encoded = pc.dictionary_encode(table.column("title_id")).combine_chunks()
    dictionary = np.asarray(encoded.dictionary.to_pylist())
    order = np.argsort(dictionary)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    items = remap[encoded.indices.to_numpy()].astype(np.int32)
    users = users.astype(np.int32)
    ratings = table.column("rating").to_numpy()
    rated_at = table.column("rated_at").to_numpy()
    from_api = table.column("from_api").to_numpy()
    seq = table.column("seq").to_numpy()

    by_pair = np.lexsort((seq, from_api, rated_at, items, users))
    u, i = users[by_pair], items[by_pair]
    last = np.ones(len(by_pair), dtype=bool)
    last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
    kept = by_pair[last]
    # Back to delivery order within each user: the order surprise's SGD will see them in.
    kept = kept[np.lexsort((seq[kept], from_api[kept], users[kept]))]
    result = Ratings(users[kept], items[kept], ratings[kept], user_ids, dictionary[order])
    return result, len(by_pair) - len(kept)


def split(n: int, *, seed: int, fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random hold-out: (train rows, test rows), each in ascending order."""
    shuffled = np.random.default_rng(seed).permutation(n)
    cut = round(n * fraction)
    return np.sort(shuffled[cut:]), np.sort(shuffled[:cut])


def sample_users(data: Ratings, rows: np.ndarray, target: int, *, seed: int) -> np.ndarray:
    """Rows of randomly chosen users (all of each user's rows) until about `target` rows."""
    users = data.users[rows]
    counts = np.bincount(users, minlength=len(data.user_ids))
    chosen = np.random.default_rng(seed).permutation(np.flatnonzero(counts))
    enough = np.searchsorted(np.cumsum(counts[chosen]), target) + 1
    keep = np.zeros(len(data.user_ids), dtype=bool)
    keep[chosen[:enough]] = True
    return rows[keep[users]]


def build_trainset(data: Ratings, rows: np.ndarray, *, with_items: bool = True) -> Trainset:
    """The Trainset surprise's Dataset.load_from_df would build, without its per-row Python
    detour: the tuples share one int object per id and one float object per rating value.
    Inner ids are the positions in data.user_ids / data.item_ids. `with_items=False` leaves
    out the item->ratings lists, which SVD never reads (BaselineOnly does)."""
    rows = rows[np.argsort(data.users[rows], kind="stable")]
    users, items, ratings = data.users[rows], data.items[rows], data.ratings[rows]
    item_objects = np.arange(len(data.item_ids), dtype=object)[items]
    rating_objects = HALF_STEPS[np.rint(ratings * 2).astype(np.int64) - 1]
    ur = defaultdict(list)
    for user, start, stop in _runs(users):
        ur[user] = list(zip(item_objects[start:stop], rating_objects[start:stop], strict=True))
    ir = defaultdict(list)
    if not with_items:
        # surprise asks `item in trainset.ir` to know an item; the lists stay empty.
        ir.update((int(item), []) for item in np.unique(items))
    else:
        by_item = np.argsort(items, kind="stable")
        user_objects = np.arange(len(data.user_ids), dtype=object)[users[by_item]]
        item_rating_objects = rating_objects[by_item]
        for item, start, stop in _runs(items[by_item]):
            ir[item] = list(
                zip(user_objects[start:stop], item_rating_objects[start:stop], strict=True)
            )
    trainset = Trainset(
        ur,
        ir,
        len(data.user_ids),
        len(data.item_ids),
        len(rows),
        RATING_SCALE,
        {int(raw): k for k, raw in enumerate(data.user_ids)},
        {str(raw): k for k, raw in enumerate(data.item_ids)},
    )
    # surprise would average a Python list of every rating; the same mean, in the same order.
    trainset._global_mean = float(np.mean(ratings)) if len(ratings) else 0.0
    return trainset


def _runs(sorted_ids: np.ndarray):
    """(id, start, stop) for each run of equal values in a sorted array."""
    if len(sorted_ids) == 0:
        return
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    stops = np.r_[starts[1:], len(sorted_ids)]
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        yield int(sorted_ids[start]), start, stop
