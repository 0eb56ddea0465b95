"""python -m launcher [--data-dir DIR]: the whole system, locally, on the embedded PostgreSQL.

Starts (or reuses) the embedded server in .data/pg; loads DIR/titles and DIR/ratings (the real
data), or a synthetic demo set it generates under .data/demo; trains a model unless the loaded
data is unchanged and a model exists; builds the insights report in .data/report after
training; starts the catalog, recommender and gateway as separate processes, the services as
their least-privilege roles; prints the page's URL. Ctrl-C stops every process.

Sign-in: the gateway checks tokens signed with a key kept in .data/auth/secret (made on the
first run), and the page signs in as whichever user it shows (AUTH_DEMO_SIGN_IN, which only the
launcher sets and which the gateway refuses on anything but a loopback address).
"""

import argparse
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

from common import embedded
from common.db import engine_at
from common.proc import Stack
from common.reports import PAGE
from common.settings import DatabaseSettings
from loader.demo import write_demo
from loader.load import run_load
from loader.progress import LoadProgress, print_summary
from loader.read import LoadError
from loader.report.build import ReportError, build
from loader.roles import RoleSettings, role_url, set_passwords
from services.recommender.model import current_version
from services.recommender.settings import Settings as RecommenderSettings
from services.recommender.train import TrainerError, train, tuned_defaults


def say(message: str) -> None:
    print(f"streamrec: {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As uvicorn binds: connections still in TIME_WAIT do not make a port busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_data(url: str, data: Path) -> bool:
    """Load the data unless it is already loaded; True when something new was loaded."""
    with engine_at(url, application_name="launcher") as engine, LoadProgress() as progress:
        result = run_load(
            engine,
            titles_dir=data / "titles",
            ratings_dir=data / "ratings",
            progress=progress,
        )
    if result.unchanged_since is not None:
        say(f"data unchanged since load #{result.unchanged_since}; nothing to load")
        return False
    print_summary(result.files, result.headline())
    return True


def build_report(url: str, report_dir: Path, model_dir: Path) -> None:
    """The insights report; the system runs without it, so a failure is only reported."""
    say("building the insights report")
    try:
        with engine_at(url, application_name="launcher") as engine:
            built = build(engine, out=report_dir, model_dir=model_dir)
    except ReportError as exc:
        say(f"warning: no insights report: {exc}")
        return
    say(f"insights report: {built.page} ({built.seconds:.1f} s)")


def auth_secret(home: Path) -> str:
    """The key that signs the local tokens: made once, readable by this user only."""
    path = home / "auth" / "secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def service_urls(url: str) -> dict[str, str] | None:
    """The catalog's and the recommender's URLs, as their least-privilege roles, with the
    passwords CATALOG_DB_PASSWORD and RECOMMENDER_DB_PASSWORD when given (and then set on the
    roles); None, after saying why, when the server does not let the roles in."""
    import psycopg

    from common.db import driver_line
    from common.throwaway import conninfo

    given = RoleSettings()
    passwords = {
        service: secret.get_secret_value()
        for service, secret in (
            ("catalog", given.catalog_db_password),
            ("recommender", given.recommender_db_password),
        )
        if secret is not None
    }
    if passwords:
        set_passwords(url, passwords)
    urls = {service: role_url(url, service, passwords.get(service)) for service in ROLE_SERVICES}
    for service, role in urls.items():
        try:
            psycopg.connect(conninfo(role), connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            say(
                f"error: the {service} connects as its own role and the server refused it "
                f"({driver_line(exc)}); set CATALOG_DB_PASSWORD and RECOMMENDER_DB_PASSWORD "
                "(the launcher gives them to the roles)"
            )
            return None
    return urls


ROLE_SERVICES = ("catalog", "recommender")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("DATA_DIR") or None)
    for name, default in (("gateway", 8000), ("catalog", 8001), ("recommender", 8002)):
        env = f"{name.upper()}_PORT"
        parser.add_argument(f"--{name}-port", type=int, default=int(os.environ.get(env, default)))
    args = parser.parse_args(argv)
    ports = {n: getattr(args, f"{n}_port") for n in ("catalog", "recommender", "gateway")}
    busy = [f"{name} ({port})" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        say(f"port in use: {', '.join(busy)}; free it or pass --<service>-port")
        return 2

    home = embedded.data_home()
    database = DatabaseSettings()
    own_database = bool(database.database_url)
    url = database.resolved_database_url()
    say(f"database: {'DATABASE_URL' if own_database else home / 'pg'}")

    if args.data_dir:
        data = args.data_dir.resolve()
        say(f"data: {data}")
    else:
        data = home / "demo"
        if not (data / "titles").is_dir():
            write_demo(data)
        say(f"data: SYNTHETIC demo set in {data} (pass DATA_DIR for the real data)")
    try:
        loaded = load_data(url, data)
        # The services, and the trainer with the recommender's, connect with their
        # least-privilege roles, on DATABASE_URL's server too.
        urls = service_urls(url)
        if urls is None:
            return 1
        model_dir = home / "models"
        trained = loaded or current_version(model_dir) is None
        if trained:
            say("training a model (progress below)")
            settings = RecommenderSettings(database_url=urls["recommender"], model_dir=model_dir)
            train(settings, params=tuned_defaults())
    except (LoadError, TrainerError) as exc:
        say(f"error: {exc}")
        return 1
    say(f"model: {current_version(model_dir)} in {model_dir}")
    report_dir = home / "report"
    if trained or not (report_dir / PAGE).is_file():
        build_report(url, report_dir, model_dir)

    env = {service: {"DATABASE_URL": role} for service, role in urls.items()}
    env["gateway"] = {"REPORT_DIR": str(report_dir), "AUTH_DEMO_SIGN_IN": "true"}
    stack = Stack(
        url, model_dir, home / "logs", ports=ports, env=env, auth_secret=auth_secret(home)
    )
    services = stack.services
    # Explicitly: a launcher started in the background inherits an ignored SIGINT.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: sys.exit(0))
    try:
        stack.start()
        say(", ".join(f"{s.name} on :{s.port}" for s in services) + f"; logs in {home / 'logs'}")
        say(f"gateway metrics on http://127.0.0.1:{stack.metrics_port}/metrics")
        say(
            "the page signs in as the user it shows; a token for the API (user 1, 1 h): "
            + stack.token(1)
        )
        say(
            f"open http://127.0.0.1:{ports['gateway']}/  (API docs at /docs, insights at "
            "/report; Ctrl-C stops it all)"
        )
        while all(s.alive() for s in services):
            time.sleep(0.5)
        dead = [s.name for s in services if not s.alive()]
        say(f"{', '.join(dead)} stopped unexpectedly; see {home / 'logs'}; stopping the rest")
        return 1
    finally:
        say("stopping ...")
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
