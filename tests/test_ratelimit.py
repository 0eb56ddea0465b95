"""Rate limits at the gateway, per user and per client address, on writes and expensive reads:
429 with Retry-After, counted in Prometheus; in memory for one process, in Redis across
replicas (the Redis on 127.0.0.1:6379); a Redis that is down lets requests through."""

import random
import time

import pytest
import redis
from prometheus_client import REGISTRY

from tests.conftest import gateway_client

SECRET = "ratelimit-secret-0123456789abcdefghijklmnopqrstuv"
REDIS = "redis://127.0.0.1:6379/0"
# No downstream is running: a request the limiter lets through answers 503, a refused one 429.
NOWHERE = {
    "catalog_url": "http://127.0.0.1:9",
    "recommender_url": "http://127.0.0.1:9",
    "auth_secret": SECRET,
}


def token(subject: int | str, **options) -> dict[str, str]:
    from contracts.auth import claims, sign

    signed = sign(SECRET, "HS256", claims(str(subject), ttl_s=600, **options))
    return {"Authorization": f"Bearer {signed}"}


def refused(kind: str, per: str) -> float:
    return (
        REGISTRY.get_sample_value("gateway_rate_limited_total", {"kind": kind, "per": per}) or 0.0
    )


def post(client, user: int, headers=None):
    body = {"user_id": user, "title_id": "ns1", "rating": 4.0}
    return client.post("/ratings", json=body, headers=headers or token(user))


def test_a_user_over_the_write_limit_gets_429_with_retry_after_and_it_is_counted():
    user = random.randrange(10**6, 10**9)
    before = refused("write", "user")
    with gateway_client(**NOWHERE, rate_limit_write_per_user="3/minute") as client:
        statuses = [post(client, user).status_code for _ in range(5)]
        limited = post(client, user)
        other_user = post(client, user + 1)
    assert statuses == [503, 503, 503, 429, 429]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "too many writes for this user: at most 3 per 1 minute" in limited.json()["detail"]
    assert other_user.status_code == 503, "another user has a limit of their own"
    assert refused("write", "user") - before == 3


def test_one_address_over_the_write_limit_is_refused_whatever_the_user():
    before = refused("write", "address")
    with gateway_client(**NOWHERE, rate_limit_write_per_address="4/minute") as client:
        statuses = [post(client, random.randrange(10**6, 10**9)).status_code for _ in range(6)]
    assert statuses == [503] * 4 + [429] * 2
    assert refused("write", "address") - before == 2


def test_expensive_reads_are_limited_per_address_for_anonymous_callers():
    with gateway_client(**NOWHERE, rate_limit_read_per_address="2/minute") as client:
        similar = [client.get("/titles/ns1/similar").status_code for _ in range(2)]
        popular = client.get("/recommendations/popular")
        catalogue = client.get("/get_count_platform", params={"platform": "hulu"})
    assert similar == [503, 503] and popular.status_code == 429
    assert "retry-after" in popular.headers
    assert catalogue.status_code == 503, "the catalogue's cheap queries are not limited"


def test_a_trusted_back_end_is_limited_per_user_not_per_address():
    settings = {"rate_limit_read_per_address": "2/minute", "rate_limit_read_per_user": "2/minute"}
    header = token("mailer", service=True)
    first = random.randrange(10**6, 10**9)
    with gateway_client(**NOWHERE, **settings) as client:
        many_users = [
            client.get(f"/users/{first + k}/recommendations", headers=header).status_code
            for k in range(5)
        ]
        one_user = [
            client.get(f"/users/{first}/recommendations", headers=header).status_code
            for _ in range(2)
        ]
    assert many_users == [503] * 5
    assert one_user == [503, 429]


def redis_available() -> None:
    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {REDIS} ({exc}); .ci/run starts one")


def test_replicas_share_their_counts_through_redis():
    redis_available()
    user = random.randrange(10**6, 10**9)
    settings = {**NOWHERE, "rate_limit_storage": REDIS, "rate_limit_write_per_user": "4/minute"}
    with gateway_client(**settings) as first, gateway_client(**settings) as second:
        statuses = [post(client, user).status_code for client in (first, second) * 3]
    # Two processes' memory would have allowed all six (three each).
    assert statuses == [503, 503, 503, 503, 429, 429]


def test_memory_counts_are_per_process():
    user = random.randrange(10**6, 10**9)
    settings = {**NOWHERE, "rate_limit_write_per_user": "2/minute"}
    with gateway_client(**settings) as first, gateway_client(**settings) as second:
        statuses = [post(client, user).status_code for client in (first, second) * 2]
    assert statuses == [503] * 4


def test_a_redis_that_is_down_lets_requests_through_and_is_counted():
    errors = REGISTRY.get_sample_value("gateway_rate_limit_errors_total") or 0.0
    settings = {
        **NOWHERE,
        "rate_limit_storage": "redis://127.0.0.1:9/0",
        "rate_limit_write_per_user": "1/minute",
    }
    started = time.monotonic()
    with gateway_client(**settings) as client:
        statuses = [post(client, 5).status_code for _ in range(3)]
    assert statuses == [503] * 3
    assert (REGISTRY.get_sample_value("gateway_rate_limit_errors_total") or 0) > errors
    assert time.monotonic() - started < 10


def test_limits_can_be_turned_off():
    settings = {**NOWHERE, "rate_limit_write_per_user": "1/minute", "rate_limit_enabled": False}
    with gateway_client(**settings) as client:
        assert [post(client, 9).status_code for _ in range(3)] == [503] * 3
