"""Hostile strings in every parameter of every route: SQL injection, NUL bytes, very long
strings, unicode tricks, huge numbers, search syntax gone wrong. Never a 5xx; a 4xx unless the
value is legal (a search term is searched for, literally); and the database is unchanged
afterwards."""

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from services.catalog.app import create_app as catalog_app
from services.catalog.settings import Settings as CatalogSettings
from services.recommender.app import create_app as recommender_app
from services.recommender.settings import Settings as RecommenderSettings
from tests.conftest import gateway_client
from tests.loading import table_digests
from tests.reliability import FOLDER

HOSTILE = [
    "'; DROP TABLE titles; --",
    "1 OR 1=1",
    "ns1' UNION SELECT password FROM pg_shadow --",
    "\x00",
    "ns1\x00",
    "A" * 10_000,
    "\u202eevil\u202c",
    "\uff4e\uff53\uff11",  # ns1 in full-width letters
    "ns1\u200b",
    "🎬" * 100,
    "9" * 400,
    "-1",
    "1e308",
    "1e999",
    "NaN",
    "Infinity",
    "../../etc/passwd",
    "%00%27",
    "",
    # the search syntax and LIKE's wildcards, alone and unbalanced
    "%",
    "_",
    "\\",
    "'",
    '"',
    '"unbalanced',
    "-",
    "- -",
    "or",
    "star -wars",
    "a or or b",
]
FREE_TEXT = {"q", "genre"}  # a hostile string is a legal search term there
REPORT = FOLDER / "hostile.json"
SENT: dict[str, int] = {}


def valid_value(param: dict):
    schema = param.get("schema", {})
    examples = param.get("examples") or schema.get("examples") or [param.get("example")]
    value = examples[0] if isinstance(examples, list) else next(iter(examples.values()))["value"]
    return value[0] if isinstance(value, list) else value


def requests_for(spec: dict):
    """(method, path, params or json, hostile parameter) for every parameter and payload."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
            base = {
                p["name"]: valid_value(p) for p in params if p.get("required") or p["in"] == "path"
            }
            for param in params:
                # An empty path segment is another URL (/titles/ redirects to /titles).
                payloads = [h for h in HOSTILE if h or param["in"] != "path"]
                for payload in payloads:
                    values = {**base, param["name"]: payload}
                    url = path
                    for p in params:
                        if p["in"] == "path":
                            encoded = quote(str(values.pop(p["name"])), safe="")
                            url = url.replace("{" + p["name"] + "}", encoded)
                    yield method.upper(), url, values, None, param["name"]
            if "requestBody" in operation:
                for field in ("user_id", "title_id", "rating"):
                    for payload in HOSTILE:
                        body = {"user_id": 1, "title_id": "ns1", "rating": 4.0, field: payload}
                        yield method.upper(), path, {}, body, field


def assault(client: TestClient, service: str, headers: dict[str, str] | None = None) -> None:
    sent = 0
    for method, url, params, body, name in requests_for(client.get("/openapi.json").json()):
        response = client.request(method, url, params=params, json=body, headers=headers)
        sent += 1
        assert response.status_code < 500, (
            service,
            method,
            url,
            name,
            response.status_code,
            response.text[:300],
        )
        if name not in FREE_TEXT and response.status_code < 400:
            assert url.startswith("/health"), (
                service,
                method,
                url,
                name,
                params,
                body,
                response.status_code,
            )
        assert "Traceback" not in response.text
    SENT[service] = sent


@pytest.fixture(scope="module")
def db(demo_copy):
    return demo_copy()


def test_the_catalog_refuses_hostile_input_and_its_tables_stay_intact(db):
    before = table_digests(db)
    with TestClient(catalog_app(CatalogSettings(database_url=db))) as client:
        assault(client, "catalog")
    assert table_digests(db) == before


def test_the_recommender_refuses_hostile_input_and_its_tables_stay_intact(db, demo_model):
    before = table_digests(db)
    with TestClient(
        recommender_app(RecommenderSettings(database_url=db, model_dir=demo_model))
    ) as client:
        assault(client, "recommender")
    assert table_digests(db) == before


def test_the_gateway_refuses_hostile_input(demo_stack, demo_db):
    before = table_digests(demo_db)
    # A trusted back-end's token, so that hostile values reach validation on per-user routes.
    service = demo_stack.auth("hostile", service=True)
    with gateway_client(demo_stack, auth_demo_sign_in=True) as client:
        assault(client, "gateway", headers=service)
    assert table_digests(demo_db) == before


HOSTILE_HEADERS = {
    "Authorization": [f"Bearer {h}" for h in HOSTILE if h.isprintable() and h.isascii()]
    + [f"Bearer {'A' * 8000}", "Bearer a.b.c", "Bearer ..", "Bearer e30.e30.", "Basic Og=="],
    "X-Request-ID": [h for h in HOSTILE if h.isascii() and h.isprintable()],
    "Host": ["evil.example", "localhost:99999", "", "a" * 300],
}


def test_the_gateway_refuses_hostile_headers(demo_stack):
    sent = 0
    with gateway_client(demo_stack) as client:
        for name, values in HOSTILE_HEADERS.items():
            for value in values:
                response = client.get("/users/1/recommendations", headers={name: value})
                sent += 1
                assert 400 <= response.status_code < 500, (name, value[:50], response.text[:200])
                assert "Traceback" not in response.text
                if name == "X-Request-ID":
                    assert response.headers["x-request-id"] != value or len(value) <= 64
    SENT["gateway headers"] = sent
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"requests": SENT, "payloads": len(HOSTILE)}))


def test_write_the_hostile_record():
    """Runs after the tests above: the counts go into docs/reliability.md."""
    assert SENT
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"requests": SENT, "payloads": len(HOSTILE)}))
