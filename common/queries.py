"""SQL pieces that more than one service builds its statements from."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from common.tables import title_cast, title_genres, titles


def ordered_names(column: sa.Column, table: sa.Table) -> sa.ScalarSelect:
    """A title's cast or genres as an array, in their delivered order ({} when none)."""
    return (
        sa.select(
            sa.func.coalesce(
                sa.func.array_agg(aggregate_order_by(column, table.c.position)),
                sa.literal_column("'{}'::text[]"),
            )
        )
        .where(table.c.title_id == titles.c.id)
        .scalar_subquery()
    )


CAST = ordered_names(title_cast.c.actor, title_cast).label("cast")
GENRES = ordered_names(title_genres.c.genre, title_genres).label("genres")
