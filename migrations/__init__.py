"""Alembic migrations: the schema's history, applied by the loader before every load."""
