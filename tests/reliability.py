"""What the reliability tests record, for docs/reliability.md (python -m bench.reliability)."""

import json
import time

from common.files import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "test-artifacts" / "reliability"


def record(name: str, **facts) -> None:
    """Add facts under `name` to test-artifacts/reliability/faults.json."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "faults.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = facts
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def timed(call):
    """`call()`'s result and how many seconds it took."""
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def wait_for(condition, timeout: float = 60.0, step: float = 0.02) -> bool:
    """Poll `condition` until it holds (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
