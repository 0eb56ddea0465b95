"""The report page: one self-contained HTML file (figures inlined), written beside the PNGs."""

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from loader.clean import RULE_EXPLANATIONS
from loader.report.facts import CONCENTRATION, PLATFORMS, SHUFFLES, Facts

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _plain(value: Any) -> Any:
    """NumPy and pandas scalars as the JSON types they stand for."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def fact(name: str, value: Any, text: str) -> Markup:
    """A number a test (or a scraper) can read back: the shown text plus the exact value."""
    return Markup('<span data-fact="{}" data-value="{}">{}</span>').format(
        name, json.dumps(_plain(value)), text
    )


TEMPLATES.globals |= {"fact": fact, "PLATFORMS": PLATFORMS, "RULES": RULE_EXPLANATIONS}


TITLE_WORD = re.compile(r"""(^|[\s("/:-])([^\W\d_])""")


def _title_case(text: str) -> str:
    """How the web page shows a stored (lower-case) title: each word capitalised."""
    return TITLE_WORD.sub(lambda m: m[1] + m[2].upper(), str(text))


def _number(value: Any) -> str:
    """Thousands separated; a whole float (a median of 30.0) without its decimals."""
    if value is None:
        return "-"
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


TEMPLATES.filters |= {
    "num": _number,
    "title": _title_case,
    "utc": lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    "pct": lambda v, digits=1: f"{v:.{digits}%}",
    "dec": lambda v, digits=3: f"{v:.{digits}f}" if v is not None else "-",
    "median": lambda values: _plain(np.median(values)),
}


def render(facts: Facts, figures: dict[str, bytes], *, seconds: float) -> str:
    images = {name: base64.b64encode(png).decode() for name, png in figures.items()}
    return TEMPLATES.get_template("template.html.j2").render(
        f=facts,
        h=facts.headline,
        images=images,
        concentration=CONCENTRATION,
        shuffles=SHUFFLES,
        seconds=seconds,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def facts_json(facts: Facts) -> str:
    return json.dumps({k: _plain(v) for k, v in facts.headline.items()}, indent=2) + "\n"
