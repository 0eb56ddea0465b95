"""The baseline: the four queries the way the seed answered them, by filtering a pandas
DataFrame held in memory on every request. Only bench/catalog.py uses it.

    DATABASE_URL=... uvicorn bench.seed_app:app
"""

import os

import pandas as pd
import sqlalchemy as sa
from fastapi import FastAPI

from common.db import create_engine

engine = create_engine(os.environ["DATABASE_URL"], application_name="seed-baseline")
with engine.connect() as conn:
    titles = pd.read_sql(
        sa.text(
            "SELECT t.*, (SELECT string_agg(actor, ', ' ORDER BY position) FROM title_cast c"
            " WHERE c.title_id = t.id) AS cast FROM titles t"
        ),
        conn,
    )
engine.dispose()

app = FastAPI()


@app.get("/get_max_duration")
def get_max_duration(
    year: int | None = None, platform: str | None = None, duration_type: str = "min"
):
    frame = titles[titles["duration_type"] == duration_type]
    if year is not None:
        frame = frame[frame["release_year"] == year]
    if platform is not None:
        frame = frame[frame["platform"] == platform]
    best = frame.loc[frame["duration_int"].idxmax()]
    return {"id": best["id"], "title": best["title"], "duration_int": int(best["duration_int"])}


@app.get("/get_score_count")
def get_score_count(platform: str, scored: float, year: int):
    frame = titles[(titles["platform"] == platform) & (titles["release_year"] == year)]
    return {
        "platform": platform,
        "scored": scored,
        "year": year,
        "count": int((frame["score"] > scored).sum()),
    }


@app.get("/get_count_platform")
def get_count_platform(platform: str):
    return {"platform": platform, "count": int((titles["platform"] == platform).sum())}


@app.get("/get_actor")
def get_actor(platform: str, year: int):
    frame = titles[(titles["platform"] == platform) & (titles["release_year"] == year)]
    counts = frame["cast"].dropna().str.split(", ").explode().value_counts()
    return {
        "platform": platform,
        "year": year,
        "actor": counts.index[0],
        "appearances": int(counts.iloc[0]),
    }


@app.get("/health/ready")
def ready():
    return {"status": "ok"}
