"""Find and parse the delivered files. Every failure is a LoadError naming the file (and line)."""

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from common.files import sha256_file
from common.platforms import Platform
from loader.clean import RATING_COLUMNS, TITLE_COLUMNS

BATCH_ROWS = 250_000


class LoadError(Exception):
    """A problem that stops the load; the database is left as it was."""

    def __init__(self, file: Path | str, message: str, line: int | None = None):
        self.file, self.line, self.message = str(file), line, message
        where = f"{self.file}:{line}" if line is not None else self.file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str  # "titles" or "ratings"
    platform: Platform | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def sha256(self) -> str:
        return sha256_file(self.path)


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise LoadError(path, f"{what} folder does not exist")


def find_title_files(titles_dir: Path) -> list[SourceFile]:
    """The four catalogues, as .csv or .csv.gz; each one must be there."""
    _require_dir(titles_dir, "titles")
    found = []
    for platform in Platform:
        candidates = [
            titles_dir / platform.catalogue_file,
            titles_dir / f"{platform.catalogue_file}.gz",
        ]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise LoadError(candidates[0], f"missing catalogue for {platform.value}")
        found.append(SourceFile(path, "titles", platform))
    return found


def find_rating_files(ratings_dir: Path) -> list[SourceFile]:
    """Every *.csv and *.csv.gz in the folder, in natural order (2 before 10)."""
    _require_dir(ratings_dir, "ratings")
    paths = [
        p for p in ratings_dir.iterdir() if p.is_file() and p.name.endswith((".csv", ".csv.gz"))
    ]
    if not paths:
        raise LoadError(ratings_dir, "no .csv or .csv.gz ratings files in this folder")
    return [SourceFile(p, "ratings") for p in sorted(paths, key=_natural_key)]


def _natural_key(path: Path) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name))


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A file that cannot be read (I/O error, truncated or corrupt gzip) is a LoadError."""
    try:
        yield
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError(path, f"cannot read: {_describe(exc)}") from None


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _read_bytes(path: Path) -> bytes:
    with _reading(path), _open(path) as handle:
        return handle.read()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "compressed" in text.lower() or isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"truncated or corrupt gzip ({text})"
    return text


def _check_header(path: Path, header: list[str], expected: tuple[str, ...]) -> None:
    names = [h.strip() for h in header]
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    duplicated = len(set(names)) != len(names)
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        if duplicated:
            parts.append("a column is repeated")
        raise LoadError(path, f"{'; '.join(parts)}; expected {','.join(expected)}", line=1)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(
            path, f"not UTF-8: byte {data[exc.start]:#04x} cannot be decoded", line
        ) from None


@dataclass
class RawRecord:
    line: int
    fields: dict[str, str] | None  # None when the field count is wrong
    text: str


def read_titles(source: SourceFile) -> Iterator[RawRecord]:
    """Catalogue records with the physical line each starts on (quoted fields may span lines)."""
    text = _decode(source.path, _read_bytes(source.path))
    if not text.strip():
        raise LoadError(source.path, "file is empty (no header)")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    _check_header(source.path, header, TITLE_COLUMNS)
    names = [h.strip() for h in header]
    line = reader.line_num + 1
    for row in reader:
        if row:
            record = dict(zip(names, row, strict=True)) if len(row) == len(names) else None
            yield RawRecord(line, record, ",".join(row))
        line = reader.line_num + 1


@dataclass
class RatingsBatch:
    """Typed columns; a value the source could not parse is null. `line` is the physical line."""

    line: np.ndarray
    user_id: pa.Array
    rating: pa.Array
    timestamp: pa.Array
    movie_id: pa.Array
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, raw text)

    def __len__(self) -> int:
        return len(self.line)


RATING_TYPES = {
    "userId": pa.int64(),
    "rating": pa.float64(),
    "timestamp": pa.int64(),
    "movieId": pa.string(),
}


class CarefulRestart(Exception):
    """The fast reader met an odd row: read the file again with `careful=True`."""


def read_ratings(source: SourceFile, *, careful: bool = False) -> Iterator[RatingsBatch]:
    """Ratings in batches with their line numbers. A clean file streams through pyarrow; the
    first odd row raises CarefulRestart, and a careful read then goes row by row.
    """
    header = _first_line(source.path)
    _check_header(source.path, next(csv.reader([header])), RATING_COLUMNS)
    if careful:
        return _careful_batches(source.path)
    return _fast_batches(source.path)


def _first_line(path: Path) -> str:
    with _reading(path), _open(path) as handle:
        first = handle.readline()
    if not first.strip():
        raise LoadError(path, "file is empty (no header)")
    try:
        return first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise LoadError(path, "not UTF-8: the header cannot be decoded", line=1) from None


def _fast_batches(path: Path) -> Iterator[RatingsBatch]:
    with _reading(path):
        yield from _arrow_batches(path)


def _arrow_batches(path: Path) -> Iterator[RatingsBatch]:
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=1 << 23),
            convert_options=pcsv.ConvertOptions(column_types=RATING_TYPES),
        )
        next_line = 2
        for batch in reader:
            lines = np.arange(next_line, next_line + batch.num_rows, dtype=np.int64)
            next_line += batch.num_rows
            yield RatingsBatch(
                line=lines,
                user_id=batch.column("userId"),
                rating=batch.column("rating"),
                timestamp=batch.column("timestamp"),
                movie_id=batch.column("movieId"),
            )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise LoadError(path, "file is empty (no header)") from None
        raise CarefulRestart from None


def _careful_batches(path: Path) -> Iterator[RatingsBatch]:
    """Row by row, with exact line numbers; unparseable values become nulls for the checks."""
    with _reading(path), _open(path) as raw:
        reader = csv.reader(_decoded_lines(path, raw))
        names = [h.strip() for h in next(reader)]
        index = {name: names.index(name) for name in RATING_COLUMNS}
        columns: dict[str, list] = {name: [] for name in (*RATING_COLUMNS, "line")}
        malformed: list[tuple[int, str]] = []
        line = reader.line_num + 1
        for row in reader:
            if len(row) != len(names):
                malformed.append((line, ",".join(row)))
            else:
                columns["line"].append(line)
                columns["userId"].append(_to_int(row[index["userId"]]))
                columns["rating"].append(_to_float(row[index["rating"]]))
                columns["timestamp"].append(_to_int(row[index["timestamp"]]))
                columns["movieId"].append(row[index["movieId"]].strip())
            line = reader.line_num + 1
            if len(columns["line"]) >= BATCH_ROWS:
                yield _careful_batch(columns, malformed)
                columns = {name: [] for name in columns}
                malformed = []
        yield _careful_batch(columns, malformed)


def _decoded_lines(path: Path, raw: Iterable[bytes]) -> Iterator[str]:
    """Decode line by line, so that a bad byte is reported on its own line."""
    for number, line in enumerate(raw, start=1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(path, f"not UTF-8 ({exc.reason})", line=number) from None


def _careful_batch(columns: dict[str, list], malformed: list[tuple[int, str]]) -> RatingsBatch:
    return RatingsBatch(
        line=np.asarray(columns["line"], dtype=np.int64),
        user_id=pa.array(columns["userId"], pa.int64()),
        rating=pa.array(columns["rating"], pa.float64()),
        timestamp=pa.array(columns["timestamp"], pa.int64()),
        movie_id=pa.array(columns["movieId"], pa.string()),
        malformed=malformed,
    )


def _to_int(text: str) -> int | None:
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None


def _to_float(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None
