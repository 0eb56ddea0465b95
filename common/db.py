"""The one place that builds SQLAlchemy engines."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


def sqlalchemy_url(url: str) -> sa.URL:
    """Accept postgres://, postgresql:// and postgresql+psycopg:// alike; always drive psycopg 3."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"DATABASE_URL must point at PostgreSQL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+psycopg")


def create_engine(
    url: str,
    *,
    application_name: str,
    statement_timeout_ms: int | None = None,
    connect_timeout_s: int = 5,
    pool_size: int = 5,
    pool_timeout_s: float = 30,
) -> Engine:
    """An engine whose connections fail fast when the server is gone or slow."""
    options = f"-c statement_timeout={statement_timeout_ms}" if statement_timeout_ms else ""
    return sa.create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        # A restarted server leaves dead connections in the pool; pre-ping swaps them out.
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": connect_timeout_s,
            "application_name": application_name,
            "options": options,
        },
    )


@contextmanager
def engine_at(url: str, *, application_name: str, **options: Any) -> Iterator[Engine]:
    """An engine for one job (create_engine's options), disposed of when the job ends."""
    engine = create_engine(url, application_name=application_name, **options)
    try:
        yield engine
    finally:
        engine.dispose()


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot answer, when that is what `exc` says; None for any other error.
    Safe to show in public: it names no host, port, database or path."""
    if isinstance(exc, sa.exc.TimeoutError):
        return "no free connection in the pool (timed out waiting)"
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return "the query timed out"
    if isinstance(orig, psycopg.errors.UndefinedTable):
        return "the schema is missing (run the loader)"
    if isinstance(orig, psycopg.OperationalError):
        return "cannot reach PostgreSQL"
    return None


def driver_line(exc: BaseException) -> str:
    """The driver's first line about `exc`: for logs and command-line tools, not for public
    bodies (it names hosts, ports and databases)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0]


def error_line(exc: BaseException) -> str:
    """One line for a command-line tool to print about a database error."""
    reason = unavailable_reason(exc)
    if reason == "cannot reach PostgreSQL":
        return f"{reason} ({driver_line(exc)})"
    return reason or driver_line(exc)


def check_database(engine: Engine) -> str | None:
    """None when the database answers and holds the titles; otherwise the reason it does not
    (with the driver's words: it goes to the log, not to a public body)."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1 FROM titles LIMIT 1")
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        reason = unavailable_reason(exc) or f"unexpected error: {type(exc).__name__}"
        return f"{reason} ({driver_line(exc)})"
    return None
