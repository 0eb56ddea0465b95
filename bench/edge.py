"""The HTTP edge under attack: how fast a 1 MB header is refused, how much of a 100 MB header
is read, how long slow clients (slowloris) are held, and what ordinary requests cost meanwhile.

    python -m bench.edge [--url http://127.0.0.1:PORT] [--slow 30]

Without --url a gateway is started here (one worker, HEADER_TIMEOUT_S=1); with it, whatever
answers there is measured, e.g. nginx in front of a gateway (docker/nginx.conf). A baseline is
measured in the same run: ordinary requests on an idle server.
"""

import argparse
import contextlib
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

from common.proc import Service, free_port

PATH = "/health/live"


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_head(host: str) -> bytes:
    return f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\n".encode()


def huge_header(host: str, port: int, size: int) -> tuple[str, float, int]:
    """(status line, seconds to the answer, bytes sent before the server stopped reading)."""
    sock = connect(host, port)
    started, sent = time.perf_counter(), 0
    with contextlib.suppress(OSError):
        sock.sendall(request_head(host) + b"X-Big: ")
        block = b"a" * 65536
        while sent < size:
            sock.sendall(block)
            sent += len(block)
        sock.sendall(b"\r\n\r\n")
    reply = b""
    with contextlib.suppress(OSError):
        reply = sock.recv(200)
    seconds = time.perf_counter() - started
    sock.close()
    return (reply.split(b"\r\n", 1)[0].decode() or "(closed)"), seconds, sent


def slow_client(host: str, port: int, held: list[float], limit_s: float) -> None:
    sock = connect(host, port)
    started = time.perf_counter()
    try:
        sock.sendall(request_head(host))
        sock.settimeout(0.25)
        while time.perf_counter() - started < limit_s:
            sock.sendall(b"X")
            try:
                if sock.recv(200) is not None:
                    break
            except TimeoutError:
                continue
    except OSError:
        pass
    held.append(time.perf_counter() - started)
    sock.close()


def ordinary(url: str, count: int) -> list[float]:
    took = []
    with httpx.Client(timeout=10) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get(url + PATH).raise_for_status()
            took.append(time.perf_counter() - started)
    return took


def measure(url: str, slow: int) -> None:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port
    base = statistics.median(ordinary(url, 200)) * 1000
    print(f"ordinary requests, idle server:        p50 {base:7.2f} ms")
    status, seconds, _ = huge_header(host, port, 1_000_000)
    print(f"1 MB header:                           {status!r} after {seconds * 1000:.1f} ms")
    status, seconds, sent = huge_header(host, port, 100_000_000)
    print(
        f"100 MB header:                         {status!r} after {seconds * 1000:.1f} ms,"
        f" {sent / 1e6:.1f} MB sent before the server stopped reading"
    )
    held: list[float] = []
    threads = [
        threading.Thread(target=slow_client, args=(host, port, held, 30.0)) for _ in range(slow)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    meanwhile = statistics.median(ordinary(url, 100)) * 1000
    for thread in threads:
        thread.join()
    print(f"ordinary requests beside {slow} slow clients: p50 {meanwhile:7.2f} ms")
    print(
        f"slow clients held: median {statistics.median(held):.2f} s, longest {max(held):.2f} s"
        " (30 s means never cut off)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.edge", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", help="measure this server instead of starting a gateway")
    parser.add_argument("--slow", type=int, default=30, help="slow clients at once (30)")
    args = parser.parse_args()
    if args.url:
        measure(args.url.rstrip("/"), args.slow)
        return
    with tempfile.TemporaryDirectory() as logs:
        gateway = Service(
            "bench-gateway",
            ["services.gateway"],
            free_port(),
            {"WORKERS": "1", "HEADER_TIMEOUT_S": "1", "LOG_LEVEL": "WARNING"},
            Path(logs),
        )
        gateway.start().wait("/health/live")
        try:
            measure(gateway.url, args.slow)
        finally:
            gateway.stop()


if __name__ == "__main__":
    main()
