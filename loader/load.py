"""Stage the cleaned data with COPY, then swap it in within the same single transaction.

Until that transaction commits, readers see the previous data set; if the loader fails or is
killed at any point, PostgreSQL rolls everything back, staging tables included.
"""

import hashlib
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from common import tables
from loader import clean, works
from loader.progress import FileReport, LoadProgress
from loader.read import (
    CarefulRestart,
    LoadError,
    SourceFile,
    find_rating_files,
    find_title_files,
    read_ratings,
    read_titles,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
LOAD_LOCK = 0x5EC_10AD  # pg advisory lock key: one load at a time
STAGING = "loader_staging"
SYNTHETIC_MARKER = "SYNTHETIC"
TITLE_DB_COLUMNS = [c.name for c in tables.titles.c]


def migrate(connection: Connection) -> None:
    """Bring the schema to the newest revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    connection.commit()


@dataclass
class StagedTitles:
    rows: list[clean.TitleRow] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    work_ids: dict[str, str] = field(default_factory=dict)

    def known_ids(self) -> pa.Array:
        return pa.array(sorted(row.id for row in self.rows), pa.string())


@dataclass
class LoadResult:
    load_id: int | None
    files: list[FileReport]
    seconds: float
    unchanged_since: int | None = None  # an earlier load of the very same files
    shared_works: int = 0  # films and shows that two or more platforms deliver
    archived_ratings: int = 0  # API ratings of dropped titles, moved to ratings_archive

    def headline(self) -> str:
        archived = (
            f"; {self.archived_ratings:,} API ratings of dropped titles moved to ratings_archive"
            if self.archived_ratings
            else ""
        )
        return (
            f"load #{self.load_id} done in {self.seconds:.1f} s; "
            f"{self.shared_works:,} films and shows are on two or more platforms{archived}"
        )


def fingerprint(files: Iterable[tuple[SourceFile, str]]) -> str:
    """Changes when any file, or any cleaning rule, changes."""
    digest = hashlib.sha256(f"rules={clean.RULES_VERSION}".encode())
    for source, sha in sorted(files, key=lambda item: (item[0].kind, item[0].name)):
        digest.update(f"{source.kind}/{source.name}={sha}".encode())
    return digest.hexdigest()


def run_load(
    engine: Engine,
    *,
    titles_dir: Path,
    ratings_dir: Path | None,
    force: bool = False,
    archive_dropped_ratings: bool = False,
    progress: LoadProgress,
) -> LoadResult:
    started = time.monotonic()
    started_at = datetime.now(UTC)
    title_files = find_title_files(titles_dir)
    rating_files = find_rating_files(ratings_dir) if ratings_dir else []
    hashes = {source: source.sha256() for source in (*title_files, *rating_files)}

    with engine.connect() as conn:
        if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(LOAD_LOCK))).scalar():
            raise LoadError(titles_dir, "another load is running on this database; try later")
        try:
            migrate(conn)
            key = fingerprint(hashes.items())
            if not force:
                latest = conn.execute(
                    sa.select(tables.loads.c.id, tables.loads.c.fingerprint)
                    .order_by(tables.loads.c.id.desc())
                    .limit(1)
                ).one_or_none()
                if latest is not None and latest.fingerprint == key:
                    return LoadResult(
                        None, [], time.monotonic() - started, unchanged_since=latest.id
                    )

            conn.commit()
            progress.step("cleaning the four catalogues ...")
            staged = stage_titles(title_files, hashes)
            for report in staged.reports:
                progress.finish_file(report)
            progress.step("finding the films and shows that several platforms deliver ...")
            staged.work_ids = works.assign_works(map(works.copy_of, staged.rows))
            with conn.begin():
                driver = conn.connection.driver_connection
                _create_staging(conn)
                known = staged.known_ids()
                rating_reports, sums, counts = _stage_ratings(
                    conn, rating_files, hashes, known, progress
                )
                _copy_titles(driver, staged, known, sums, counts if rating_files else None)
                progress.step("swapping the new data in ...")
                archived = _set_aside_dropped(conn, archive=archive_dropped_ratings)
                _swap(conn)
                load_id = _record(
                    conn,
                    driver,
                    started_at=started_at,
                    titles_dir=titles_dir,
                    ratings_dir=ratings_dir,
                    fingerprint=key,
                    reports=[*staged.reports, *rating_reports],
                )
                if archived:
                    conn.execute(
                        tables.ratings_archive.update()
                        .where(
                            tables.ratings_archive.c.reason == "title_dropped",
                            tables.ratings_archive.c.load_id.is_(None),
                        )
                        .values(load_id=load_id)
                    )
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(LOAD_LOCK)))
            conn.commit()
    _vacuum(engine)
    return LoadResult(
        load_id,
        [*staged.reports, *rating_reports],
        time.monotonic() - started,
        shared_works=len({w for i, w in staged.work_ids.items() if i != w}),
        archived_ratings=archived,
    )


def stage_titles(sources: list[SourceFile], hashes: dict[SourceFile, str]) -> StagedTitles:
    """Parse and clean the four catalogues (pure Python; nothing touches the database yet)."""
    staged = StagedTitles()
    for source in sources:
        assert source.platform is not None
        report = FileReport(source.name, "titles", hashes[source], source.size)
        seen: set[str] = set()
        for record in read_titles(source):
            report.rows_read += 1
            if record.fields is None:
                report.rejected(record.line, None, "wrong_field_count", record.text[:200])
                continue
            report.missing_before.update(
                c for c in clean.TITLE_COLUMNS if not record.fields[c].strip()
            )
            show_id = record.fields["show_id"].strip()
            try:
                row = clean.clean_title(source.platform, record.fields)
            except clean.Reject as reject:
                report.rejected(record.line, show_id or None, reject.rule, reject.detail)
                continue
            if row.id in seen:
                report.rejected(record.line, show_id, "duplicate_show_id", f"{show_id} seen before")
                continue
            seen.add(row.id)
            if row.repairs:
                report.repaired(record.line, show_id, row.repairs.items)
            report.missing_after.update(clean.missing_after_cleaning(row))
            staged.rows.append(row)
            report.rows_loaded += 1
        staged.reports.append(report)
    return staged


def _create_staging(conn: Connection) -> None:
    for statement in (
        f"DROP SCHEMA IF EXISTS {STAGING} CASCADE",
        f"CREATE SCHEMA {STAGING}",
        f"CREATE TABLE {STAGING}.titles (LIKE titles INCLUDING DEFAULTS)",
        f"CREATE TABLE {STAGING}.title_cast (LIKE title_cast)",
        f"CREATE TABLE {STAGING}.title_genres (LIKE title_genres)",
        # The same shape and checks as the partition it replaces; the extra CHECK lets
        # ATTACH PARTITION skip its validation scan.
        f"CREATE TABLE {STAGING}.ratings_file"
        " (LIKE ratings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        f"ALTER TABLE {STAGING}.ratings_file ALTER COLUMN source SET DEFAULT 'file',"
        " ALTER COLUMN seq DROP DEFAULT,"
        " ADD CONSTRAINT ck_ratings_file_source CHECK (source = 'file')",
    ):
        conn.exec_driver_sql(statement)


RATINGS_COPY = (
    f"COPY {STAGING}.ratings_file (seq, user_id, title_id, rating, rated_at)"
    " FROM STDIN (FORMAT csv)"
)
CSV_NO_HEADER = pcsv.WriteOptions(include_header=False)


def _stage_ratings(
    conn: Connection,
    sources: list[SourceFile],
    hashes: dict[SourceFile, str],
    known: pa.Array,
    progress: LoadProgress,
) -> tuple[list[FileReport], np.ndarray, np.ndarray]:
    """COPY every ratings file into the staging partition; per-title sums and counts for scores."""
    sums = np.zeros(len(known))
    counts = np.zeros(len(known), dtype=np.int64)
    reports = []
    next_seq = 1
    driver = conn.connection.driver_connection
    for source in sources:
        progress.start_file(source.name, None)
        for careful in (False, True):
            savepoint = conn.begin_nested()
            report = FileReport(source.name, "ratings", hashes[source], source.size)
            file_sums, file_counts = np.zeros_like(sums), np.zeros_like(counts)
            try:
                seq = _copy_ratings_file(
                    driver,
                    source,
                    report,
                    known,
                    next_seq,
                    file_sums,
                    file_counts,
                    progress,
                    careful,
                )
            except CarefulRestart:
                savepoint.rollback()
                progress.step(f"  {source.name}: odd rows found, re-reading it row by row")
                continue
            savepoint.commit()
            break
        next_seq = seq
        sums += file_sums
        counts += file_counts
        reports.append(report)
        progress.finish_file(report)
    return reports, sums, counts


def _copy_ratings_file(
    driver: psycopg.Connection,
    source: SourceFile,
    report: FileReport,
    known: pa.Array,
    seq: int,
    sums: np.ndarray,
    counts: np.ndarray,
    progress: LoadProgress,
    careful: bool,
) -> int:
    with driver.cursor() as cursor, cursor.copy(RATINGS_COPY) as copy:
        for batch in read_ratings(source, careful=careful):
            report.rows_read += len(batch) + len(batch.malformed)
            for line, text in batch.malformed:
                report.rejected(
                    line, None, "wrong_field_count", f"{text[:200]!r} has the wrong field count"
                )
            _count_missing_ratings(report, batch)
            title = clean.title_index(batch.movie_id, known)
            keep, failed = clean.check_ratings(batch.user_id, batch.rating, batch.timestamp, title)
            if not keep.all():
                _reject_ratings(report, batch, keep, failed)
            mask = pa.array(keep)
            movie_id = batch.movie_id.filter(mask)
            rating = batch.rating.filter(mask)
            n = len(movie_id)
            table = pa.table(
                {
                    "seq": pa.array(np.arange(seq, seq + n, dtype=np.int64)),
                    "user_id": batch.user_id.filter(mask),
                    "title_id": movie_id,
                    "rating": rating,
                    "rated_at": batch.timestamp.filter(mask).cast(pa.timestamp("s", tz="UTC")),
                }
            )
            buffer = io.BytesIO()
            pcsv.write_csv(table, buffer, CSV_NO_HEADER)
            copy.write(buffer.getbuffer())
            index = title.filter(mask).to_numpy()
            sums += np.bincount(index, weights=rating.to_numpy(), minlength=len(sums))
            counts += np.bincount(index, minlength=len(counts))
            seq += n
            report.rows_loaded += n
            report.missing_after["timestamp"] += table.column("rated_at").null_count
            progress.advance(len(batch))
    return seq


def _count_missing_ratings(report: FileReport, batch) -> None:
    """Empty (or unparseable) fields per column, before any row is rejected."""
    for column, values in zip(
        clean.RATING_COLUMNS,
        (batch.user_id, batch.rating, batch.timestamp, batch.movie_id),
        strict=True,
    ):
        empty = values.null_count
        if pa.types.is_string(values.type):
            empty += pc.sum(pc.equal(pc.utf8_trim_whitespace(values), "")).as_py() or 0
        report.missing_before[column] += empty


def _reject_ratings(report: FileReport, batch, keep: np.ndarray, failed: np.ndarray) -> None:
    rows = np.nonzero(~keep)[0]
    columns = [
        c.take(pa.array(rows)).to_pylist()
        for c in (batch.user_id, batch.rating, batch.timestamp, batch.movie_id)
    ]
    for k, row in enumerate(rows):
        rule = clean.RATING_RULES[failed[k]]
        user_id, rating, timestamp, movie_id = (col[k] for col in columns)
        detail = clean.describe_rating_reject(rule, user_id, rating, timestamp, movie_id)
        report.rejected(int(batch.line[row]), movie_id, rule, detail)


def _copy_titles(
    driver: psycopg.Connection,
    staged: StagedTitles,
    known: pa.Array,
    sums: np.ndarray,
    counts: np.ndarray | None,
) -> None:
    position = {title_id: i for i, title_id in enumerate(known.to_pylist())}
    with driver.cursor() as cursor:
        columns = ", ".join(TITLE_DB_COLUMNS)
        with cursor.copy(f"COPY {STAGING}.titles ({columns}) FROM STDIN") as copy:
            for row in staged.rows:
                votes = int(counts[position[row.id]]) if counts is not None else 0
                score = float(sums[position[row.id]] / votes) if votes else None
                values = {
                    **vars(row),
                    "score": score,
                    "votes": votes,
                    "work_id": staged.work_ids[row.id],
                }
                copy.write_row([values[c] for c in TITLE_DB_COLUMNS])
        for table, column in (("title_cast", "actor"), ("title_genres", "genre")):
            with cursor.copy(
                f"COPY {STAGING}.{table} (title_id, position, {column}) FROM STDIN"
            ) as copy:
                for row in staged.rows:
                    names = row.cast if table == "title_cast" else row.genres
                    for i, name in enumerate(names, start=1):
                        copy.write_row((row.id, i, name))


DROPPED = f"NOT EXISTS (SELECT FROM {STAGING}.titles s WHERE s.id = r.title_id)"


def _set_aside_dropped(conn: Connection, *, archive: bool) -> int:
    """API ratings of titles the new catalogues no longer have: moved to ratings_archive when
    the operator asked for it (their count is returned), else the load stops; never deleted."""
    count, examples = conn.exec_driver_sql(
        f"SELECT count(*), (array_agg(DISTINCT r.title_id))[1:5] FROM ratings_api r WHERE {DROPPED}"
    ).one()
    if not count:
        return 0
    if not archive:
        raise LoadError(
            "titles",
            f"{count:,} ratings posted through the API are of titles missing from the new "
            f"catalogues ({', '.join(examples)}); refusing to drop them. Load again with "
            "--archive-dropped-ratings to move them to ratings_archive (nothing is deleted)",
        )
    conn.exec_driver_sql(
        f"WITH dropped AS (DELETE FROM ratings_api r WHERE {DROPPED} RETURNING r.*)"
        " INSERT INTO ratings_archive (archived_at, reason, seq, user_id, title_id, rating,"
        " rated_at) SELECT now(), 'title_dropped', seq, user_id, title_id, rating, rated_at"
        " FROM dropped"
    )
    return count


def _swap(conn: Connection) -> None:
    columns = ", ".join(TITLE_DB_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in TITLE_DB_COLUMNS if c != "id")
    statements = [
        # Wait for running queries, but not forever: a stuck reader fails the load, not the site.
        "SET LOCAL lock_timeout = '60s'",
        "ALTER TABLE ratings DETACH PARTITION ratings_file",
        "DROP TABLE ratings_file",
        f"DELETE FROM titles t WHERE NOT EXISTS (SELECT FROM {STAGING}.titles s WHERE s.id = t.id)",
        f"INSERT INTO titles ({columns}) SELECT {columns} FROM {STAGING}.titles"
        f" ON CONFLICT (id) DO UPDATE SET {updates}",
        "DELETE FROM title_cast",
        f"INSERT INTO title_cast SELECT * FROM {STAGING}.title_cast",
        "DELETE FROM title_genres",
        f"INSERT INTO title_genres SELECT * FROM {STAGING}.title_genres",
        f"ALTER TABLE {STAGING}.ratings_file SET SCHEMA public",
        "ALTER TABLE ratings ATTACH PARTITION ratings_file FOR VALUES IN ('file')",
        f"DROP SCHEMA {STAGING} CASCADE",
        *(f"REFRESH MATERIALIZED VIEW {view.name}" for view in tables.MATERIALIZED_VIEWS),
        "ANALYZE titles, title_cast, title_genres, ratings_file, "
        + ", ".join(view.name for view in tables.MATERIALIZED_VIEWS),
    ]
    for statement in statements:
        try:
            conn.exec_driver_sql(statement)
        except sa.exc.IntegrityError as exc:
            if isinstance(exc.orig, psycopg.errors.ForeignKeyViolation):
                raise LoadError(
                    "titles",
                    "titles missing from the new catalogues still have ratings posted through "
                    f"the API ({exc.orig.diag.message_detail}); refusing to drop them",
                ) from None
            raise


def _vacuum(engine: Engine) -> None:
    """Fresh visibility maps, so the catalog's queries are answered from indexes alone (the
    statistics were refreshed in the swap)."""
    names = ["titles", "title_cast", "title_genres", *(v.name for v in tables.MATERIALIZED_VIEWS)]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {', '.join(names)}")


def _record(
    conn: Connection,
    driver: psycopg.Connection,
    *,
    started_at: datetime,
    titles_dir: Path,
    ratings_dir: Path | None,
    fingerprint: str,
    reports: list[FileReport],
) -> int:
    load_id = conn.execute(
        tables.loads.insert()
        .values(
            started_at=started_at,
            finished_at=datetime.now(UTC),
            titles_dir=str(titles_dir),
            ratings_dir=str(ratings_dir) if ratings_dir else None,
            synthetic=(titles_dir / SYNTHETIC_MARKER).exists(),
            fingerprint=fingerprint,
            loader_version=version("streamrec"),
        )
        .returning(tables.loads.c.id)
    ).scalar_one()
    conn.execute(
        tables.load_files.insert(),
        [
            {
                "load_id": load_id,
                "file": r.file,
                "kind": r.kind,
                "sha256": r.sha256,
                "bytes": r.bytes,
                "rows_read": r.rows_read,
                "rows_loaded": r.rows_loaded,
                "rows_repaired": r.rows_repaired,
                "rows_rejected": r.rows_rejected,
                "repairs": dict(r.repairs),
                "rejects": dict(r.rejects),
                "missing": r.missing(
                    clean.TITLE_COLUMNS if r.kind == "titles" else clean.RATING_COLUMNS
                ),
            }
            for r in reports
        ],
    )
    columns = "load_id, file, line, record, action, rule, detail"
    with driver.cursor() as cursor, cursor.copy(f"COPY load_issues ({columns}) FROM STDIN") as copy:
        for report in reports:
            for i in report.issues:
                copy.write_row((load_id, i.file, i.line, i.record, i.action, i.rule, i.detail))
    return load_id
