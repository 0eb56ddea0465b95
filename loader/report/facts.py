"""Every number the report shows, computed from the database (SQL, then pandas/NumPy)."""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from common import stats
from common.platforms import Platform
from loader.clean import RATING_COLUMNS, TITLE_COLUMNS

PLATFORMS = [p.value for p in Platform]
CONCENTRATION = 0.8  # "what share of users gives 80% of the ratings"
TOP = 10
SEED = 0
SHUFFLES = 10
# Cast values that are not a person's name; seen in the delivered catalogues.
PLACEHOLDER_NAMES = ("various", "various artists", "unknown", "n/a", "na", "more!", "others")
LONG_NAME = 40


@dataclass
class Load:
    id: int
    finished_at: Any
    synthetic: bool
    titles_dir: str
    ratings_dir: str | None
    files: pd.DataFrame  # file, kind, rows_read, rows_loaded, rows_repaired, rows_rejected
    missing: pd.DataFrame | None  # kind, column, platform/file, before, after; None: not recorded
    repairs: pd.DataFrame  # file, action, rule, rows
    examples: pd.DataFrame  # file, line, record, rule, detail (cast and director artefacts)


@dataclass
class Catalogue:
    by_platform_type: pd.DataFrame  # platform, type, titles
    years: pd.DataFrame  # platform, release_year, titles
    film_minutes: pd.DataFrame  # platform, minutes (one row per film)
    seasons: pd.DataFrame  # platform, seasons, titles
    genres: pd.DataFrame  # platform, genre, titles, share (top genres of each platform)
    maturity: pd.DataFrame  # platform, rating, titles
    countries: pd.DataFrame  # country, platform, titles (the most frequent countries)
    no_country: pd.DataFrame  # platform, titles, share
    on_several_platforms: int  # same title and type and year on more than one platform
    filled_ratings: dict[str, int]  # platform -> empty maturity ratings the loader made "g"
    latest_added: Any  # the latest date_added: when the catalogues were captured


@dataclass
class Signal:
    titles: dict  # common.stats.signal for per-title means
    users: dict  # and for per-user means
    title_means: np.ndarray
    random_title_means: np.ndarray  # one random assignment of the same ratings
    user_means: np.ndarray
    random_user_means: np.ndarray


@dataclass
class Ratings:
    total: int
    users: int
    titles: int
    mean: float
    by_source: pd.DataFrame  # source, ratings
    values: pd.DataFrame  # rating, ratings
    per_title: pd.DataFrame  # title_id, ratings, total, mean
    per_user: np.ndarray  # ratings per user
    users_share_80: float
    titles_share_80: float
    most_rated: pd.DataFrame
    highest_scored: pd.DataFrame  # by raw mean
    highest_damped: pd.DataFrame  # by damped mean
    damping: int  # m, the pseudo-ratings at the global mean
    damping_agreement: float | None  # Spearman correlation of the plain and damped rankings
    # The prior weight the data would choose: rating variance / variance between titles' true
    # means; None when the titles' means vary no more than chance makes them.
    suggested_damping: float | None
    duplicates: pd.DataFrame  # times, pairs, differing
    signal: Signal


@dataclass
class Oddities:
    longest_films: pd.DataFrame
    shortest_films: pd.DataFrame
    most_seasons: pd.DataFrame
    films_over_5h: int
    no_duration: pd.DataFrame  # id, platform, type, title, release_year
    no_year: int
    cast_checks: pd.DataFrame  # check, names, titles, examples


@dataclass
class Facts:
    load: Load | None
    catalogue: Catalogue
    ratings: Ratings | None  # None when no rating is loaded
    oddities: Oddities
    model: dict | None
    model_problem: str | None  # why there is no model to show
    headline: dict[str, Any] = field(default_factory=dict)


def frame(conn: Connection, sql: str, **params) -> pd.DataFrame:
    result = conn.execute(sa.text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def scalar(conn: Connection, sql: str, **params) -> Any:
    return conn.execute(sa.text(sql), params).scalar()


def collect(conn: Connection, *, model_dir: Path | None) -> Facts:
    """Every fact; `conn` should be in a repeatable-read transaction, so that a load that
    commits meanwhile cannot mix two data sets into one report."""
    # The aggregates below scan 11M rows; the services' short timeout does not apply here.
    conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
    catalogue = collect_catalogue(conn)
    ratings = collect_ratings(conn)
    model, model_problem = read_model(model_dir) if model_dir else (None, "no model folder given")
    facts = Facts(
        load=collect_load(conn),
        catalogue=catalogue,
        ratings=ratings,
        oddities=collect_oddities(conn),
        model=model,
        model_problem=model_problem,
    )
    facts.headline = headline(facts)
    return facts


def collect_load(conn: Connection) -> Load | None:
    row = conn.execute(
        sa.text(
            "SELECT id, finished_at, synthetic, titles_dir, ratings_dir"
            " FROM loads ORDER BY id DESC LIMIT 1"
        )
    ).one_or_none()
    if row is None:
        return None
    files = frame(
        conn,
        "SELECT file, kind, rows_read, rows_loaded, rows_repaired, rows_rejected, missing"
        " FROM load_files WHERE load_id = :id ORDER BY kind DESC, file",
        id=row.id,
    )
    repairs = frame(
        conn,
        "SELECT f.file, 'repaired' AS action, r.key AS rule, r.value::int AS rows"
        " FROM load_files f, jsonb_each_text(f.repairs) r WHERE f.load_id = :id"
        " UNION ALL"
        " SELECT f.file, 'rejected', r.key, r.value::int"
        " FROM load_files f, jsonb_each_text(f.rejects) r WHERE f.load_id = :id"
        " ORDER BY 1, 2, 3",
        id=row.id,
    )
    examples = frame(
        conn,
        "SELECT file, line, record, rule, detail FROM ("
        "  SELECT *, row_number() OVER (PARTITION BY rule ORDER BY file, line) AS n"
        "  FROM load_issues WHERE load_id = :id AND ("
        "    rule LIKE 'cast%' OR rule = 'literal_none_to_null'"
        "    OR (rule LIKE 'whitespace%' AND detail IN ('cast', 'director')))"
        ") s WHERE n <= 5 ORDER BY rule, file, line",
        id=row.id,
    )
    return Load(
        id=row.id,
        finished_at=row.finished_at,
        synthetic=row.synthetic,
        titles_dir=row.titles_dir,
        ratings_dir=row.ratings_dir,
        files=files.drop(columns="missing"),
        missing=_missing(files),
        repairs=repairs,
        examples=examples,
    )


def _missing(files: pd.DataFrame) -> pd.DataFrame | None:
    """One row per file and column, in the source's column order."""
    if files.empty or files["missing"].isna().any():
        return None
    rows = []
    for f in files.itertuples():
        columns = TITLE_COLUMNS if f.kind == "titles" else RATING_COLUMNS
        for column in columns:
            counts = f.missing.get(column, {"before": 0, "after": 0})
            rows.append(
                {
                    "file": f.file,
                    "kind": f.kind,
                    "column": column,
                    "rows": f.rows_read,
                    "before": counts["before"],
                    "after": counts["after"],
                }
            )
    return pd.DataFrame(rows)


def platform_of(file: str) -> str | None:
    """The platform whose catalogue `file` is (plain or gzipped)."""
    return next((p.value for p in Platform if file.startswith(p.catalogue_file)), None)


def collect_catalogue(conn: Connection) -> Catalogue:
    by_platform_type = frame(
        conn, "SELECT platform, type, count(*) AS titles FROM titles GROUP BY 1, 2 ORDER BY 1, 2"
    )
    genres = frame(
        conn,
        "SELECT platform, genre, titles FROM ("
        "  SELECT t.platform, g.genre, count(*) AS titles,"
        "   row_number() OVER (PARTITION BY t.platform ORDER BY count(*) DESC, g.genre) AS rank"
        "  FROM title_genres g JOIN titles t ON t.id = g.title_id GROUP BY 1, 2"
        ") s WHERE rank <= :top ORDER BY platform, rank",
        top=TOP,
    )
    # share = titles of the platform listing the genre / titles of the platform
    titles_per_platform = by_platform_type.groupby("platform")["titles"].sum()
    genres["share"] = genres["titles"] / genres["platform"].map(titles_per_platform)
    countries = frame(
        conn,
        "WITH c AS ("
        "  SELECT DISTINCT t.id, t.platform, trim(c) AS country"
        "  FROM titles t, unnest(string_to_array(t.country, ',')) c WHERE trim(c) <> ''),"
        " top AS (SELECT country FROM c GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 15)"
        " SELECT country, platform, count(*) AS titles FROM c JOIN top USING (country)"
        " GROUP BY 1, 2 ORDER BY 1, 2",
    )
    return Catalogue(
        by_platform_type=by_platform_type,
        years=frame(
            conn,
            "SELECT platform, release_year, count(*) AS titles FROM titles GROUP BY 1, 2"
            " ORDER BY 1, 2",
        ),
        film_minutes=frame(
            conn,
            "SELECT platform, duration_int AS minutes FROM titles"
            " WHERE duration_type = 'min' ORDER BY 1, 2",
        ),
        seasons=frame(
            conn,
            "SELECT platform, duration_int AS seasons, count(*) AS titles FROM titles"
            " WHERE duration_type = 'season' GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        genres=genres,
        maturity=frame(
            conn,
            "SELECT platform, rating, count(*) AS titles FROM titles GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        countries=countries,
        no_country=frame(
            conn,
            "SELECT platform, count(*) FILTER (WHERE country IS NULL) AS titles,"
            " avg((country IS NULL)::int)::float AS share FROM titles GROUP BY 1 ORDER BY 1",
        ),
        filled_ratings={
            platform_of(row.file): int(row.n)
            for row in conn.execute(
                sa.text(
                    "SELECT file, (repairs ->> :rule)::int AS n FROM load_files"
                    " WHERE kind = 'titles' AND load_id = (SELECT max(id) FROM loads)"
                    " AND repairs ? :rule"
                ),
                {"rule": "null_rating_to_g"},
            )
        },
        latest_added=scalar(conn, "SELECT max(date_added) FROM titles"),
        on_several_platforms=scalar(
            conn,
            "SELECT count(*) FROM (SELECT title, type, release_year FROM titles"
            " GROUP BY 1, 2, 3 HAVING count(DISTINCT platform) > 1) s",
        ),
    )


def collect_ratings(conn: Connection) -> Ratings | None:
    # Each scan returns a few thousand rows at most: per title and per user a count and a sum,
    # and the count of each rating value. That is all the numbers below need; the signal
    # check's random assignment only needs the group sizes and the values themselves.
    per_title = frame(
        conn,
        "SELECT title_id, count(*) AS ratings, sum(rating::float8) AS total"
        " FROM ratings GROUP BY 1 ORDER BY 1",
    )
    if per_title.empty:
        return None
    per_user = frame(
        conn,
        "SELECT count(*) AS ratings, sum(rating::float8) AS total FROM ratings GROUP BY user_id",
    )
    by_source_and_value = frame(
        conn,
        "SELECT source, rating::float8 AS rating, count(*) AS ratings FROM ratings GROUP BY 1, 2",
    )
    values = by_source_and_value.groupby("rating", as_index=False)["ratings"].sum()
    # The signal check is seconds of NumPy, the duplicates seconds of SQL: run them side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        signal = pool.submit(signal_check, per_title, per_user, values)
        duplicates = frame(
            conn,
            "SELECT times, count(*) AS pairs, count(*) FILTER (WHERE differ) AS differing"
            " FROM (SELECT count(*) AS times, min(rating) <> max(rating) AS differ"
            "  FROM ratings GROUP BY user_id, title_id HAVING count(*) > 1) s"
            " GROUP BY 1 ORDER BY 1",
        )
        signal_result = signal.result()
    per_title["mean"] = per_title["total"] / per_title["ratings"]
    total = int(values["ratings"].sum())
    global_mean = float((values["rating"] * values["ratings"]).sum() / total)

    names = frame(conn, "SELECT id AS title_id, platform, type, title, release_year FROM titles")
    per_title_named = per_title.merge(names, on="title_id", how="left")
    damping = int(np.percentile(per_title["ratings"], 25))
    per_title_named["damped"] = (per_title_named["total"] + damping * global_mean) / (
        per_title_named["ratings"] + damping
    )
    columns = ["title_id", "platform", "type", "title", "release_year", "ratings", "mean", "damped"]
    most_rated = per_title_named.sort_values(["ratings", "title_id"], ascending=[False, True])
    highest = per_title_named.sort_values(
        ["mean", "ratings", "title_id"], ascending=[False, False, True]
    )
    damped = per_title_named.sort_values(["damped", "title_id"], ascending=[False, True])
    ranks = {
        "rank_by_mean": per_title_named["mean"].rank(ascending=False, method="min"),
        "rank_by_damped": per_title_named["damped"].rank(ascending=False, method="min"),
    }
    ranked_columns = [*columns, *ranks]
    variance = float((values["ratings"] * (values["rating"] - global_mean) ** 2).sum() / total)
    # Between-title variance, less what sampling noise alone gives title means.
    true_spread = float(per_title["mean"].var(ddof=0) - (variance / per_title["ratings"]).mean())

    def top(ranked: pd.DataFrame, with_ranks: bool = False) -> pd.DataFrame:
        head = ranked.head(TOP)
        if with_ranks:
            head = head.assign(**{name: rank.loc[head.index] for name, rank in ranks.items()})
        return head[ranked_columns if with_ranks else columns].reset_index(drop=True)

    user_counts = per_user["ratings"].to_numpy()
    return Ratings(
        total=total,
        users=len(per_user),
        titles=len(per_title),
        mean=global_mean,
        by_source=by_source_and_value.groupby("source", as_index=False)["ratings"].sum(),
        values=values,
        per_title=per_title,
        per_user=user_counts,
        users_share_80=share_for(user_counts, CONCENTRATION),
        titles_share_80=share_for(per_title["ratings"].to_numpy(), CONCENTRATION),
        most_rated=top(most_rated),
        highest_scored=top(highest, with_ranks=True),
        highest_damped=top(damped, with_ranks=True),
        damping=damping,
        damping_agreement=_spearman(per_title_named["mean"], per_title_named["damped"]),
        suggested_damping=variance / true_spread if true_spread > 0 else None,
        duplicates=duplicates,
        signal=signal_result,
    )


def _spearman(a: pd.Series, b: pd.Series) -> float | None:
    if len(a) < 2 or a.nunique() < 2 or b.nunique() < 2:
        return None
    return float(a.rank().corr(b.rank()))


def share_for(counts: np.ndarray, fraction: float) -> float:
    """The smallest share of the groups (users, titles) that together hold `fraction` of the
    rows: the busiest first."""
    ordered = np.sort(np.asarray(counts))[::-1]
    needed = int(np.searchsorted(np.cumsum(ordered), fraction * ordered.sum() - 1e-9)) + 1
    return needed / len(ordered)


def signal_check(per_title: pd.DataFrame, per_user: pd.DataFrame, values: pd.DataFrame) -> Signal:
    """Observed group means against one same-seeded random assignment of the same ratings."""
    ratings = np.repeat(values["rating"].to_numpy(), values["ratings"].to_numpy())
    results = {}
    for name, groups in (("titles", per_title), ("users", per_user)):
        sums, counts = groups["total"].to_numpy(), groups["ratings"].to_numpy()
        summary, random_means = stats.random_assignment(
            sums, counts, ratings, seed=SEED, shuffles=SHUFFLES
        )
        results[name] = (summary, sums / counts, random_means)
    return Signal(
        titles=results["titles"][0],
        users=results["users"][0],
        title_means=results["titles"][1],
        random_title_means=results["titles"][2],
        user_means=results["users"][1],
        random_user_means=results["users"][2],
    )


def collect_oddities(conn: Connection) -> Oddities:
    film = "SELECT id, platform, title, release_year, duration_int AS minutes FROM titles"
    placeholders = ", ".join(f"'{name}'" for name in PLACEHOLDER_NAMES)
    checks = {
        "placeholder, not a name": f"actor IN ({placeholders})",
        "contains a digit": "actor ~ '[0-9]'",
        f"longer than {LONG_NAME} characters": f"length(actor) > {LONG_NAME}",
        "names run together (a dot, no space)": "actor ~ '\\.' AND actor !~ ' '",
    }
    cast_checks = pd.concat(
        [
            frame(
                conn,
                f"SELECT :check AS check, count(DISTINCT actor) AS names,"
                f" count(DISTINCT title_id) AS titles,"
                f" (array_agg(DISTINCT actor))[1:6] AS examples"
                f" FROM title_cast WHERE {condition}",
                check=check,
            )
            for check, condition in checks.items()
        ],
        ignore_index=True,
    )
    return Oddities(
        longest_films=frame(
            conn, f"{film} WHERE duration_type = 'min' ORDER BY minutes DESC, id LIMIT 15"
        ),
        shortest_films=frame(
            conn, f"{film} WHERE duration_type = 'min' ORDER BY minutes, id LIMIT 10"
        ),
        most_seasons=frame(
            conn,
            "SELECT id, platform, title, release_year, duration_int AS seasons FROM titles"
            " WHERE duration_type = 'season' ORDER BY seasons DESC, id LIMIT 10",
        ),
        films_over_5h=scalar(
            conn, "SELECT count(*) FROM titles WHERE duration_type = 'min' AND duration_int > 300"
        ),
        no_duration=frame(
            conn,
            "SELECT id, platform, type, title, release_year FROM titles"
            " WHERE duration_int IS NULL ORDER BY platform, id",
        ),
        no_year=scalar(conn, "SELECT count(*) FROM titles WHERE release_year IS NULL"),
        cast_checks=cast_checks,
    )


MODEL_KEYS = ("version", "created_at", "algorithm", "params")
EVALUATION_KEYS = ("split", "models", "svd_minus_baseline_rmse")


def read_model(model_dir: Path) -> tuple[dict | None, str | None]:
    """The served model's metadata.json, or None and why there is none to show."""
    path = model_dir / "current" / "metadata.json"
    try:
        metadata = json.loads(path.read_text())
    # The report is public (the gateway serves it): no folder names in it.
    except FileNotFoundError:
        return None, "no model has been trained yet"
    except (OSError, ValueError) as exc:
        return None, f"the model's metadata.json is unreadable ({type(exc).__name__})"
    missing = [k for k in MODEL_KEYS if k not in metadata]
    evaluation = metadata.get("evaluation")
    if evaluation is not None:
        missing += [f"evaluation.{k}" for k in EVALUATION_KEYS if k not in evaluation]
    if not isinstance(metadata.get("params"), dict):
        missing.append("params")
    if missing:
        return None, (
            f"the model's metadata.json lacks {', '.join(missing)}"
            " (a model from another trainer version?)"
        )
    return metadata, None


def headline(facts: Facts) -> dict[str, Any]:
    """The numbers at the top of the page; also written to facts.json for machines."""
    catalogue = facts.catalogue
    numbers: dict[str, Any] = {
        "titles": int(catalogue.by_platform_type["titles"].sum()),
        "films": int(catalogue.by_platform_type.query("type == 'movie'")["titles"].sum()),
        "shows": int(catalogue.by_platform_type.query("type == 'tv show'")["titles"].sum()),
        "films_over_5h": int(facts.oddities.films_over_5h),
        "titles_without_duration": len(facts.oddities.no_duration),
    }
    r = facts.ratings
    if r is not None:
        top, best, damped = r.most_rated.iloc[0], r.highest_scored.iloc[0], r.highest_damped.iloc[0]
        numbers |= {
            "ratings": r.total,
            "users": r.users,
            "rated_titles": r.titles,
            "mean_rating": r.mean,
            "users_share_80": r.users_share_80,
            "titles_share_80": r.titles_share_80,
            "most_rated_id": top.title_id,
            "most_rated_title": top.title,
            "most_rated_ratings": int(top.ratings),
            "highest_scored_id": best.title_id,
            "highest_scored_title": best.title,
            "highest_scored_mean": float(best["mean"]),
            "highest_scored_ratings": int(best.ratings),
            "highest_damped_id": damped.title_id,
            "highest_damped_title": damped.title,
            "highest_damped_mean": float(damped.damped),
            "damping": r.damping,
            "duplicate_pairs": int(r.duplicates["pairs"].sum()),
            "duplicate_extra_rows": int(
                ((r.duplicates["times"] - 1) * r.duplicates["pairs"]).sum()
            ),
            "duplicate_pairs_differing": int(r.duplicates["differing"].sum()),
            "title_signal_z": r.signal.titles["z"],
            "random_top_title_mean": float(r.signal.random_title_means.max()),
            "title_std_of_means": r.signal.titles["std_of_means"],
            "title_random_std_of_means": r.signal.titles["random_std_of_means"],
            "user_signal_z": r.signal.users["z"],
        }
    return numbers
