"""The model artifact (NumPy arrays + metadata.json, never pickle) and NumPy scoring.

Scoring reproduces scikit-surprise's SVD.predict exactly: the global mean, plus the user bias
when the user is known, plus the item bias when the item is known, plus the dot product of the
factors when both are, clipped to the rating scale.

Layout of MODEL_DIR:
    <version>/metadata.json   version, parameters, data fingerprint, metrics, sha256 of each file
    <version>/*.npy           factors, biases, id maps, seen titles per user, cold-start prior
    current -> <version>      switched atomically once the version is complete
"""

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.files import sha256_file
from common.platforms import Platform

FORMAT = 1
ARRAYS = (
    "user_ids",  # raw user ids, sorted; the position is the inner id
    "item_ids",  # raw title ids, sorted; the position is the inner id
    "user_bias",
    "item_bias",
    "user_factors",
    "item_factors",
    "seen_indptr",  # CSR: the titles each user rated in the training data
    "seen_items",
    "item_prior",  # damped mean rating per title, for users the model does not know
)
CURRENT = "current"
PAIRS_PER_SLICE = 65_536
KEEP_VERSIONS = 3
PLATFORM_CODES = {p.prefix: k for k, p in enumerate(Platform)}


class ArtifactError(Exception):
    """The artifact is incomplete, corrupt or of an unknown format; the reason says which."""


@dataclass(frozen=True, eq=False)
class Model:
    version: str
    metadata: dict[str, Any]
    global_mean: float
    rating_scale: tuple[float, float]
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    seen_indptr: np.ndarray
    seen_items: np.ndarray
    item_prior: np.ndarray
    item_platform: np.ndarray = field(init=False)
    item_unit: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        platform = np.array([PLATFORM_CODES[i[0]] for i in self.item_ids], dtype=np.int8)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        object.__setattr__(self, "item_platform", platform)
        object.__setattr__(self, "item_unit", self.item_factors / np.where(norms == 0, 1, norms))

    # -- ids -----------------------------------------------------------------------------

    def user_index(self, user_id: int) -> int | None:
        k = int(np.searchsorted(self.user_ids, user_id))
        return k if k < len(self.user_ids) and self.user_ids[k] == user_id else None

    def item_index(self, title_id: str) -> int | None:
        k = int(np.searchsorted(self.item_ids, title_id))
        return k if k < len(self.item_ids) and self.item_ids[k] == title_id else None

    def seen(self, user: int) -> np.ndarray:
        return self.seen_items[self.seen_indptr[user] : self.seen_indptr[user + 1]]

    def platform_mask(self, platforms: list[Platform] | None) -> np.ndarray | None:
        if not platforms:
            return None
        return np.isin(self.item_platform, [PLATFORM_CODES[p.prefix] for p in platforms])

    # -- scores --------------------------------------------------------------------------

    def predict(self, user: int | None, item: int | None) -> float:
        """One prediction from inner ids (None = unknown), exactly as surprise computes it."""
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

    def user_scores(self, user: int) -> np.ndarray:
        """The user's predicted rating for every title the model knows, in one product."""
        est = self.global_mean + self.user_bias[user] + self.item_bias
        est += self.item_factors @ self.user_factors[user]
        return np.clip(est, *self.rating_scale)

    def similar(self, item: int) -> np.ndarray:
        """Cosine similarity of every title's factors to this one's."""
        return self.item_unit @ self.item_unit[item]


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


def top(scores: np.ndarray, n: int, allowed: np.ndarray | None, exclude: np.ndarray) -> np.ndarray:
    """Indices of the n best scores among the allowed, not excluded titles, best first;
    equal scores in id order."""
    candidates = np.ones(len(scores), dtype=bool) if allowed is None else allowed.copy()
    candidates[exclude] = False
    index = np.flatnonzero(candidates)
    if len(index) > n:
        # argpartition picks an arbitrary one among scores tied with the n-th: keep them all,
        # so that the id order below decides which of them make the cut.
        nth = -np.partition(-scores[index], n - 1)[n - 1]
        index = index[scores[index] >= nth]
    return index[np.lexsort((index, -scores[index]))][:n]


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
    _check_shapes(folder, arrays)
    return Model(
        version=version,
        metadata=metadata,
        global_mean=float(metadata["global_mean"]),
        rating_scale=tuple(metadata["rating_scale"]),
        **arrays,
    )


def _check_shapes(folder: Path, a: dict[str, np.ndarray]) -> None:
    users, items = len(a["user_ids"]), len(a["item_ids"])
    factors = a["user_factors"].shape[1] if a["user_factors"].ndim == 2 else -1
    expected = {
        "user_bias": (users,),
        "item_bias": (items,),
        "user_factors": (users, factors),
        "item_factors": (items, factors),
        "seen_indptr": (users + 1,),
        "item_prior": (items,),
    }
    for name, shape in expected.items():
        if a[name].shape != shape:
            raise ArtifactError(f"{folder}: {name} has shape {a[name].shape}, expected {shape}")
    if a["seen_indptr"][-1] != len(a["seen_items"]):
        raise ArtifactError(f"{folder}: seen_indptr does not match seen_items")
    if len(a["seen_items"]) and (a["seen_items"].min() < 0 or a["seen_items"].max() >= items):
        raise ArtifactError(f"{folder}: seen_items refers to titles outside item_ids")
