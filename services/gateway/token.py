"""python -m services.gateway.token --user ID [--ttl SECONDS] [--service] [--private-key FILE]:
print a bearer token that the gateway accepts under the current settings.

With AUTH_SECRET the token is signed with it (HS256). A gateway that checks RS256 or ES256
tokens holds only the public key: pass the issuer's private key with --private-key (its kid,
for a JWKS, with --kid). --service adds the trusted back-end scope, which may act for any user.
"""

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from contracts.auth import SERVICE_SCOPE, claims, sign
from services.gateway.settings import Settings


def private_key(path: Path):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, "ES256"
    raise ValueError("only RSA (RS256) and P-256 (ES256) private keys can sign")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.token", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--user", required=True, help="the user id (the token's sub)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (3600)")
    parser.add_argument("--service", action="store_true", help=f"add the {SERVICE_SCOPE} scope")
    parser.add_argument("--private-key", type=Path, help="PEM private key for RS256 / ES256")
    parser.add_argument("--kid", help="the key id to put in the token's header")
    args = parser.parse_args(argv)
    if args.ttl < 1:
        parser.error("--ttl must be 1 or more")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"token: error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 1
    body = claims(args.user, ttl_s=args.ttl, audience=settings.auth_audience, service=args.service)
    if args.private_key:
        try:
            key, algorithm = private_key(args.private_key)
        except (OSError, ValueError) as exc:
            print(f"token: error: {args.private_key}: {exc}", file=sys.stderr)
            return 1
    elif settings.auth_secret is not None:
        key, algorithm = settings.auth_secret.get_secret_value(), "HS256"
    else:
        print(
            "token: error: set AUTH_SECRET (HS256), or pass --private-key for RS256/ES256",
            file=sys.stderr,
        )
        return 1
    print(sign(key, algorithm, body, kid=args.kid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
