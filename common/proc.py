"""Start services as real processes and wait for them: used by the launcher, tests and benches."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.files import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status code of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


class Service:
    """`python -m <args>` on a port of its own, with its output in a log file."""

    def __init__(self, name: str, args: list[str], port: int, env: dict[str, str], log_dir: Path):
        self.name, self.args, self.port = name, args, port
        self.env = {**os.environ, **env, "PORT": str(port)}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Service":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.args],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the launcher, which stops us
        )
        return self

    def wait(self, path: str = "/health/ready", timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            if http_status(self.url + path) == 200:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not answer {path} with 200 in {timeout:.0f} s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up, like a crash."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Stack:
    """The catalog, the recommender and the gateway in front of them, each its own process.
    The gateway checks tokens signed with `auth_secret` (HS256; `token()` makes them) and the
    services between themselves use `service_token`; both are random unless given."""

    def __init__(
        self,
        database_url: str,
        model_dir: Path,
        log_dir: Path,
        *,
        ports: dict[str, int] | None = None,
        env: dict[str, dict[str, str]] | None = None,
        auth_secret: str | None = None,
        service_token: str | None = None,
    ):
        ports = ports or {name: free_port() for name in ("catalog", "recommender", "gateway")}
        env = env or {}
        self.auth_secret = auth_secret or secrets.token_urlsafe(32)
        self.service_token = service_token or secrets.token_urlsafe(32)
        self.metrics_port = ports.get("gateway_metrics") or free_port()
        database = {"DATABASE_URL": database_url, "SERVICE_TOKEN": self.service_token}
        self.catalog = Service(
            "catalog",
            ["services.catalog"],
            ports["catalog"],
            {**database, **env.get("catalog", {})},
            log_dir,
        )
        self.recommender = Service(
            "recommender",
            ["services.recommender"],
            ports["recommender"],
            {**database, "MODEL_DIR": str(model_dir), **env.get("recommender", {})},
            log_dir,
        )
        self.gateway = Service(
            "gateway",
            ["services.gateway"],
            ports["gateway"],
            {
                "CATALOG_URL": self.catalog.url,
                "RECOMMENDER_URL": self.recommender.url,
                "SERVICE_TOKEN": self.service_token,
                "AUTH_SECRET": self.auth_secret,
                "METRICS_PORT": str(self.metrics_port),
                **env.get("gateway", {}),
            },
            log_dir,
        )

    def token(self, user: int | str, *, ttl_s: int = 3600, service: bool = False) -> str:
        """A bearer token for `user` that this stack's gateway accepts."""
        from contracts.auth import claims, sign

        return sign(self.auth_secret, "HS256", claims(str(user), ttl_s=ttl_s, service=service))

    def auth(self, user: int | str, **options) -> dict[str, str]:
        """The Authorization header of `user`'s token."""
        return {"Authorization": f"Bearer {self.token(user, **options)}"}

    @property
    def internal(self) -> dict[str, str]:
        """The header the catalog and the recommender require (what the gateway sends)."""
        return {"Authorization": f"Bearer {self.service_token}"}

    @property
    def services(self) -> list[Service]:
        return [self.catalog, self.recommender, self.gateway]

    @property
    def url(self) -> str:
        return self.gateway.url

    def start(self, timeout: float = 120) -> "Stack":
        """Start all three and wait until each is ready; on failure nothing is left running."""
        try:
            for service in self.services:
                service.start()
            for service in self.services:
                service.wait(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
