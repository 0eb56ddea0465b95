"""least-privilege roles for the services

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

streamrec_catalog may only read. streamrec_recommender may read, and add ratings through the
API (INSERT into ratings, which routes API rows to the ratings_api partition). The loader,
which runs the migrations, owns the schema. Passwords are not set here: `python -m loader.roles`
sets them from the environment where the server wants them (trust authentication does not).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CATALOG, RECOMMENDER = "streamrec_catalog", "streamrec_recommender"
READABLE = (
    "titles",
    "title_cast",
    "title_genres",
    "ratings",
    "loads",
    "load_files",
    "actor_counts",
    "platform_counts",
)


def upgrade() -> None:
    for role in (CATALOG, RECOMMENDER):
        # Roles belong to the whole server, so another database may already have made them.
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}')"
            f" THEN CREATE ROLE {role} LOGIN; END IF; END $$"
        )
        op.execute(f"GRANT CONNECT ON DATABASE {_database()} TO {role}")
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"GRANT SELECT ON {', '.join(READABLE)} TO {CATALOG}")
    op.execute(f"GRANT SELECT ON titles, ratings TO {RECOMMENDER}")
    op.execute(f"GRANT INSERT ON ratings TO {RECOMMENDER}")
    op.execute(f"GRANT USAGE ON SEQUENCE ratings_api_seq TO {RECOMMENDER}")


def downgrade() -> None:
    for role in (CATALOG, RECOMMENDER):
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
        op.execute(f"REVOKE CONNECT ON DATABASE {_database()} FROM {role}")


def _database() -> str:
    return (
        '"'
        + op.get_bind().exec_driver_sql("SELECT current_database()").scalar().replace('"', '""')
        + '"'
    )
