"""Container health check: exit 0 when GET URL answers 200, else 1.

    python healthcheck.py URL [TIMEOUT_S]

The slim images have no curl or wget; this needs only the standard library. Docker keeps what
it prints, so `docker inspect` shows why a container is unhealthy.
"""

import sys
import urllib.error
import urllib.request

DEFAULT_TIMEOUT_S = 2.0


def check(url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[bool, str]:
    # No proxies: an http_proxy set for the container must not turn a loopback check into a
    # request to the proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        # 503 and friends arrive as exceptions; the body says which dependency failed.
        body = exc.read(300).decode("utf-8", "replace")
        return False, f"{url}: HTTP {exc.code} {body}"
    except (OSError, ValueError) as exc:
        # OSError covers refused connections and timeouts; ValueError a malformed URL.
        return False, f"{url}: {exc}"
    # Only 200 counts (urllib has already followed any redirect): the health endpoints answer
    # exactly 200 when ready, so any other success code means a wrong URL.
    return status == 200, f"{url}: HTTP {status}"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python healthcheck.py URL [TIMEOUT_S]", file=sys.stderr)
        # Exit 2 is reserved by Docker's HEALTHCHECK; a usage error is just unhealthy.
        return 1
    try:
        timeout_s = float(argv[2]) if len(argv) == 3 else DEFAULT_TIMEOUT_S
    except ValueError:
        print(f"healthcheck: TIMEOUT_S must be a number, got {argv[2]!r}", file=sys.stderr)
        return 1
    healthy, message = check(argv[1], timeout_s)
    print(message, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
