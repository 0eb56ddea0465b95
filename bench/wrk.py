"""Run wrk (Debian's package) against a URL and read its figures."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class WrkResult:
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNITS[unit]


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 1,
    threads: int = 1,
    script: Path | None = None,
) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    extra = ["-s", str(script)] if script else []
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failed = int(errors[1]) if errors else 0
    if socket_errors:
        failed += sum(int(n) for n in socket_errors.groups())
    return WrkResult(p50, p99, rate, failed)


def lua_script(
    folder: Path,
    name: str,
    requests: list[tuple[str, str, str | None]],
    headers: dict[str, str] | None = None,
) -> Path:
    """A wrk script that sends one of `requests` (method, path, JSON body) at random each time,
    with `headers` (say, Authorization) on every request."""
    rows = []
    for method, path, body in requests:
        quoted_body = "nil" if body is None else '"' + body.replace('"', '\\"') + '"'
        rows.append(f'  {{"{method}", "{path}", {quoted_body}}},')
    script = folder / f"{name}.lua"
    script.write_text(
        "math.randomseed(42)\n"
        "local requests = {\n" + "\n".join(rows) + "\n}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        + "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
        + "request = function()\n"
        "  local r = requests[math.random(#requests)]\n"
        "  return wrk.format(r[1], r[2], nil, r[3])\n"
        "end\n"
    )
    return script
