"""The model artifact (NumPy arrays + metadata.json, never pickle) and NumPy scoring.

Predictions reproduce scikit-surprise's SVD.predict exactly: the global mean, plus the user bias
when the user is known, plus the item bias when the title has ratings, plus the dot product of
the factors when both are, clipped to the rating scale. Every title of the catalogue is in the
artifact, rated or not: the content model knows them all (see content.py and ranking.py).

Layout of MODEL_DIR:
    <version>/metadata.json   version, parameters, data fingerprint, metrics, sha256 of each file
    <version>/*.npy           factors, biases, id maps, ratings per user, cold-start prior,
                              works, content vectors (CSR parts) and content neighbours
    current -> <version>      switched atomically once the version is complete
"""

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from common.files import sha256_file
from common.platforms import Platform
from services.recommender import ranking
from services.recommender.ranking import Neighbours, Profile

FORMAT = 2
ARRAYS = (
    "user_ids",  # raw user ids, sorted; the position is the inner id
    "item_ids",  # every title id of the catalogue, sorted; the position is the inner id
    "item_rated",  # whether the rating model has ratings for the title (else: unknown_title)
    "user_bias",
    "item_bias",
    "user_factors",
    "item_factors",
    "seen_indptr",  # CSR: the titles each user rated in the training data, and the ratings
    "seen_items",
    "seen_ratings",
    "item_prior",  # damped mean rating per title, for users the model does not know
    "item_work",  # the same film or show on several platforms: one code per work
    "content_data",  # CSR parts of the content vectors (one L2-normalised row per title)
    "content_indices",
    "content_indptr",
    "neighbour_items",  # each title's nearest titles by content (-1 pads), best first
    "neighbour_scores",
)
CURRENT = "current"
PAIRS_PER_SLICE = 65_536
KEEP_VERSIONS = 3
PLATFORM_CODES = {p.prefix: k for k, p in enumerate(Platform)}


class ArtifactError(Exception):
    """The artifact is incomplete, corrupt or of an unknown format; the reason says which."""


@dataclass(frozen=True)
class Picks:
    """Ranked titles (inner ids), the score shown for each, and the titles behind each pick."""

    items: np.ndarray
    scores: np.ndarray
    because: list[list[int]]


@dataclass(frozen=True, eq=False)
class Model:
    version: str
    metadata: dict[str, Any]
    global_mean: float
    rating_scale: tuple[float, float]
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_rated: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    seen_indptr: np.ndarray
    seen_items: np.ndarray
    seen_ratings: np.ndarray
    item_prior: np.ndarray
    item_work: np.ndarray
    content_data: np.ndarray
    content_indices: np.ndarray
    content_indptr: np.ndarray
    neighbour_items: np.ndarray
    neighbour_scores: np.ndarray
    item_platform: np.ndarray = field(init=False)
    item_unit: np.ndarray = field(init=False)
    content: sp.csr_matrix = field(init=False)
    neighbours: Neighbours = field(init=False)

    def __post_init__(self) -> None:
        platform = np.array([PLATFORM_CODES[i[0]] for i in self.item_ids], dtype=np.int8)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        vectors = sp.csr_matrix(
            (self.content_data, self.content_indices, self.content_indptr),
            shape=(len(self.item_ids), int(self.metadata["content"]["dimensions"])),
        )
        object.__setattr__(self, "item_platform", platform)
        object.__setattr__(self, "item_unit", self.item_factors / np.where(norms == 0, 1, norms))
        object.__setattr__(self, "content", vectors)
        object.__setattr__(
            self, "neighbours", Neighbours(self.neighbour_items, self.neighbour_scores)
        )

    @classmethod
    def of(cls, version: str, metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> "Model":
        """A model from its metadata and arrays, as saved (or about to be)."""
        return cls(
            version=version,
            metadata=metadata,
            global_mean=float(metadata["global_mean"]),
            rating_scale=tuple(metadata["rating_scale"]),
            **arrays,
        )

    @property
    def ranking(self) -> dict[str, Any]:
        """The blend the trainer chose on validation data (see ranking.py)."""
        return self.metadata["ranking"]

    # -- ids -----------------------------------------------------------------------------

    def user_index(self, user_id: int) -> int | None:
        k = int(np.searchsorted(self.user_ids, user_id))
        return k if k < len(self.user_ids) and self.user_ids[k] == user_id else None

    def item_index(self, title_id: str) -> int | None:
        """The title's inner id, when the title was in the catalogue at training time."""
        k = int(np.searchsorted(self.item_ids, title_id))
        return k if k < len(self.item_ids) and self.item_ids[k] == title_id else None

    def rated_index(self, title_id: str) -> int | None:
        """The title's inner id, when the rating model has ratings for it."""
        k = self.item_index(title_id)
        return k if k is not None and self.item_rated[k] else None

    def locate(self, title_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inner ids of those of `title_ids` the model has, which of `title_ids` those are)."""
        if len(title_ids) == 0:
            return np.empty(0, dtype=np.int64), np.zeros(0, dtype=bool)
        positions = np.searchsorted(self.item_ids, title_ids).clip(0, len(self.item_ids) - 1)
        found = self.item_ids[positions] == title_ids
        return positions[found], found

    def seen(self, user: int) -> np.ndarray:
        return self.seen_items[self.seen_indptr[user] : self.seen_indptr[user + 1]]

    def seen_with_ratings(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        part = slice(self.seen_indptr[user], self.seen_indptr[user + 1])
        return self.seen_items[part], self.seen_ratings[part]

    def platform_mask(self, platforms: list[Platform] | None) -> np.ndarray | None:
        if not platforms:
            return None
        return np.isin(self.item_platform, [PLATFORM_CODES[p.prefix] for p in platforms])

    # -- scores --------------------------------------------------------------------------

    def predict(self, user: int | None, item: int | None) -> float:
        """One prediction from inner ids (None = unknown, and so is a title without ratings),
        exactly as surprise computes it."""
        if item is not None and not self.item_rated[item]:
            item = None
        est = self.global_mean
        if user is not None:
            est += self.user_bias[user]
        if item is not None:
            est += self.item_bias[item]
        if user is not None and item is not None:
            est += np.dot(self.item_factors[item], self.user_factors[user])
        low, high = self.rating_scale
        return float(max(low, min(high, est)))

    def predict_many(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Vectorised predict over pairs of inner ids; -1 marks an unknown id."""
        items = np.where((items >= 0) & self.item_rated[np.maximum(items, 0)], items, -1)
        return estimate(
            self.global_mean,
            self.rating_scale,
            self.user_bias,
            self.item_bias,
            self.user_factors,
            self.item_factors,
            users,
            items,
        )

    def user_scores(self, user: int | None) -> np.ndarray:
        """The user's predicted rating for every title, in one product (titles without ratings
        get the user's bias only, as surprise does for an unknown title)."""
        est = self.global_mean + self.item_bias  # zero for titles without ratings
        if user is not None:
            est = est + self.user_bias[user] + self.item_factors @ self.user_factors[user]
        return np.clip(est, *self.rating_scale)

    def content_similarity(self, item: int) -> np.ndarray:
        """Cosine similarity of every title's content vector to this one's."""
        column = self.content[item].T
        return np.ravel(safe_sparse_dot(self.content, column, dense_output=True))

    def factor_similarity(self, item: int) -> np.ndarray:
        """Cosine similarity of every title's rating factors to this one's."""
        return self.item_unit @ self.item_unit[item]

    # -- lists ---------------------------------------------------------------------------

    def similar(self, item: int, n: int, allowed: np.ndarray | None) -> Picks:
        """The n titles most like this one, one copy per work and none of its own work: its
        content neighbours, blended with the rating factors by the weight the trainer chose."""
        alpha = float(self.ranking["similar_factor_weight"])
        others = self.item_work != self.item_work[item]
        if allowed is not None:
            others &= allowed
        if alpha == 0:
            # The usual case is answered from the neighbour list alone (positions into it).
            nb, sims = self.neighbour_items[item], self.neighbour_scores[item]
            usable = (nb >= 0) & (sims > 0)
            usable[usable] &= others[nb[usable]]
            positions = ranking.best_per_work(np.flatnonzero(usable), self.item_work[nb])[:n]
            if len(positions) == n:
                return Picks(nb[positions], sims[positions].astype(np.float64), [])
            # Too few left in the list (a platform filter, say): every title, then.
            scores = self.content_similarity(item)
        else:
            content = self.content_similarity(item)
            scores = (1 - alpha) * content + alpha * self.factor_similarity(item)
        best = ranking.shortlist(scores, others & (scores > 0), self.item_work, n)
        return Picks(best, scores[best], [])

    def recommend(
        self,
        user: int | None,
        *,
        extra_items: np.ndarray,
        extra_ratings: np.ndarray,
        n: int,
        allowed: np.ndarray | None,
        exclude_seen: bool,
    ) -> Picks:
        """The user's n picks (see ranking.py): from the ratings the model was trained on plus
        `extra_*` (rated since, through the API; they win over older ratings of a title)."""
        items, ratings = self.seen_with_ratings(user) if user is not None else _NONE
        if len(extra_items):
            older = ~np.isin(items, extra_items)
            items = np.concatenate([items[older], extra_items])
            ratings = np.concatenate([ratings[older], extra_ratings])
        candidates = np.ones(len(self.item_ids), dtype=bool) if allowed is None else allowed.copy()
        if exclude_seen and len(items):
            rated_works = np.zeros(int(self.item_work.max()) + 1, dtype=bool)
            rated_works[self.item_work[items]] = True
            candidates &= ~rated_works[self.item_work]
        if user is None and len(items) == 0:
            best = ranking.shortlist(self.item_prior, candidates, self.item_work, n)
            return Picks(best, self.item_prior[best], [[] for _ in best])
        predicted = self.user_scores(user)
        profile = Profile.of(items, ratings.astype(np.float64), self.global_mean)
        affinity, sources, targets, amounts = ranking.affinity(
            profile, self.neighbours, len(self.item_ids)
        )
        scores = ranking.blend(
            self.ranking["weights"],
            prediction=predicted,
            affinity=affinity,
            prior=self.item_prior,
        )
        pool = min(n * ranking.MMR_POOL, max(n, ranking.MMR_POOL_MAX))
        shortlist = ranking.shortlist(scores, candidates, self.item_work, pool)
        best = ranking.diversify(shortlist, scores, self.neighbours, n)
        return Picks(best, predicted[best], ranking.because(best, sources, targets, amounts))


_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))


def estimate(
    global_mean: float,
    rating_scale: tuple[float, float],
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    user_factors: np.ndarray | None,
    item_factors: np.ndarray | None,
    users: np.ndarray,
    items: np.ndarray,
) -> np.ndarray:
    """surprise's SVD (or, without factors, BaselineOnly) estimate for many (user, item) pairs
    of inner ids at once; -1 marks an unknown id."""
    known_u, known_i = users >= 0, items >= 0
    u, i = np.where(known_u, users, 0), np.where(known_i, items, 0)
    est = np.full(len(users), global_mean)
    est += np.where(known_u, user_bias[u], 0.0)
    est += np.where(known_i, item_bias[i], 0.0)
    if user_factors is not None and item_factors is not None:
        both = known_u & known_i
        # In slices: gathering the factors of a million pairs at once would need gigabytes.
        for start in range(0, len(users), PAIRS_PER_SLICE):
            part = slice(start, start + PAIRS_PER_SLICE)
            dots = np.einsum("ij,ij->i", item_factors[i[part]], user_factors[u[part]])
            est[part] += np.where(both[part], dots, 0.0)
    return np.clip(est, *rating_scale)


# -- saving and loading --------------------------------------------------------------------


def save(
    model_dir: Path, version: str, arrays: dict[str, np.ndarray], metadata: dict[str, Any]
) -> Path:
    """Write a complete version, then point `current` at it (atomically), then prune old ones."""
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f".incoming-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    files = {}
    for name in ARRAYS:
        path = staging / f"{name}.npy"
        np.save(path, arrays[name], allow_pickle=False)
        files[path.name] = sha256_file(path)
    document = {**metadata, "format": FORMAT, "version": version, "files": files}
    (staging / "metadata.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    for path in staging.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    final = model_dir / version
    os.replace(staging, final)
    _point_current(model_dir, version)
    _prune(model_dir, keep=version)
    return final


def _point_current(model_dir: Path, version: str) -> None:
    link = model_dir / f".{CURRENT}.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(version)
    os.replace(link, model_dir / CURRENT)


def _prune(model_dir: Path, keep: str) -> None:
    versions = sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(model_dir: Path) -> str | None:
    """The version `current` points at, or None when there is none yet."""
    try:
        return os.readlink(model_dir / CURRENT)
    except OSError:
        return None


def load(model_dir: Path, version: str | None = None) -> Model:
    """Load and verify a version (default: current). Never runs code from the files."""
    version = version or current_version(model_dir)
    if version is None:
        raise ArtifactError(f"no model yet: {model_dir / CURRENT} does not exist (run the trainer)")
    folder = model_dir / version
    try:
        metadata = json.loads((folder / "metadata.json").read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{folder}: metadata.json is missing") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{folder}: metadata.json is unreadable ({exc})") from None
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{folder}: unknown artifact format {metadata.get('format')!r}")
    arrays = {}
    for name in ARRAYS:
        path = folder / f"{name}.npy"
        expected = metadata.get("files", {}).get(path.name)
        if not path.exists():
            raise ArtifactError(f"{path}: missing")
        if expected is None or sha256_file(path) != expected:
            raise ArtifactError(
                f"{path}: checksum does not match metadata.json (corrupt or tampered)"
            )
        try:
            arrays[name] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ArtifactError(f"{path}: not a plain NumPy array ({exc})") from None
    _check_shapes(folder, arrays, metadata)
    return Model.of(version, metadata, arrays)


def _check_shapes(folder: Path, a: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    users, items = len(a["user_ids"]), len(a["item_ids"])
    factors = a["user_factors"].shape[1] if a["user_factors"].ndim == 2 else -1
    k = a["neighbour_items"].shape[1] if a["neighbour_items"].ndim == 2 else -1
    expected = {
        "item_rated": (items,),
        "user_bias": (users,),
        "item_bias": (items,),
        "user_factors": (users, factors),
        "item_factors": (items, factors),
        "seen_indptr": (users + 1,),
        "seen_ratings": a["seen_items"].shape,
        "item_prior": (items,),
        "item_work": (items,),
        "content_indptr": (items + 1,),
        "content_indices": a["content_data"].shape,
        "neighbour_items": (items, k),
        "neighbour_scores": (items, k),
    }
    for name, shape in expected.items():
        if a[name].shape != shape:
            raise ArtifactError(f"{folder}: {name} has shape {a[name].shape}, expected {shape}")
    if a["seen_indptr"][-1] != len(a["seen_items"]):
        raise ArtifactError(f"{folder}: seen_indptr does not match seen_items")
    if a["content_indptr"][-1] != len(a["content_data"]):
        raise ArtifactError(f"{folder}: content_indptr does not match content_data")
    for name, bound in (
        ("seen_items", items),
        ("neighbour_items", items),
        ("content_indices", int(metadata.get("content", {}).get("dimensions", -1))),
    ):
        values = a[name]
        if len(values) and (
            values.min() < (-1 if name == "neighbour_items" else 0) or values.max() >= bound
        ):
            raise ArtifactError(f"{folder}: {name} refers to entries outside their range")
    for key in ("ranking", "content"):
        if key not in metadata:
            raise ArtifactError(f"{folder}: metadata.json has no {key!r} section")
