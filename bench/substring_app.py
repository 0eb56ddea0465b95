"""The baseline: GET /titles?q= the way the catalog searched before full-text search, a
substring of the title (LIKE '%q%'), sorted by score. Only bench/search.py uses it.

    DATABASE_URL=... uvicorn bench.substring_app:app
"""

import os

import sqlalchemy as sa
from fastapi import FastAPI

from common.db import create_engine

engine = create_engine(os.environ["DATABASE_URL"], application_name="substring-baseline")
COLUMNS = (
    "id, platform, type, title, release_year, rating, duration_int, duration_type, score, votes"
)
PAGE = sa.text(
    f"SELECT {COLUMNS} FROM titles WHERE title LIKE :q ESCAPE '\\'"
    " ORDER BY score DESC NULLS LAST, title, id LIMIT :limit OFFSET 0"
)
COUNT = sa.text("SELECT count(*) FROM titles WHERE title LIKE :q ESCAPE '\\'")

app = FastAPI()


@app.get("/titles")
def titles(q: str, limit: int = 20):
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params = {"q": f"%{escaped}%", "limit": limit}
    with engine.connect() as conn:
        items = [row._asdict() for row in conn.execute(PAGE, params)]
        # As the catalog did: a second statement only when the page is full.
        total = len(items) if len(items) < limit else conn.execute(COUNT, params).scalar_one()
    return {"total": total, "limit": limit, "offset": 0, "items": items}


@app.get("/health/ready")
def ready():
    return {"status": "ok"}
