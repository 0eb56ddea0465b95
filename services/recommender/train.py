"""python -m services.recommender.train: fit SVD on the ratings in PostgreSQL and a content
model on the catalogue, evaluate both against baselines on a held-out split, choose the
ranking's weights on it, refit on everything and write a model version.

    [--database-url URL] [--model-dir DIR] [--factors N] [--epochs N] [--lr X] [--reg X]
    [--seed 0] [--sample N] [--tune [--tune-sample N]]

The defaults for factors, epochs, learning rate and regularisation are the ones the last
`--tune` search chose; it is recorded in tuning.json next to this file and in every model.
"""

import argparse
import gc
import itertools
import json
import platform
import resource
import sys
import time
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from surprise import SVD, BaselineOnly

from common import stats
from common.db import engine_at, error_line
from services.recommender import content, evaluation, quality, screening, validation
from services.recommender.content import Catalogue
from services.recommender.data import (
    RATING_SCALE,
    Ratings,
    build_trainset,
    deduplicate,
    read_ratings,
    sample_users,
    split,
)
from services.recommender.model import Model, estimate, save
from services.recommender.ranking import Neighbours
from services.recommender.settings import Settings

TUNING_FILE = Path(__file__).with_name("tuning.json")
TEST_FRACTION = 0.1
PRIOR_STRENGTH = 50  # cold start: a title's mean, damped toward the global mean by 50 ratings
# Biases and factors are regularised separately: with no title signal in the data, the title
# biases and the factors are mostly noise and want far more shrinkage than the user biases.
GRID = {
    "n_factors": [2, 20, 100],
    "n_epochs": [10, 20],
    "lr_all": [0.005, 0.01],
    "reg_bu": [0.02, 0.1],
    "reg_bi": [0.02, 0.5, 2.0],
    "reg_factors": [0.02, 1.0],
}
SURPRISE_DEFAULTS = {
    "n_factors": 100,
    "n_epochs": 20,
    "lr_all": 0.005,
    "reg_bu": 0.02,
    "reg_bi": 0.02,
    "reg_factors": 0.02,
}


@dataclass(frozen=True)
class Params:
    n_factors: int
    n_epochs: int
    lr_all: float
    reg_bu: float
    reg_bi: float
    reg_factors: float  # surprise's reg_pu and reg_qi

    def svd(self, *, seed: int, verbose: bool = False) -> SVD:
        return SVD(
            n_factors=self.n_factors,
            n_epochs=self.n_epochs,
            lr_all=self.lr_all,
            reg_bu=self.reg_bu,
            reg_bi=self.reg_bi,
            reg_pu=self.reg_factors,
            reg_qi=self.reg_factors,
            random_state=seed,
            verbose=verbose,
        )


class TrainerError(Exception):
    """A problem that stops training; the message names what and where."""


def read_tuning(path: Path = TUNING_FILE) -> dict | None:
    """The last --tune search, or None before any."""
    try:
        tuning = json.loads(path.read_text())
        Params(**tuning["best"]["params"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainerError(f"{path}: not a valid tuning record ({exc!r})") from None
    return tuning


def tuned_defaults(path: Path = TUNING_FILE) -> Params:
    """The parameters the last --tune search chose (surprise's own defaults before any)."""
    tuning = read_tuning(path)
    return Params(**(tuning["best"]["params"] if tuning else SURPRISE_DEFAULTS))


def check_writable(model_dir: Path) -> None:
    """Fail before an hour of work, not after it."""
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        probe = model_dir / ".write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise TrainerError(
            f"{model_dir}: cannot write models here ({exc.strerror or exc})"
        ) from None


def rss_gb() -> float:
    """Resident memory now (Linux); 0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**30
    except OSError:
        return 0.0


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}
        self._last = self.started

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:7.1f} s {rss_gb():4.1f} GB] {message}", file=sys.stderr, flush=True)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.marks[name] = round(now - self._last, 2)
        self._last = now


class EpochProgress:
    """Turns surprise's `Processing epoch N` lines into timed progress lines on stderr."""

    def __init__(self, clock: Clock, label: str, epochs: int):
        self.clock, self.label, self.epochs = clock, label, epochs

    def write(self, text: str) -> None:
        if text.startswith("Processing epoch"):
            epoch = int(text.split()[-1]) + 1
            self.clock.log(f"{self.label}: epoch {epoch}/{self.epochs}")

    def flush(self) -> None:
        pass


def fit_svd(
    trainset, params: Params, *, seed: int, clock: Clock | None = None, label: str = "svd"
) -> SVD:
    algo = params.svd(seed=seed, verbose=clock is not None)
    if clock is None:
        return algo.fit(trainset)
    with redirect_stdout(EpochProgress(clock, label, params.n_epochs)):
        return algo.fit(trainset)


def known_or_unknown(ids: np.ndarray, train_ids: np.ndarray, size: int) -> np.ndarray:
    """ids, with -1 where the id has no training rating (surprise then treats it as unknown)."""
    known = np.bincount(train_ids, minlength=size) > 0
    return np.where(known[ids], ids, -1)


@dataclass
class Holdout:
    """A trainset, and the held-out rows' users and titles (-1 where the trainset has none of
    theirs) and true ratings: what every model is fitted on and scored against."""

    trainset: Any
    users: np.ndarray
    items: np.ndarray
    truth: np.ndarray

    @classmethod
    def of(cls, data: Ratings, fit_rows: np.ndarray, test_rows: np.ndarray) -> "Holdout":
        return cls(
            build_trainset(data, fit_rows),
            known_or_unknown(data.users[test_rows], data.users[fit_rows], len(data.user_ids)),
            known_or_unknown(data.items[test_rows], data.items[fit_rows], len(data.item_ids)),
            data.ratings[test_rows],
        )

    def predict(self, bu, bi, pu=None, qi=None) -> np.ndarray:
        mean = self.trainset.global_mean
        return estimate(mean, RATING_SCALE, bu, bi, pu, qi, self.users, self.items)

    def baseline(self) -> np.ndarray:
        """surprise's BaselineOnly (biases only, ALS), fitted and scored here."""
        baseline = BaselineOnly(verbose=False).fit(self.trainset)
        return self.predict(baseline.bu, baseline.bi)


def evaluate(
    data: Ratings,
    params: Params,
    *,
    seed: int,
    clock: Clock,
    neighbours: Neighbours,
    title_signal_z: float,
) -> tuple[dict, dict]:
    """The held-out metrics of SVD and the baselines, and the ranking the service will use
    (validation.choose), from one split."""
    train, test = split(len(data), seed=seed, fraction=TEST_FRACTION)
    clock.log(
        f"held out {len(test):,} ratings ({TEST_FRACTION:.0%}, seed {seed}); building the trainset"
    )
    held = Holdout.of(data, train, test)
    users, items, truth, test_users = held.users, held.items, held.truth, data.users[test]

    clock.log("fitting the bias-only baseline (surprise BaselineOnly, ALS)")
    baseline = held.baseline()
    svd = fit_svd(held.trainset, params, seed=seed, clock=clock, label="svd on 90%")
    predictions = {
        "global_mean": np.full(len(test), held.trainset.global_mean),
        "baseline_only": baseline,
        "svd": held.predict(svd.bu, svd.bi, svd.pu, svd.qi),
        "random": np.random.default_rng(seed).uniform(*RATING_SCALE, len(test)),
    }
    models = {
        name: evaluation.scores(truth, predicted, test_users, seed=seed)
        for name, predicted in predictions.items()
    }
    models["random"] = {k: v for k, v in models["random"].items() if k not in ("rmse", "mae")}
    clock.lap("evaluate")
    clock.log("choosing the ranking's weights on the held-out ratings")
    fit_votes = np.bincount(data.items[train], minlength=len(data.item_ids))
    fit_sums = np.bincount(data.items[train], weights=data.ratings[train], minlength=len(fit_votes))
    fit_mean = held.trainset.global_mean
    ranking = validation.choose(
        users=data.users[train],
        items=data.items[train],
        ratings=data.ratings[train],
        test_users=test_users,
        test_items=data.items[test],
        test_truth=truth,
        global_mean=fit_mean,
        user_bias=np.asarray(svd.bu),
        item_bias=np.where(fit_votes > 0, svd.bi, 0.0),
        user_factors=np.asarray(svd.pu),
        item_factors=np.where(fit_votes[:, None] > 0, svd.qi, 0.0),
        prior=(fit_sums + PRIOR_STRENGTH * fit_mean) / (fit_votes + PRIOR_STRENGTH),
        neighbours=neighbours,
        title_signal_z=title_signal_z,
        rating_scale=RATING_SCALE,
        seed=seed,
    )
    clock.lap("ranking")
    del held, svd
    gc.collect()
    report = {
        "protocol": evaluation.__doc__.strip(),
        "split": {
            "seed": seed,
            "test_fraction": TEST_FRACTION,
            "train_rows": len(train),
            "test_rows": len(test),
            "test_rows_with_unknown_user": int((users < 0).sum()),
            "test_rows_with_unknown_title": int((items < 0).sum()),
        },
        "models": models,
        "svd_minus_baseline_rmse": models["svd"]["rmse"] - models["baseline_only"]["rmse"],
    }
    return report, ranking


def tune(data: Ratings, *, sample: int, seed: int, clock: Clock) -> dict:
    """A small grid search on a sample of users from the training part of the main split (so
    the held-out ratings never inform the choice), validated on 20% of that sample."""
    train, _ = split(len(data), seed=seed, fraction=TEST_FRACTION)
    subset = data.take(sample_users(data, train, sample, seed=seed))
    fit_rows, valid_rows = split(len(subset), seed=seed + 1, fraction=0.2)
    held = Holdout.of(subset, fit_rows, valid_rows)
    baseline_rmse = evaluation.rmse(held.truth, held.baseline())
    clock.log(f"tuning on {len(subset):,} ratings of {len(subset.user_ids):,} users")
    clock.log(f"bias-only baseline RMSE on the validation part: {baseline_rmse:.4f}")

    def score(params: Params) -> dict:
        started = time.monotonic()
        svd = fit_svd(held.trainset, params, seed=seed)
        predicted = held.predict(svd.bu, svd.bi, svd.pu, svd.qi)
        result = {
            "params": asdict(params),
            "rmse": evaluation.rmse(held.truth, predicted),
            "mae": evaluation.mae(held.truth, predicted),
            "seconds": round(time.monotonic() - started, 2),
        }
        clock.log(f"  {asdict(params)} -> RMSE {result['rmse']:.4f}")
        return result

    default = score(Params(**SURPRISE_DEFAULTS))
    grid = (Params(**dict(zip(GRID, v, strict=True))) for v in itertools.product(*GRID.values()))
    results = [score(params) for params in grid]
    best = min(results, key=lambda r: (r["rmse"], r["seconds"]))
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sample": {"ratings": len(subset), "users": len(subset.user_ids), "seed": seed},
        "validation": "20% of the sampled users' ratings, held out at random",
        "grid": GRID,
        "baseline_only_rmse": baseline_rmse,
        "surprise_defaults": default,
        "results": sorted(results, key=lambda r: r["rmse"]),
        "best": best,
    }


def model_arrays(
    data: Ratings,
    svd: SVD,
    catalogue: Catalogue,
    vectors,
    neighbours: Neighbours,
) -> dict[str, np.ndarray]:
    """The artifact's arrays; `data` numbers its titles as the catalogue does (Ratings.over)."""
    counts = np.bincount(data.users, minlength=len(data.user_ids))
    by_user = np.argsort(data.users, kind="stable")
    votes = np.bincount(data.items, minlength=len(data.item_ids))
    sums = np.bincount(data.items, weights=data.ratings, minlength=len(data.item_ids))
    mean = float(np.mean(data.ratings))
    rated = votes > 0
    return {
        "user_ids": data.user_ids.astype(np.int64),
        "item_ids": data.item_ids.astype(str),
        "item_rated": rated,
        "user_bias": np.asarray(svd.bu),
        # surprise starts every title with random factors; those never rated keep them.
        "item_bias": np.where(rated, svd.bi, 0.0),
        "user_factors": np.asarray(svd.pu),
        "item_factors": np.where(rated[:, None], svd.qi, 0.0),
        "seen_indptr": np.r_[0, np.cumsum(counts)].astype(np.int64),
        "seen_items": data.items[by_user].astype(np.int32),
        "seen_ratings": data.ratings[by_user].astype(np.float32),
        "item_prior": (sums + PRIOR_STRENGTH * mean) / (votes + PRIOR_STRENGTH),
        "item_work": catalogue.work_codes(),
        "content_data": vectors.data.astype(np.float32),
        "content_indices": vectors.indices.astype(np.int32),
        "content_indptr": vectors.indptr.astype(np.int64),
        "neighbour_items": neighbours.items,
        "neighbour_scores": neighbours.scores,
    }


def libraries() -> dict[str, str]:
    names = (
        "scikit-surprise",
        "scikit-learn",
        "scipy",
        "numpy",
        "pyarrow",
        "sqlalchemy",
        "psycopg",
    )
    return {"python": platform.python_version(), **{n: package_version(n) for n in names}}


def read_data(settings: Settings) -> tuple[pa.Table, Catalogue]:
    """Every rating and every title, from one snapshot of the database."""
    try:
        with (
            engine_at(settings.resolved_database_url(), application_name="trainer") as engine,
            engine.connect() as conn,
        ):
            # One snapshot: a load that commits meanwhile cannot pair old ratings with new titles.
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return read_ratings(conn), content.read_catalogue(conn)
    except (DBAPIError, PoolTimeout) as exc:
        raise TrainerError(f"cannot read the ratings: {error_line(exc)}") from None


def train(
    settings: Settings,
    *,
    params: Params,
    seed: int = 0,
    sample: int | None = None,
    tune_sample: int | None = None,
    evaluate_first: bool = True,
    tuning_file: Path = TUNING_FILE,
    screen: bool = True,
) -> Path:
    """The whole run: read, screen the API ratings, deduplicate, (tune,) model the content,
    evaluate and choose the ranking, refit on everything, measure the lists, save."""
    clock = Clock()
    check_writable(settings.model_dir)
    table, catalogue = read_data(settings)
    if table.num_rows == 0:
        raise TrainerError("the ratings table is empty (run the loader first)")
    clock.log(f"read {table.num_rows:,} ratings and {len(catalogue):,} titles")
    clock.lap("read")
    read_rows = table.num_rows
    screened = None
    if screen:
        table, screened = screening.screen(table)
        aside = sum(screened["set_aside"].values())
        clock.log(
            f"screened {screened['api_ratings']:,} API ratings: {aside:,} set aside "
            f"({', '.join(f'{k} {v:,}' for k, v in screened['set_aside'].items())})"
        )
    data, dropped = deduplicate(table)
    data = data.over(catalogue.ids)
    del table
    pa.default_memory_pool().release_unused()
    clock.log(f"dropped {dropped:,} repeated (user, title) ratings; {len(data):,} remain")
    if sample:
        rows = sample_users(data, np.arange(len(data)), sample, seed=seed)
        data = data.take(rows, all_titles=True)
        clock.log(f"sampled {len(data):,} ratings of {len(data.user_ids):,} users")
    clock.lap("deduplicate")

    if tune_sample:
        tuning = tune(data, sample=tune_sample, seed=seed, clock=clock)
        tuning_file.write_text(json.dumps(tuning, indent=2) + "\n")
        params = Params(**tuning["best"]["params"])
        clock.log(f"tuning chose {asdict(params)}; written to {tuning_file}")
        clock.lap("tune")
    else:
        tuning = read_tuning(tuning_file)

    clock.log("content model: TF-IDF of every title's fields, and each title's neighbours")
    vectors = content.vectorise(catalogue)
    neighbours = Neighbours(*content.neighbours(vectors))
    clock.lap("content")

    clock.log("measuring the item and user signal")
    signal = {
        "titles": stats.signal(data.items, data.ratings, n_groups=len(data.item_ids), seed=seed),
        "users": stats.signal(data.users, data.ratings, n_groups=len(data.user_ids), seed=seed),
    }
    if evaluate_first:
        report, ranking = evaluate(
            data,
            params,
            seed=seed,
            clock=clock,
            neighbours=neighbours,
            title_signal_z=signal["titles"]["z"],
        )
        m = report["models"]
        rmses = ", ".join(
            f"{name} {m[name]['rmse']:.4f}" for name in ("svd", "baseline_only", "global_mean")
        )
        clock.log(f"held-out RMSE: {rmses}; ranking weights {ranking['weights']}")
    else:
        report, ranking = None, validation.unvalidated()
        clock.lap("evaluate")

    clock.log("refitting on all ratings")
    trainset = build_trainset(data, np.arange(len(data)), with_items=False)
    global_mean = trainset.global_mean
    svd = fit_svd(trainset, params, seed=seed, clock=clock, label="svd on 100%")
    del trainset
    gc.collect()
    clock.lap("refit")

    fingerprint = data.fingerprint()
    created = datetime.now(UTC)
    version = f"{created:%Y%m%dT%H%M%SZ}-{fingerprint['sha256'][:8]}"
    metadata = {
        "created_at": created.isoformat(timespec="seconds"),
        "algorithm": "surprise.SVD (biased), with a TF-IDF content model of the catalogue",
        "params": {**asdict(params), "random_state": seed},
        "global_mean": global_mean,
        "rating_scale": list(RATING_SCALE),
        "data": {
            "ratings_read": read_rows,
            "duplicates_dropped": dropped,
            "sample": sample,
            "fingerprint": fingerprint,
            "titles": len(catalogue),
        },
        "screening": screened,
        "evaluation": report,
        "signal": signal,
        "tuning": tuning,
        "cold_start": {"prior_strength": PRIOR_STRENGTH},
        "content": {
            "field_weights": content.FIELD_WEIGHTS,
            "top_cast": content.TOP_CAST,
            "neighbours": int(neighbours.items.shape[1]),
            "dimensions": int(vectors.shape[1]),
            "nonzeros": int(vectors.nnz),
        },
        "ranking": ranking,
        "libraries": libraries(),
    }
    arrays = model_arrays(data, svd, catalogue, vectors, neighbours)
    del svd
    if evaluate_first:
        clock.log("measuring the lists: similar titles and picks, against baselines")
        served = Model.of(version, metadata, arrays)
        metadata["lists"] = quality.evaluate_lists(served, catalogue, vectors, seed=seed)
        clock.lap("lists")
    clock.lap("save")
    metadata["timings_s"] = {**clock.marks, "total": round(time.monotonic() - clock.started, 2)}
    metadata["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    try:
        folder = save(settings.model_dir, version, arrays, metadata)
    except OSError as exc:
        raise TrainerError(f"{settings.model_dir}: cannot write the model ({exc})") from None
    clock.log(f"model {version} written to {folder}; {settings.model_dir / 'current'} points at it")
    return folder


def main(argv: list[str] | None = None) -> int:
    try:
        return run(argv)
    except TrainerError as exc:
        print(f"trainer: error: {exc}", file=sys.stderr)
        return 1


def run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.recommender.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--tuning-file", type=Path, default=TUNING_FILE, help="the search record (defaults from it)"
    )
    known, _ = parser.parse_known_args(argv)
    defaults = tuned_defaults(known.tuning_file)
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else the embedded server")
    parser.add_argument("--model-dir", type=Path, help="default: $MODEL_DIR, else .data/models")
    parser.add_argument("--factors", type=int, default=defaults.n_factors)
    parser.add_argument("--epochs", type=int, default=defaults.n_epochs)
    parser.add_argument("--lr", type=float, default=defaults.lr_all, help="learning rate")
    parser.add_argument("--reg-bu", type=float, default=defaults.reg_bu, help="user-bias reg.")
    parser.add_argument("--reg-bi", type=float, default=defaults.reg_bi, help="title-bias reg.")
    parser.add_argument(
        "--reg-factors", type=float, default=defaults.reg_factors, help="factor regularisation"
    )
    parser.add_argument("--reg", type=float, help="one regularisation for all (surprise's reg_all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample", type=int, help="train on about N ratings of random users")
    parser.add_argument("--tune", action="store_true", help="grid-search the parameters first")
    parser.add_argument("--tune-sample", type=int, default=1_000_000, help="ratings to tune on")
    parser.add_argument("--skip-evaluation", action="store_true", help="refit and save only")
    parser.add_argument(
        "--no-screening",
        action="store_true",
        help="train on every API rating, even those that look like flooding or shilling",
    )
    args = parser.parse_args(argv)
    overrides = {"database_url": args.database_url, "model_dir": args.model_dir}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    regs = (args.reg,) * 3 if args.reg is not None else (args.reg_bu, args.reg_bi, args.reg_factors)
    params = Params(args.factors, args.epochs, args.lr, *regs)
    train(
        settings,
        params=params,
        seed=args.seed,
        sample=args.sample,
        tune_sample=args.tune_sample if args.tune else None,
        evaluate_first=not args.skip_evaluation,
        tuning_file=args.tuning_file,
        screen=not args.no_screening,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
