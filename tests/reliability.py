"""What the reliability tests record, for docs/reliability.md (python -m bench.reliability)."""

import json

from common.proc import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "test-artifacts" / "reliability"


def record(name: str, **facts) -> None:
    """Add facts under `name` to test-artifacts/reliability/faults.json."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "faults.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = facts
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
