"""The page in a real browser (Debian's Chromium via Playwright): opening it with a watch on what
it fetches, asking the API what it should show, axe-core's accessibility check, first-content
timings and screenshots. Used by test_page.py (the demo data) and test_page_walk.py (the real)."""

import json
import re
import statistics
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from playwright.sync_api import Browser, Locator, Page

from common.files import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home over the closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PLATFORM_NAMES = {
    "amazon": "Prime Video",
    "disney": "Disney+",
    "hulu": "Hulu",
    "netflix": "Netflix",
}
# axe-core from the npm package (package.json; `npm ci`, which make test runs): injected into the
# page by the test, never fetched from a CDN.
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


# -- the API, called directly, to know what the page should show ----------------------------


def api(base: str, path: str, headers: dict[str, str] | None = None, **params: Any) -> dict:
    """The gateway's JSON answer to a GET that must succeed."""
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers or {}), timeout=15
    ) as r:
        return json.load(r)


def api_error(base: str, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a GET that must fail."""
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        urllib.request.urlopen(url, timeout=15).close()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    raise AssertionError(f"GET {url} succeeded; the test expected an error")


def title_case(text: str) -> str:
    """What the page shows for a stored lower-case title (app.js's titleCase)."""
    return re.sub(r"(^|[\s(\"/:-])([^\W\d_])", lambda m: m.group(1) + m.group(2).upper(), text)


def genre_name(genre: str) -> str:
    """What the page shows for a genre ("tv dramas" is "TV Dramas")."""
    return re.sub(r"\bTv\b", "TV", title_case(genre))


def maturity(rating: str) -> str:
    """What the page shows for a maturity rating."""
    special = {"all": "All ages", "nr": "Not rated", "not rated": "Not rated", "unrated": "Unrated"}
    return special.get(rating, rating.upper())


# -- the page --------------------------------------------------------------------------------


def open_page(
    browser: Browser, base: str, viewport: dict[str, int], path: str = "/"
) -> tuple[Page, list[str]]:
    """The page at `base + path` in a fresh browser context (no storage: a first visit), plus a
    list that collects script errors, refusals by the Content-Security-Policy and off-site
    requests."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            ("Content Security Policy" in message.text or "Refused to" in message.text)
            and problems.append(message.text)
        ),
    )

    def local_only(request: Any) -> None:
        # The page must work offline: no CDN, no web fonts, nothing outside the gateway.
        if not request.url.startswith((base, "data:")):
            problems.append(f"request outside the gateway: {request.url}")

    page.on("request", local_only)
    page.goto(base + path)
    return page, problems


def no_horizontal_overflow(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px viewport"


def shown(page: Page, view: str) -> None:
    """Wait until the state `view` shows its first content (app.js marks it on <html>)."""
    page.wait_for_function(
        "view => document.documentElement.dataset.shown === view", arg=view, timeout=15_000
    )


def first_content_ms(page: Page, view: str) -> float:
    """Milliseconds from the start of the page's navigation to the first content of `view`
    (app.js's `first-content:<view>` performance mark)."""
    shown(page, view)
    return page.evaluate(
        "view => performance.getEntriesByName(`first-content:${view}`)[0].startTime", view
    )


def navigation_ms(page: Page, view: str) -> float:
    """Milliseconds from the latest in-page navigation to `view` to its first content."""
    shown(page, view)
    return page.evaluate(
        """view => {
            const start = performance.getEntriesByName(`view-start:${view}`).at(-1).startTime;
            const shown = performance.getEntriesByName(`first-content:${view}`).at(-1).startTime;
            return shown - start;
        }""",
        view,
    )


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every rule axe runs by default: WCAG 2.x
    A and AA, and its best practices), each with its impact and the elements at fault."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') does
        # not apply: the page itself never loads it.
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5) }))"""
    )


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in SERIOUS]


def screenshot(what: Page | Locator, name: str, *, full_page: bool = True) -> None:
    """test-artifacts/<name>.png: the whole page (or the viewport), or one element."""
    ARTIFACTS.mkdir(exist_ok=True)
    if isinstance(what, Locator):
        what.screenshot(path=ARTIFACTS / f"{name}.png")
    else:
        what.screenshot(path=ARTIFACTS / f"{name}.png", full_page=full_page)


def record(name: str, data: Any) -> None:
    """Figures a person should see (timings, axe results), as test-artifacts/<name>.json."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True))


def median(values: list[float]) -> float:
    return statistics.median(values)
