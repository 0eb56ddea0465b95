"""Alembic environment: runs on a connection handed over by the loader, or on DATABASE_URL."""

from logging.config import fileConfig

from alembic import context

from common.db import create_engine
from common.settings import DatabaseSettings
from common.tables import metadata

config = context.config
if config.config_file_name and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Materialized views are written by hand in their migration; autogenerate cannot see them.
    return not (type_ == "table" and obj.info.get("materialized_view"))


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = DatabaseSettings().resolved_database_url()
    with create_engine(url, application_name="alembic").connect() as conn:
        run(conn)
