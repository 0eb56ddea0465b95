"""Build the report: collect the facts, draw the figures, write the folder atomically."""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from common.reports import FACTS, FIGURES, PAGE
from loader.report import facts as facts_module
from loader.report import figures, render


class ReportError(Exception):
    """The report cannot be built; the message says why."""


@dataclass
class Built:
    page: Path
    figures: list[Path]
    seconds: float
    phases: dict[str, float]  # seconds spent collecting facts, drawing, writing


def build(engine: Engine, *, out: Path, model_dir: Path | None) -> Built:
    started = time.monotonic()
    snapshot = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**snapshot) as conn, conn.begin():
        if not sa.inspect(conn).has_table("titles"):
            raise ReportError(f"{engine.url.database}: no streamrec tables; run python -m loader")
        facts = facts_module.collect(conn, model_dir=model_dir)
    if facts.headline["titles"] == 0:
        raise ReportError(f"{engine.url.database}: the titles table is empty; run python -m loader")
    collected = time.monotonic()
    drawn = figures.draw_all(facts)
    drawn_at = time.monotonic()
    page = render.render(facts, drawn, seconds=drawn_at - started)
    written = _write(out, page, render.facts_json(facts), drawn)
    finished = time.monotonic()
    phases = {
        "facts": collected - started,
        "figures": drawn_at - collected,
        "page": finished - drawn_at,
    }
    return Built(out / PAGE, written, finished - started, phases)


def _write(out: Path, page: str, facts_json: str, drawn: dict[str, bytes]) -> list[Path]:
    """Every file is replaced atomically and the page last, so a reader (the gateway) never
    sees half a file; `out` may be a mount point, so the folder itself is never swapped."""
    figures_dir = out / FIGURES
    try:
        figures_dir.mkdir(parents=True, exist_ok=True)
        for name, png in drawn.items():
            _replace(figures_dir / f"{name}.png", png)
        for stale in figures_dir.glob("*.png"):
            if stale.stem not in drawn:
                stale.unlink()
        _replace(out / FACTS, facts_json.encode())
        _replace(out / PAGE, page.encode())
    except OSError as exc:
        raise ReportError(f"{out}: cannot write the report ({exc})") from None
    return sorted(figures_dir.glob("*.png"))


def _replace(path: Path, content: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    partial.chmod(0o644)
    os.replace(partial, path)
