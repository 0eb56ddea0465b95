"""The HTTP edge, against a real gateway process: a 1 MB (and a 100 MB) header is refused at
once, slow clients are cut off after HEADER_TIMEOUT_S while other clients are served as usual,
header counts, the concurrency cap and keep-alive are bounded; security headers, trusted Host
headers, no Host in redirects, metrics only on the internal port, docs only when enabled."""

import contextlib
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from common.proc import Service, free_port
from tests.conftest import gateway_client
from tests.reliability import record

HEADER_TIMEOUT_S = 1.0
FIGURES: dict[str, float] = {}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    service = Service(
        "edge-gateway",
        ["services.gateway"],
        free_port(),
        {
            "WORKERS": "1",
            "HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "TIMEOUT_KEEP_ALIVE_S": "1",
            "METRICS_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
        },
        tmp_path_factory.mktemp("edge-logs"),
    )
    service.start().wait("/health/live")
    yield service
    service.stop()


def connect(service: Service) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


REQUEST = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n"


def huge_header(service: Service, size: int) -> tuple[bytes, float, int]:
    """Send a request whose one header is `size` bytes; (answer, seconds to it, bytes sent)."""
    sock = connect(service)
    sent, started = 0, time.perf_counter()
    reply = b""
    try:
        sock.sendall(REQUEST + b"X-Big: ")
        block = b"a" * 65536
        while sent < size:
            sock.sendall(block)
            sent += len(block)
        sock.sendall(b"\r\n\r\n")
    except OSError:
        pass  # the server closed the connection: read what it said
    with contextlib.suppress(OSError):
        reply = answer(sock)
    seconds = time.perf_counter() - started
    sock.close()
    return reply, seconds, sent


def normal_requests(service: Service, count: int) -> list[float]:
    """Seconds each of `count` ordinary requests took, one after the other."""
    took = []
    with httpx.Client(base_url=service.url, timeout=10) as client:
        for _ in range(count):
            started = time.perf_counter()
            assert client.get("/health/live").status_code == 200
            took.append(time.perf_counter() - started)
    return took


def test_a_1_mb_header_is_refused_at_once_and_others_are_served(gateway):
    reply, seconds, _ = huge_header(gateway, 1_000_000)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:200]
    assert b"request headers over 16384 bytes" in reply
    assert seconds < 1.0, seconds
    with ThreadPoolExecutor(4) as pool:
        attacks = [pool.submit(huge_header, gateway, 1_000_000) for _ in range(4)]
        others = normal_requests(gateway, 20)
        assert all(a.result()[0].startswith(b"HTTP/1.1 431") for a in attacks)
    assert statistics.median(others) < 0.1
    FIGURES["header_1mb_refused_s"] = round(seconds, 4)
    FIGURES["others_median_ms_meanwhile"] = round(statistics.median(others) * 1000, 2)


def test_a_100_mb_header_costs_the_server_next_to_nothing(gateway):
    process = psutil.Process(gateway.process.pid)
    cpu_before = sum(process.cpu_times()[:2])
    reply, seconds, sent = huge_header(gateway, 100_000_000)
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    assert reply.startswith(b"HTTP/1.1 431 ") or reply == b"", reply[:100]
    assert sent < 100_000_000, "the server read the whole 100 MB"
    assert cpu < 0.5, cpu
    assert gateway.alive() and normal_requests(gateway, 3)
    FIGURES["header_100mb_seconds"] = round(seconds, 3)
    FIGURES["header_100mb_server_cpu_s"] = round(cpu, 3)
    FIGURES["header_100mb_bytes_sent_before_close"] = sent


def test_a_huge_header_on_a_kept_alive_connection_is_refused_too(gateway):
    sock = connect(gateway)
    sock.sendall(REQUEST + b"\r\n")
    first = b""
    while not first.endswith(b'"checks":{}}'):
        first += sock.recv(65536)
    with contextlib.suppress(OSError):
        sock.sendall(REQUEST + b"X-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")
    reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:100]


def test_a_body_sent_with_the_headers_is_not_counted_as_headers(gateway):
    """Only the headers count against HEADER_MAX_BYTES, whatever arrives in the same packet."""
    body = b'{"user_id": 1, "title_id": "ns1", "rating": 4, "pad": "' + b"x" * 40_000 + b'"}'
    for pad in (0, 15_000):
        sock = connect(gateway)
        sock.sendall(
            b"POST /ratings HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n"
            b"X-Pad: " + b"p" * pad + b"\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        )
        reply = answer(sock)
        assert reply.startswith(b"HTTP/1.1 401 "), reply[:100]  # it reached the app


def test_too_many_headers_are_refused(gateway):
    sock = connect(gateway)
    sock.sendall(REQUEST + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n")
    reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 431 ") and b"more than 100 request headers" in reply


def slow_client(service: Service, results: list, index: int) -> None:
    """Slowloris: a request's headers, one byte every 0.2 s, for ever."""
    sock = connect(service)
    started = time.perf_counter()
    try:
        sock.sendall(REQUEST)
        while True:
            sock.sendall(b"X")
            time.sleep(0.2)
            # A reply (or a close) ends it.
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                data = None
            finally:
                sock.setblocking(True)
            if data is not None:
                results[index] = (data, time.perf_counter() - started)
                return
            if time.perf_counter() - started > 20:
                results[index] = (b"still open", time.perf_counter() - started)
                return
    except OSError:
        results[index] = (b"closed", time.perf_counter() - started)
    finally:
        sock.close()


def test_slow_clients_are_cut_off_and_others_are_unaffected(gateway):
    clients = 30
    results: list = [None] * clients
    threads = [
        threading.Thread(target=slow_client, args=(gateway, results, i)) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    others = normal_requests(gateway, 30)
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None for r in results)
    assert all(data.startswith(b"HTTP/1.1 408 ") for data, _ in results), results[0]
    held = max(seconds for _, seconds in results)
    assert held < HEADER_TIMEOUT_S + 1.0, held
    assert statistics.median(others) < 0.1 and max(others) < 1.0
    FIGURES["slow_clients"] = clients
    FIGURES["slow_client_held_at_most_s"] = round(held, 3)
    FIGURES["others_median_ms_during_slowloris"] = round(statistics.median(others) * 1000, 2)


def test_a_silent_connection_and_an_idle_keep_alive_are_closed(gateway):
    silent = connect(gateway)
    started = time.perf_counter()
    assert answer(silent) == b""  # closed without a word: it never asked anything
    assert time.perf_counter() - started < HEADER_TIMEOUT_S + 1.0
    kept = connect(gateway)
    kept.sendall(REQUEST + b"\r\n")
    first = b""
    while not first.endswith(b'"checks":{}}'):  # the whole first answer
        first += kept.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 ")
    started = time.perf_counter()
    assert answer(kept) == b""
    assert time.perf_counter() - started < 2.5  # TIMEOUT_KEEP_ALIVE_S=1


def test_the_concurrency_cap_answers_503_and_frees_up(tmp_path):
    service = Service(
        "capped-gateway",
        ["services.gateway"],
        free_port(),
        {"WORKERS": "1", "LIMIT_CONCURRENCY": "4", "HEADER_TIMEOUT_S": "1"},
        tmp_path,
    )
    service.start().wait("/health/live")
    try:
        idle = [connect(service) for _ in range(4)]
        time.sleep(0.1)
        over = httpx.get(service.url + "/health/live", headers={"Connection": "close"})
        assert over.status_code == 503
        for sock in idle:
            sock.close()
        time.sleep(0.2)
        assert httpx.get(service.url + "/health/live").status_code == 200
    finally:
        service.stop()


def test_metrics_are_on_the_internal_port_only(gateway):
    assert httpx.get(gateway.url + "/metrics").status_code == 404
    port = gateway.env["METRICS_PORT"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "http_requests_total" in text
    assert 'http_edge_refused_total{status="431"}' in text
    assert 'http_edge_refused_total{status="408"}' in text


# -- in process: headers, hosts, redirects, docs --------------------------------------------


def test_every_answer_carries_the_security_headers():
    with gateway_client() as client:
        for path in ("/", "/health/live", "/docs", "/titles/", "/nowhere"):
            headers = client.get(path).headers
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert headers["x-frame-options"] == "DENY", path
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
            assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], path
        assert "server" not in client.get("/health/live").headers


def test_an_unknown_host_is_refused_and_no_host_reaches_a_redirect():
    with gateway_client() as client:
        evil = client.get("/health/live", headers={"Host": "evil.example"})
        assert evil.status_code == 400
        # A trailing slash used to redirect to http://<Host header>/titles.
        slash = client.get("/titles/", follow_redirects=False)
        assert slash.status_code == 404 and "location" not in slash.headers
    with gateway_client(allowed_hosts=["streamrec.example"]) as client:
        ok = client.get("/health/live", headers={"Host": "streamrec.example"})
        assert ok.status_code == 200


def test_docs_come_from_the_gateway_itself_and_can_be_turned_off():
    with gateway_client() as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
            assert client.get(f"/docs-assets/{asset}").status_code == 200, asset
        assert client.get("/openapi.json").status_code == 200
    with gateway_client(docs_enabled=False) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 404


def test_write_the_edge_figures():
    """Runs after the tests above: their figures go into docs/security.md."""
    assert FIGURES, "the edge tests recorded nothing"
    record("edge", **FIGURES)
