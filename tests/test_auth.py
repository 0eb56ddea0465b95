"""Who may read and write a user's data: signed bearer tokens at the gateway (HS256, RS256 from a
public key, ES256 from a JWKS), each failure a 401 or 403 that says why; the service token
between the services; the demo sign-in of `make run` and nowhere else; the token command."""

import base64
import json
import logging
import subprocess
import sys
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from common.files import PROJECT_ROOT
from contracts.auth import SERVICE_SCOPE, claims, sign
from tests.conftest import catalog_client, gateway_client, gateway_settings

SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hs256(subject: str = "7", **changes) -> str:
    body = claims(subject, ttl_s=600) | changes
    return sign(SECRET, "HS256", {k: v for k, v in body.items() if v is not None})


def unsigned(subject: str = "7") -> str:
    """alg=none: a token anyone can write."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(subject, ttl_s=600))}."


@pytest.fixture(scope="module")
def client(demo_stack):
    with gateway_client(demo_stack, auth_secret=SECRET) as client:
        yield client


REFUSED = [
    pytest.param(None, 401, "needs a bearer token", id="missing token"),
    pytest.param(
        {"Authorization": "Basic " + "x" * 20}, 401, "needs a bearer token", id="not a bearer"
    ),
    pytest.param(bearer("not-a-jwt"), 401, "not a well-formed JWT", id="garbage"),
    pytest.param(bearer(hs256(exp=int(time.time()) - 3600)), 401, "expired", id="expired"),
    pytest.param(
        bearer(sign("another-secret-0123456789abcdefghijkl", "HS256", claims("7", ttl_s=600))),
        401,
        "signature is invalid",
        id="bad signature",
    ),
    pytest.param(bearer(unsigned()), 401, "algorithm 'none' is not accepted", id="alg=none"),
    pytest.param(bearer(hs256(aud="someone-else")), 401, "audience", id="wrong audience"),
    pytest.param(bearer(hs256(exp=None)), 401, "lacks the 'exp' claim", id="no expiry"),
    pytest.param(bearer(hs256(aud=None)), 401, "lacks the 'aud' claim", id="no audience"),
    pytest.param(bearer(hs256("8")), 403, "this token is for user 8, not user 7", id="wrong user"),
    pytest.param(bearer(hs256("svc-x")), 403, "not a user id", id="subject not a user"),
]


@pytest.mark.parametrize(("headers", "status", "message"), REFUSED)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/users/7/recommendations", None),
        ("GET", "/predict?user_id=7&title_id=ns1", None),
        ("POST", "/ratings", {"user_id": 7, "title_id": "ns1", "rating": 4.0}),
    ],
    ids=["recommendations", "predict", "rating"],
)
def test_per_user_routes_refuse_a_bad_token_and_say_why(
    client, headers, status, message, method, path, body
):
    response = client.request(method, path, headers=headers or {}, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith('Bearer realm="streamrec"')


def test_the_users_own_token_is_accepted(client):
    response = client.get("/users/7/recommendations", params={"n": 3}, headers=bearer(hs256()))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
    predict = client.get(
        "/predict", params={"user_id": 7, "title_id": "ns1"}, headers=bearer(hs256())
    )
    assert predict.status_code == 200 and predict.json()["user_id"] == 7


def test_anonymous_callers_keep_the_catalogue_similar_titles_and_cold_start_picks(client):
    assert client.get("/get_count_platform", params={"platform": "hulu"}).status_code == 200
    assert client.get("/titles/ns1/similar", params={"n": 3}).status_code == 200
    popular = client.get("/recommendations/popular", params={"n": 5, "platform": "netflix"})
    assert popular.status_code == 200
    body = popular.json()
    assert body["reason"] == "cold_start" and len(body["items"]) == 5
    assert all(item["title"]["platform"] == "netflix" for item in body["items"])
    # The same picks an unknown user gets (by damped mean), without naming a user.
    stranger = client.get(
        "/users/99999/recommendations",
        params={"n": 5, "platform": "netflix"},
        headers=bearer(hs256("99999")),
    ).json()
    assert [i["title_id"] for i in stranger["items"]] == [i["title_id"] for i in body["items"]]


def test_what_a_user_rated_cannot_be_read_by_anyone_else(client):
    """Comparing exclude_seen=true and false used to list any user's rated titles."""
    for exclude in ("true", "false"):
        response = client.get(
            "/users/5/recommendations", params={"exclude_seen": exclude}, headers=bearer(hs256())
        )
        assert response.status_code == 403
        assert client.get(f"/users/5/recommendations?exclude_seen={exclude}").status_code == 401


def test_a_service_token_may_act_for_any_user(client):
    token = hs256("recommendation-emails", scope=f"openid {SERVICE_SCOPE}")
    for user in (1, 5, 123456):
        response = client.get(f"/users/{user}/recommendations?n=2", headers=bearer(token))
        assert response.status_code == 200, response.text


def test_a_rating_needs_the_token_of_the_user_it_is_for(demo_copy, demo_model, tmp_path):
    from common.proc import Stack

    stack = Stack(demo_copy(), demo_model, tmp_path).start()
    try:
        with gateway_client(stack) as client:
            body = {"user_id": 42, "title_id": "ns2", "rating": 4.5}
            assert client.post("/ratings", json=body).status_code == 401
            assert client.post("/ratings", json=body, headers=stack.auth(41)).status_code == 403
            stored = client.post("/ratings", json=body, headers=stack.auth(42))
            assert stored.status_code == 201 and stored.json()["user_id"] == 42
    finally:
        stack.stop()


def test_without_a_key_per_user_routes_answer_401_and_the_log_says_why(demo_stack, caplog):
    caplog.set_level(logging.WARNING)
    with gateway_client(demo_stack, auth_secret=None) as client:
        response = client.get("/users/7/recommendations", headers=bearer(hs256()))
        assert client.get("/get_count_platform", params={"platform": "hulu"}).status_code == 200
    assert response.status_code == 401
    assert response.json()["detail"] == "sign-in is not configured on this server"
    assert "no AUTH_SECRET, AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_FILE is set" in caplog.text


def pem(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_rs256_tokens_from_a_public_key_file(demo_stack, tmp_path):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_file = tmp_path / "issuer.pem"
    public_file.write_bytes(pem(private))
    settings = {"auth_secret": None, "auth_public_key_file": public_file}
    with gateway_client(demo_stack, **settings) as client:
        good = sign(private, "RS256", claims("7", ttl_s=600))
        assert client.get("/users/7/recommendations", headers=bearer(good)).status_code == 200
        # Algorithm confusion: HS256 "signed" with the public key as the secret.
        forged = jwt.encode(claims("7", ttl_s=600), "x" * 40, algorithm="HS256")
        refused = client.get("/users/7/recommendations", headers=bearer(forged))
        assert refused.status_code == 401
        assert "algorithm 'HS256' is not accepted (allowed: RS256)" in refused.json()["detail"]
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        wrong_key = sign(other, "RS256", claims("7", ttl_s=600))
        response = client.get("/users/7/recommendations", headers=bearer(wrong_key))
        assert response.status_code == 401 and "signature" in response.json()["detail"]


def test_es256_tokens_from_a_jwks_file_pick_the_key_by_kid(demo_stack, tmp_path):
    keys = {kid: ec.generate_private_key(ec.SECP256R1()) for kid in ("2026-a", "2026-b")}
    jwks = {
        "keys": [
            {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(k.public_key())), "kid": kid}
            for kid, k in keys.items()
        ]
    }
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    settings = {"auth_secret": None, "auth_jwks_file": tmp_path / "jwks.json"}
    with gateway_client(demo_stack, **settings) as client:
        for kid, key in keys.items():
            token = sign(key, "ES256", claims("7", ttl_s=600), kid=kid)
            assert client.get("/users/7/recommendations", headers=bearer(token)).status_code == 200
        swapped = sign(keys["2026-a"], "ES256", claims("7", ttl_s=600), kid="2026-b")
        assert client.get("/users/7/recommendations", headers=bearer(swapped)).status_code == 401
        unknown = sign(keys["2026-a"], "ES256", claims("7", ttl_s=600), kid="old")
        response = client.get("/users/7/recommendations", headers=bearer(unknown))
        assert response.status_code == 401 and "kid" in response.json()["detail"]


def test_key_settings_are_checked_at_start(tmp_path):
    with pytest.raises(ValidationError, match="at least 32 characters"):
        gateway_settings(auth_secret="short")
    with pytest.raises(ValidationError, match="placeholder"):
        gateway_settings(auth_secret="change-me-to-a-third-long-random-string")
    (tmp_path / "key.pem").write_text("x")
    with pytest.raises(ValidationError, match="only one of"):
        gateway_settings(auth_secret=SECRET, auth_public_key_file=tmp_path / "key.pem")


def test_the_demo_sign_in_is_off_unless_the_launcher_turns_it_on(demo_stack):
    with gateway_client(demo_stack) as client:
        assert client.post("/auth/demo", json={"user_id": 3}).status_code == 404
    with pytest.raises(ValidationError, match="only a loopback address"):
        gateway_settings(demo_stack, auth_demo_sign_in=True, host="0.0.0.0")
    with pytest.raises(ValidationError, match="needs AUTH_SECRET"):
        gateway_settings(auth_demo_sign_in=True)
    with gateway_client(demo_stack, auth_demo_sign_in=True) as client:
        issued = client.post("/auth/demo", json={"user_id": 3})
        assert issued.status_code == 200
        token = issued.json()["token"]
        assert client.get("/users/3/recommendations", headers=bearer(token)).status_code == 200
        assert client.get("/users/4/recommendations", headers=bearer(token)).status_code == 403


def test_the_token_command_prints_a_token_the_gateway_accepts(demo_stack, tmp_path):
    env = {"AUTH_SECRET": demo_stack.auth_secret, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "services.gateway.token", "--user", "7", "--ttl", "120"]
    out = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    token = out.stdout.strip()
    with gateway_client(demo_stack) as client:
        assert client.get("/users/7/recommendations", headers=bearer(token)).status_code == 200
    decoded = jwt.decode(token, demo_stack.auth_secret, algorithms=["HS256"], audience="streamrec")
    assert decoded["sub"] == "7" and 110 <= decoded["exp"] - time.time() <= 120
    without = subprocess.run(
        command, cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert without.returncode == 1 and "set AUTH_SECRET" in without.stderr
    private = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "issuer-key.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signed = subprocess.run(
        [*command, "--private-key", str(key_file), "--service"],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    body = jwt.decode(signed, private.public_key(), algorithms=["ES256"], audience="streamrec")
    assert body["scope"] == SERVICE_SCOPE


def test_the_internal_services_answer_only_callers_with_the_service_token(demo_db, demo_stack):
    token = "internal-0123456789abcdefghijklmnopqrstuvwxyz"
    with catalog_client(demo_db, service_token=token) as client:
        refused = client.get("/platforms")
        assert refused.status_code == 401 and "SERVICE_TOKEN" in refused.json()["detail"]
        assert client.get("/platforms", headers=bearer("wrong")).status_code == 401
        assert client.get("/platforms", headers=bearer(token)).status_code == 200
        assert client.get("/health/ready").status_code == 200  # probes need no token
    # The running stack's services, called around the gateway.
    import httpx

    direct = httpx.get(demo_stack.recommender.url + "/users/1/recommendations")
    assert direct.status_code == 401
    assert httpx.get(demo_stack.catalog.url + "/platforms", headers=demo_stack.internal).is_success
