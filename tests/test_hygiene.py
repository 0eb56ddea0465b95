"""Safe defaults: request ids, JSON logs, metrics, body limits, CORS, no stack traces, admin."""

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from services.catalog.app import create_app as create_catalog
from services.catalog.settings import Settings as CatalogSettings
from services.recommender.app import create_app as create_recommender
from services.recommender.settings import Settings as RecommenderSettings


def logged(service, rid: str, wait_s: float = 3.0) -> list[dict]:
    """The service's JSON log lines for this request id (the access line comes just after the
    response, so give it a moment)."""
    deadline = time.monotonic() + wait_s
    while True:
        lines = service.log_path.read_text().splitlines()
        mine = [json.loads(line) for line in lines if line.startswith("{") and rid in line]
        # httpx logs the downstream calls first: wait for the access line itself.
        if any(m.get("logger") == "access" for m in mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def test_the_gateway_passes_its_request_id_to_both_services_and_all_log_it_as_json(demo_stack):
    response = httpx.get(
        demo_stack.url + "/users/5/recommendations",
        headers={"X-Request-ID": "trace-e2e-42", **demo_stack.auth(5)},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-e2e-42"
    for service in demo_stack.services:
        mine = logged(service, "trace-e2e-42")
        assert mine, f"{service.name} did not log the request id"
        access = [m for m in mine if m.get("logger") == "access"]
        assert access, f"{service.name} wrote no access line for the request"
        assert {"time", "level", "service", "message", "status", "duration_ms"} <= set(access[-1])
        assert all(m["service"] == service.name for m in mine)


def test_a_request_without_a_usable_id_gets_a_fresh_one(demo_stack):
    fresh = httpx.get(
        demo_stack.url + "/health/live", headers={"X-Request-ID": "bad id\twith spaces"}
    )
    assert fresh.headers["x-request-id"] != "bad id\twith spaces"
    assert len(fresh.headers["x-request-id"]) == 32


def test_every_service_exposes_prometheus_metrics(demo_stack):
    httpx.get(
        demo_stack.url + "/predict",
        params={"user_id": 5, "title_id": "ns3"},
        headers=demo_stack.auth(5),
    )
    # The gateway's on its internal port only; the internal services' behind SERVICE_TOKEN.
    assert httpx.get(demo_stack.url + "/metrics").status_code == 404
    urls = [
        f"http://127.0.0.1:{demo_stack.metrics_port}/metrics",
        demo_stack.catalog.url + "/metrics",
        demo_stack.recommender.url + "/metrics",
    ]
    for url in urls:
        text = httpx.get(url, headers=demo_stack.internal).text
        assert "# TYPE http_requests_total counter" in text
        assert "http_request_duration_seconds_bucket" in text
    recommender = httpx.get(
        demo_stack.recommender.url + "/metrics", headers=demo_stack.internal
    ).text
    assert (
        'http_requests_total{method="GET",route="/predict",service="recommender",status="200"}'
        in recommender
    )
    version = httpx.get(demo_stack.recommender.url + "/model", headers=demo_stack.internal).json()[
        "version"
    ]
    assert f'recommender_model_info{{version="{version}"}} 1.0' in recommender
    assert "recommender_model_load_seconds" in recommender


def test_an_oversized_body_is_refused_before_it_is_read(demo_stack):
    big = json.dumps({"user_id": 1, "title_id": "ns1", "rating": 4, "pad": "x" * 100_000})
    response = httpx.post(
        demo_stack.url + "/ratings", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413

    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    streamed = httpx.post(
        demo_stack.recommender.url + "/ratings", content=chunks(), headers=demo_stack.internal
    )
    assert streamed.status_code == 413


def test_cors_is_off_by_default_and_on_when_configured(demo_db, demo_model):
    origin = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_catalog(CatalogSettings(database_url=demo_db))) as client:
        response = client.get("/platforms", headers=origin)
        assert "access-control-allow-origin" not in response.headers
    allowed = CatalogSettings(database_url=demo_db, cors_origins=["https://streamrec.example"])
    with TestClient(create_catalog(allowed)) as client:
        ok = client.options("/platforms", headers={**origin, "Origin": "https://streamrec.example"})
        assert ok.headers["access-control-allow-origin"] == "https://streamrec.example"
        denied = client.get("/platforms", headers=origin)
        assert "access-control-allow-origin" not in denied.headers


def test_an_unexpected_error_is_a_500_without_a_stack_trace(demo_db):
    app = create_catalog(CatalogSettings(database_url=demo_db))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == "internal error" and body["request_id"]
    assert "Traceback" not in response.text and "secret" not in response.text


ADMIN = "admin-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [
        (None, "Bearer anything", 403),
        ("", "Bearer ", 403),  # an empty ADMIN_TOKEN used to accept an empty bearer token
        ("s3cret-token", "Bearer s3cret-token", 403),  # shorter than 32: counts as unset
        (ADMIN, None, 401),
        (ADMIN, "Bearer wrong", 401),
        (ADMIN, f"Basic {ADMIN}", 401),
        (ADMIN, f"Bearer {ADMIN}", 200),
    ],
)
def test_model_reload_needs_the_admin_token(demo_db, demo_model, token, header, status):
    settings = RecommenderSettings(database_url=demo_db, model_dir=demo_model, admin_token=token)
    with TestClient(create_recommender(settings)) as client:
        response = client.post("/admin/reload", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    if status == 403:
        assert "ADMIN_TOKEN" in response.json()["detail"]
    if status == 200:
        assert response.json()["version"]


def test_metrics_add_up_across_uvicorn_workers(demo_db, tmp_path):
    from common.proc import Service, free_port

    service = Service(
        "catalog-2-workers",
        ["services.catalog"],
        free_port(),
        {"DATABASE_URL": demo_db, "WORKERS": "2", "LOG_LEVEL": "WARNING"},
        tmp_path,
    )
    service.start().wait()
    try:
        with httpx.Client(base_url=service.url) as client:
            for _ in range(40):
                assert client.get("/platforms").status_code == 200
        # New connections spread over both workers; whichever answers must count all 40.
        for _ in range(3):
            text = httpx.get(service.url + "/metrics").text
            line = next(
                line
                for line in text.splitlines()
                if line.startswith("http_requests_total{") and 'route="/platforms"' in line
            )
            assert float(line.rsplit(" ", 1)[1]) == 40.0
    finally:
        service.stop()


SERVICES = ("catalog", "recommender", "gateway")


def _imported_modules(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_imports_another_services_package(service):
    from common.files import PROJECT_ROOT

    others = [s for s in SERVICES if s != service]
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in sorted((PROJECT_ROOT / "services" / service).rglob("*.py"))
        for module in _imported_modules(path)
        if any(module == f"services.{o}" or module.startswith(f"services.{o}.") for o in others)
    ]
    assert not offenders, "shared code belongs in contracts/ or common/: " + "; ".join(offenders)


def test_the_shared_packages_import_no_service():
    from common.files import PROJECT_ROOT

    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for package in ("common", "contracts")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        for module in _imported_modules(path)
        if module.startswith("services")
    ]
    assert not offenders, "; ".join(offenders)


def test_the_contracts_need_neither_a_database_driver_nor_numpy():
    import subprocess
    import sys

    from common.files import PROJECT_ROOT

    probe = (
        "import sys, contracts.catalog, contracts.recommender, contracts.gateway; "
        "heavy = {'sqlalchemy', 'psycopg', 'numpy', 'surprise'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
