"""An independent oracle for the catalogue queries: the raw CSVs, the same rules, plain pandas.

Nothing here imports the loader or the catalog: it is a second implementation to compare with.
"""

import re
from pathlib import Path

import pandas as pd

FILES = {
    "amazon": "amazon_prime_titles.csv",
    "disney": "disney_plus_titles.csv",
    "hulu": "hulu_titles.csv",
    "netflix": "netflix_titles.csv",
}
SUFFIXES = {
    "jr",
    "jr.",
    "sr",
    "sr.",
    "ph.d.",
    "ph.d",
    "phd",
    "md",
    "m.d.",
    "esq.",
    "ii",
    "iii",
    "iv",
}
DURATION = re.compile(r"^(\d+) (min|Seasons?)$")


def norm(text: str) -> str:
    """Lower case, no zero-width characters, white space collapsed."""
    text = re.sub("[\u200b\u200c\u200d\u2060\ufeff]", "", text)
    return " ".join(text.split()).lower()


def split_cast(cast: str) -> list[str]:
    names: list[str] = []
    for piece in cast.split(","):
        name = norm(piece)
        if not name:
            continue
        if name in SUFFIXES:
            if names:
                names[-1] += " " + name
            continue
        if not any(ch.isalpha() for ch in name):
            continue
        if name not in names:
            names.append(name)
    return names


def duration(row: pd.Series) -> tuple[float, str | None]:
    text = row["duration"].strip()
    if not text and DURATION.match(row["rating"].strip()):
        text = row["rating"].strip()
    match = DURATION.match(text)
    if not match:
        return float("nan"), None
    return float(match[1]), "min" if match[2] == "min" else "season"


def load_titles(titles_dir: Path) -> pd.DataFrame:
    frames = []
    for platform, name in FILES.items():
        frame = pd.read_csv(titles_dir / name, dtype=str, keep_default_na=False)
        frame["platform"] = platform
        frame["id"] = platform[0] + frame["show_id"]
        frames.append(frame)
    titles = pd.concat(frames, ignore_index=True)
    titles["title"] = titles["title"].map(norm)
    titles["type"] = titles["type"].str.lower()
    titles["release_year"] = titles["release_year"].astype(int)
    durations = titles.apply(duration, axis=1, result_type="expand")
    titles["duration_int"], titles["duration_type"] = durations[0], durations[1]
    titles["cast_list"] = titles["cast"].map(split_cast)
    return titles


def add_scores(titles: pd.DataFrame, ratings_dir: Path) -> pd.DataFrame:
    ratings = pd.concat(
        (
            pd.read_csv(p, usecols=["rating", "movieId"])
            for p in sorted(ratings_dir.glob("*.csv.gz"))
        ),
        ignore_index=True,
    )
    means = ratings.groupby("movieId")["rating"].mean()
    return titles.assign(score=titles["id"].map(means))


def _select(titles, platform=None, year=None, type=None) -> pd.DataFrame:
    mask = pd.Series(True, index=titles.index)
    if platform is not None:
        mask &= titles["platform"] == platform
    if year is not None:
        mask &= titles["release_year"] == year
    if type is not None:
        mask &= titles["type"] == type
    return titles[mask]


def get_max_duration(titles, year=None, platform=None, duration_type="min", type=None):
    rows = _select(titles, platform, year, type)
    rows = rows[(rows["duration_type"] == duration_type) & rows["duration_int"].notna()]
    if rows.empty:
        return None
    # ties by name, in code-point order (the documented rule), then by id
    rows = rows.assign(_neg=-rows["duration_int"]).sort_values(["_neg", "title", "id"])
    best = rows.iloc[0]
    return {"id": best["id"], "title": best["title"], "duration_int": int(best["duration_int"])}


def get_score_count(titles, platform, scored, year, type=None):
    rows = _select(titles, platform, year, type)
    if rows.empty or rows["score"].isna().all():
        return None
    return int((rows["score"] > scored).sum())


def get_count_platform(titles, platform, type=None):
    count = len(_select(titles, platform, None, type))
    return count or None


def get_actor(titles, platform, year, type=None):
    rows = _select(titles, platform, year, type)
    actors = rows["cast_list"].explode().dropna()
    if actors.empty:
        return None
    counts = actors.value_counts()
    best = counts.max()
    return {"actor": min(counts[counts == best].index), "appearances": int(best)}
