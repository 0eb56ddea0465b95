"""Property-based API fuzzing with schemathesis, in process (ASGI), against each service's own
OpenAPI schema: no input may cause a 5xx, and every response must conform to the schema."""

import json
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.catalog.app import create_app as catalog_app
from services.catalog.settings import Settings as CatalogSettings
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import Settings as GatewaySettings
from services.recommender.app import create_app as recommender_app
from services.recommender.settings import Settings as RecommenderSettings
from tests.conftest import gateway_settings
from tests.reliability import FOLDER

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
# Cheap enough to run on every change: a few dozen cases per operation.
EXAMPLES = 30
CASES: Counter = Counter()
REPORT = FOLDER / "fuzz.json"
ASGI_HOST = ["testserver"]
NOWHERE = "postgresql://nobody@127.0.0.1:9/none"  # building a schema needs no database


def labels(app) -> list[str]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok().label for result in schema.get_all_operations()]


def fuzz(service: str, schema, label: str, headers: dict[str, str] | None = None) -> None:
    operation = schema.find_operation_by_label(label)

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        CASES[service] += 1
        case.call_and_validate(checks=CHECKS, headers=headers)

    check()


@pytest.fixture(scope="module")
def fuzz_db(demo_copy):
    """A private copy of the demo database: fuzzed POST /ratings write to it."""
    return demo_copy()


@pytest.fixture(scope="module")
def catalog_schema(fuzz_db):
    app = catalog_app(CatalogSettings(database_url=fuzz_db))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def recommender_schema(fuzz_db, demo_model):
    app = recommender_app(RecommenderSettings(database_url=fuzz_db, model_dir=demo_model))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def gateway_schema(demo_stack):
    # With the demo sign-in, so that /auth/demo is fuzzed too.
    # schemathesis's ASGI client sends Host: testserver.
    settings = gateway_settings(demo_stack, auth_demo_sign_in=True, allowed_hosts=ASGI_HOST)
    return schemathesis.openapi.from_asgi("/openapi.json", gateway_app(settings))


@pytest.mark.parametrize("label", labels(catalog_app(CatalogSettings(database_url=NOWHERE))))
def test_catalog(catalog_schema, label):
    fuzz("catalog", catalog_schema, label)


@pytest.mark.parametrize(
    "label",
    labels(recommender_app(RecommenderSettings(database_url=NOWHERE, model_dir="/nonexistent"))),
)
def test_recommender(recommender_schema, label):
    fuzz("recommender", recommender_schema, label)


@pytest.mark.parametrize(
    "label",
    labels(
        gateway_app(
            GatewaySettings(auth_secret="x" * 32, auth_demo_sign_in=True, allowed_hosts=ASGI_HOST)
        )
    ),
)
def test_gateway(gateway_schema, demo_stack, label):
    # A trusted back-end's token: any generated user id may be asked for.
    fuzz("gateway", gateway_schema, label, headers=demo_stack.auth("fuzzer", service=True))


def test_gateway_without_a_token(gateway_schema):
    """The per-user routes, fuzzed with no token: a documented 401 every time."""
    for label in ("GET /predict", "GET /users/{user_id}/recommendations", "POST /ratings"):
        fuzz("gateway", gateway_schema, label)


# Text built from what the search syntax and SQL treat specially, with any other character.
SEARCH_TEXT = st.text(
    # (no lone surrogates: they cannot be sent in a URL at all)
    alphabet=st.one_of(
        st.sampled_from("\"-%_\\'*:&|!()<> \t\x00"), st.characters(exclude_categories=["Cs"])
    ),
    max_size=300,
) | st.sampled_from(["or", "-", '"', "a" * 10_000, "star -wars", '"star wars', "- or -"])


def test_search_text_never_fails(fuzz_db):
    """Whatever is typed, /titles?q= and /titles/suggest answer 200 or 422, never 5xx."""
    with TestClient(catalog_app(CatalogSettings(database_url=fuzz_db))) as client:

        @given(text=SEARCH_TEXT)
        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        def check(text: str) -> None:
            CASES["catalog search text"] += 2
            search = client.get("/titles", params={"q": text})
            assert search.status_code in (200, 422), (text, search.text)
            if search.status_code == 200:
                body = search.json()
                assert body["total"] >= len(body["items"])
            suggest = client.get("/titles/suggest", params={"q": text})
            assert suggest.status_code in (200, 422), (text, suggest.text)
            if suggest.status_code == 200:
                assert len(suggest.json()["items"]) <= 10

        check()


def test_write_the_fuzzing_record():
    """Runs after the fuzz tests above: the counts go into docs/reliability.md."""
    assert sum(CASES.values()) > 0
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"cases": dict(CASES), "examples_per_operation": EXAMPLES}))
