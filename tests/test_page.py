"""The gateway's web page in a real browser (Debian's Chromium via Playwright) over the demo stack.

Screenshots land in test-artifacts/ (git-ignored) so a person can look at what the test saw.
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

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

# The first answers after start-up include loading the model; 5 s is tight on a busy CI runner.
expect.set_options(timeout=15_000)


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
    """What the page shows for a stored lower-case title."""
    return re.sub(r"(^|\s)(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session; a browser that cannot start fails, never skips."""
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
            )
        except PlaywrightError as error:
            pytest.fail(
                f"Chromium could not start from {CHROMIUM} (apt-get install chromium): {error}",
                pytrace=False,
            )
        yield chromium
        chromium.close()


def open_page(browser: Browser, base: str, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    """The page at `base`, plus a list that collects script errors and off-site requests."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def local_only(request: Any) -> None:
        # The page must work offline: no CDN, no web fonts, nothing outside the gateway.
        if not request.url.startswith((base, "data:")):
            problems.append(f"request outside the gateway: {request.url}")

    page.on("request", local_only)
    page.goto(base + "/")
    return page, problems


@pytest.fixture
def page(browser: Browser, demo_stack) -> Iterator[Page]:
    """The page at laptop size; fails afterwards on script errors or off-site requests."""
    page, problems = open_page(browser, demo_stack.url, LAPTOP)
    yield page
    page.context.close()
    assert problems == []


# -- helpers for the page --------------------------------------------------------------------


def choose_title(page: Page, typed: str, name: str) -> None:
    """Type part of a title's name and click its suggestion."""
    page.get_by_role("combobox", name="Title").fill(typed)
    suggestions = page.get_by_test_id("title-suggestions").get_by_role("option")
    suggestions.filter(has_text=name).first.click()
    expect(page.get_by_test_id("title-suggestions")).to_be_hidden()


def recommendation_cards(page: Page) -> Locator:
    return page.get_by_test_id("recs-list").get_by_test_id("title-card")


def ask(page: Page, question: str, **fields: str) -> None:
    """Fill the catalogue form (by label) and press Ask."""
    page.get_by_label("Question").select_option(question)
    labels = {"platform": "Platform", "year": "Release year", "scored": "Mean rating above"}
    for field, value in fields.items():
        control = page.get_by_role("main").get_by_label(labels[field], exact=True)
        if field == "platform":
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Ask").click()


def no_horizontal_overflow(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px viewport"


# -- the tests -------------------------------------------------------------------------------


def test_banner_says_the_data_is_synthetic_and_names_the_model(page: Page, demo_stack) -> None:
    """The banner flags the demo data set and the header names the served model."""
    dataset = api(demo_stack.url, "/dataset")
    model = api(demo_stack.url, "/model")
    assert dataset["synthetic"] is True

    banner = page.get_by_test_id("dataset-banner")
    expect(banner).to_contain_text("Demo data: synthetic titles and users")
    expect(banner).to_contain_text(f"{dataset['titles']:,} titles, {dataset['ratings']:,} ratings")
    expect(page.get_by_test_id("model-info")).to_contain_text(model["version"])
    expect(page.get_by_test_id("status-error")).to_be_empty()


def test_prediction_for_a_searched_title(page: Page, demo_stack) -> None:
    """Type part of a name, pick the suggestion, predict: the verdict matches the API's."""
    target = api(demo_stack.url, "/titles", q="synthetic", platform="hulu", sort="title", limit=1)
    title = target["items"][0]
    name = title_case(title["title"])
    typed = " ".join(title["title"].split()[-2:]).upper()  # any case, any part of the name

    page.get_by_label("User id").fill("7")
    choose_title(page, typed, name)
    chosen = page.get_by_test_id("chosen-title")
    expect(chosen).to_have_attribute("data-title-id", title["id"])
    expect(chosen).to_contain_text(name)

    page.get_by_role("button", name="Predict", exact=True).click()
    expected = api(demo_stack.url, "/predict", demo_stack.auth(7), user_id=7, title_id=title["id"])
    verdict = page.get_by_test_id("verdict")
    label = "Recommended" if expected["recommend"] else "Not recommended"
    expect(verdict.locator(".verdict-label")).to_have_text(label)
    expect(verdict.get_by_test_id("verdict-score")).to_have_text(f"{expected['score']:.2f} / 5")
    expect(verdict).to_contain_text("for user 7")
    expect(verdict).to_contain_text(name)
    assert expected["reason"] == "model"  # user 7 rated titles, and every title has ratings
    expect(verdict.get_by_test_id("verdict-reason")).to_contain_text("personal prediction")
    expect(page.get_by_test_id("predict-error")).to_be_empty()
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_test_id("verdict").screenshot(path=ARTIFACTS / "page-prediction.png")

    # Choosing the title also lists the titles most like it, scored by cosine similarity.
    similar = api(demo_stack.url, f"/titles/{title['id']}/similar", n=10)
    cards = page.get_by_test_id("similar-list").get_by_test_id("title-card")
    expect(cards).to_have_count(10)
    expect(cards.first).to_have_attribute("data-title-id", similar["items"][0]["title_id"])
    expect(cards.first.get_by_test_id("card-score")).to_have_text(
        f"similarity {similar['items'][0]['score']:.2f}"
    )

    # A user the model has never seen: the answer is the title's average, and the page says so.
    page.get_by_label("User id").fill("123456")
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(verdict).to_contain_text("for user 123456")
    expect(verdict.get_by_test_id("verdict-reason")).to_have_text(
        "The model has never seen this user, so the answer uses the title's average only."
    )

    # A card's own Predict button makes that title the chosen one and predicts it.
    nearest = similar["items"][0]
    cards.first.get_by_role("button", name="Predict").click()
    expect(page.get_by_test_id("chosen-title")).to_have_attribute(
        "data-title-id", nearest["title_id"]
    )
    expect(verdict).to_contain_text(title_case(nearest["title"]["title"]))
    expect(page.get_by_test_id("similar-list")).to_have_attribute(
        "data-title-id", nearest["title_id"]
    )


def test_suggestions_work_from_the_keyboard(page: Page) -> None:
    """Arrow down and Enter choose a suggestion without submitting the form."""
    search = page.get_by_role("combobox", name="Title")
    search.fill("synthetic")
    options = page.get_by_test_id("title-suggestions").get_by_role("option")
    expect(options).to_have_count(8)
    search.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    first_id = options.first.get_attribute("data-title-id")
    search.press("Enter")
    expect(page.get_by_test_id("chosen-title")).to_have_attribute("data-title-id", str(first_id))
    expect(page.get_by_test_id("verdict")).to_be_empty()


def test_the_search_box_completes_titles_and_forgives_typos(page: Page, demo_stack) -> None:
    """Typing shows /titles/suggest's completions in its order; arrows move through them,
    Enter chooses one, Escape closes the list; a misspelt title is still found."""
    target = api(demo_stack.url, "/titles", q="synthetic", platform="netflix", sort="title")
    title = target["items"][0]["title"]
    typed = " ".join(title.split()[:2]).title()  # "Synthetic River": the start of many titles
    expected = [i["id"] for i in api(demo_stack.url, "/titles/suggest", q=typed, limit=8)["items"]]
    assert len(expected) == 8

    search = page.get_by_role("combobox", name="Title")
    with page.expect_request(lambda request: "/titles/suggest?" in request.url):
        search.press_sequentially(typed, delay=30)  # key by key, as a person types
    options = page.get_by_test_id("title-suggestions").get_by_role("option")
    expect(options).to_have_count(8)
    assert [o.get_attribute("data-title-id") for o in options.all()] == expected
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowUp"):
        search.press(key)
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    search.press("Enter")
    expect(page.get_by_test_id("title-suggestions")).to_be_hidden()
    expect(page.get_by_test_id("chosen-title")).to_have_attribute("data-title-id", expected[1])

    search.fill(typed)
    expect(options).to_have_count(8)
    search.press("Escape")
    expect(page.get_by_test_id("title-suggestions")).to_be_hidden()

    # One letter wrong: no title starts so, and the search's typo matching finds it.
    misspelt = title.replace("synthetic", "synthetik", 1)
    search.fill(misspelt)
    expect(options.first).to_have_attribute("data-title-id", target["items"][0]["id"])


def test_recommendations_follow_the_platform_filter(page: Page, demo_stack) -> None:
    """Ten top picks for user 1; with only Netflix ticked, ten Netflix titles."""
    cards = recommendation_cards(page)
    listing = page.get_by_test_id("recs-list")
    expect(listing).to_have_attribute("data-platforms", "amazon,disney,hulu,netflix")
    expect(cards).to_have_count(10)
    every = api(demo_stack.url, "/users/1/recommendations", demo_stack.auth(1), n=10)
    expect(cards).to_have_count(len(every["items"]))
    for card, item in zip(cards.all(), every["items"], strict=True):
        expect(card).to_have_attribute("data-title-id", item["title_id"])
    expect(cards.first.get_by_test_id("card-score")).to_have_text(
        f"{every['items'][0]['score']:.2f} / 5 predicted"
    )

    for platform in ("amazon", "disney", "hulu"):
        page.get_by_role("checkbox", name=PLATFORM_NAMES[platform]).uncheck()
    # Each click refetches; the attribute says which filter the cards on screen answer.
    expect(listing).to_have_attribute("data-platforms", "netflix")
    expect(cards).to_have_count(10)
    expect(cards.get_by_test_id("platform")).to_have_text(["Netflix"] * 10)
    expect(
        listing.locator('[data-testid="title-card"]:not([data-platform="netflix"])')
    ).to_have_count(0)
    netflix = api(
        demo_stack.url, "/users/1/recommendations", demo_stack.auth(1), n=10, platform="netflix"
    )
    assert [c.get_attribute("data-title-id") for c in cards.all()] == [
        item["title_id"] for item in netflix["items"]
    ]

    page.get_by_role("checkbox", name="Netflix").uncheck()
    expect(page.get_by_test_id("recs-error")).to_contain_text("Tick at least one platform.")
    expect(cards).to_have_count(0)


def test_picks_say_why_and_a_title_says_where_else_it_streams(page: Page, demo_stack) -> None:
    """Each pick names the liked titles behind it; a title on two platforms says so."""
    picks = api(demo_stack.url, "/users/1/recommendations", demo_stack.auth(1), n=10)["items"]
    cards = recommendation_cards(page)
    expect(cards).to_have_count(10)
    for card, item in zip(cards.all(), picks, strict=True):
        why = card.get_by_test_id("because")
        if item["because"]:
            names = ", ".join(title_case(b["title"]["title"]) for b in item["because"])
            expect(why).to_have_text(f"Because you liked {names}")
        else:
            expect(why).to_have_count(0)
    assert any(item["because"] for item in picks)

    copied = api(demo_stack.url, "/titles/ns5")
    assert copied["also_on"] == [{"platform": "amazon", "id": "as5"}]
    choose_title(page, copied["title"], title_case(copied["title"]))
    expect(page.get_by_test_id("also-on")).to_have_text(" · Also on Prime Video")
    expect(page.get_by_role("heading", name=f"More like this: {title_case(copied['title'])}"))
    similar = page.get_by_test_id("similar-list").get_by_test_id("title-card")
    expect(similar).to_have_count(10)
    assert "as5" not in [c.get_attribute("data-title-id") for c in similar.all()]


def test_unknown_user_gets_the_best_rated_titles(page: Page) -> None:
    """A user the model does not know is told they get the best-rated titles."""
    page.get_by_label("User id").fill("9999")
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("heading", name="Top picks for user 9999")).to_be_visible()
    expect(page.get_by_test_id("recs-note")).to_have_text(
        "New user: showing the best-rated titles."
    )
    expect(recommendation_cards(page)).to_have_count(10)


def test_catalogue_questions_answer_readably(page: Page, demo_stack) -> None:
    """Count per platform and the longest title come back as sentences and a definition list."""
    ask(page, "get_count_platform", platform="netflix")
    result = page.get_by_test_id("query-result")
    expect(result).to_contain_text("Netflix has 150 titles.")
    expect(result.get_by_role("term")).to_have_text(["Platform", "Titles"])
    expect(result.get_by_role("definition")).to_have_text(["Netflix", "150"])

    longest = api(demo_stack.url, "/get_max_duration")
    ask(page, "get_max_duration", platform="")
    expect(result).to_have_attribute("data-query", "get_max_duration")
    expect(result).to_contain_text(
        f"The longest is {title_case(longest['title'])}: {longest['duration_int']} min."
    )
    expect(result).not_to_contain_text("{")


def test_errors_are_shown_as_sentences(page: Page, demo_stack) -> None:
    """404 shows its detail, 422 its message, a dead network a plain sentence; never raw JSON."""
    alert = page.get_by_test_id("query-error")
    result = page.get_by_test_id("query-result")
    expect(alert).to_have_attribute("role", "alert")

    ask(page, "get_actor", platform="hulu", year="1901")
    expect(alert).to_contain_text("no titles match platform=hulu, year=1901")
    expect(result).to_be_empty()

    status, body = api_error(demo_stack.url, "/get_actor", platform="hulu", year=3000)
    assert status == 422
    ask(page, "get_actor", year="3000")
    expect(alert).to_contain_text(body["message"])
    expect(alert).to_contain_text("(allowed: from 1900 to 2100)")
    expect(alert).not_to_contain_text("{")
    expect(alert).not_to_contain_text("less_than_equal")  # the machine-readable part stays out
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_role("region", name="Ask the catalogue").screenshot(
        path=ARTIFACTS / "page-error.png"
    )

    def is_get_actor(url: str) -> bool:
        return "/get_actor?" in url

    page.route(is_get_actor, lambda route: route.abort())
    ask(page, "get_actor", year="2019")
    expect(alert).to_contain_text("The service cannot be reached")
    page.unroute(is_get_actor)

    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.get_by_test_id("predict-error")).to_contain_text(
        "Choose a title from the suggestions first."
    )


def test_degraded_answers_and_a_missing_model_are_explained(page: Page) -> None:
    """Cards without details say so, and a 503 from /model reads as "no model yet"."""
    # Faked in the browser: stopping the session's real catalog would break the other tests.
    degraded = {
        "user_id": 1,
        "reason": "model",
        "items": [{"title_id": "ns1", "score": 4.2, "title": None}],
        "degraded": True,
    }
    page.route(
        lambda url: "/recommendations?" in url,
        lambda route: route.fulfill(json=degraded),
    )
    page.route(
        lambda url: url.endswith("/model"),
        lambda route: route.fulfill(status=503, json={"detail": "no model is loaded yet"}),
    )
    page.reload()

    expect(page.get_by_test_id("model-info")).to_contain_text("No model yet")
    card = recommendation_cards(page)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("ns1")
    expect(card).to_contain_text("title details unavailable")
    expect(card.get_by_test_id("card-score")).to_have_text("4.20 / 5 predicted")
    expect(page.get_by_test_id("recs-note")).to_contain_text("title details unavailable")


def test_the_page_signs_in_as_the_user_it_shows(page: Page) -> None:
    """make run's demo sign-in: the chip names the user whose picks are shown."""
    expect(page.get_by_test_id("sign-in")).to_contain_text("Signed in as user 1 (demo)")
    page.get_by_label("User id").fill("9")
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("heading", name="Top picks for user 9")).to_be_visible()
    expect(page.get_by_test_id("sign-in")).to_contain_text("Signed in as user 9 (demo)")
    expect(recommendation_cards(page)).to_have_count(10)


def test_without_the_demo_sign_in_the_page_asks_to_sign_in(page: Page) -> None:
    """A deployment has no /auth/demo: per-user parts say to sign in; the rest works."""
    page.route("**/auth/demo", lambda route: route.fulfill(status=404, json={"detail": "no"}))
    page.evaluate("sessionStorage.clear()")
    page.reload()
    expect(page.get_by_test_id("sign-in")).to_contain_text("Not signed in")
    expect(page.get_by_test_id("recs-error")).to_contain_text("Sign in as user 1 first")
    expect(recommendation_cards(page)).to_have_count(0)
    ask(page, "get_count_platform", platform="netflix")
    expect(page.get_by_test_id("query-result")).to_contain_text("Netflix has 150 titles.")


def test_the_api_docs_work_offline(browser: Browser, demo_stack) -> None:
    """Swagger UI from the gateway's own assets: no CDN, no script error, no CSP refusal."""
    context = browser.new_context(viewport=LAPTOP)
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
    page.on(
        "request",
        lambda request: (
            request.url.startswith((demo_stack.url, "data:"))
            or problems.append(f"request outside the gateway: {request.url}")
        ),
    )
    try:
        page.goto(demo_stack.url + "/docs")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        expect(page.get_by_text("/users/{user_id}/recommendations").first).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "docs.png")
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize(("device", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_page_fits_the_screen(
    browser: Browser, demo_stack, device: str, viewport: dict[str, int]
) -> None:
    """Every part filled in, the page fits the width; its screenshot is kept as an artefact."""
    page, problems = open_page(browser, demo_stack.url, viewport)
    try:
        expect(page.get_by_test_id("dataset-banner")).to_contain_text("Demo data")
        expect(recommendation_cards(page)).to_have_count(10)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input, select')]
                .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id)"""
        )
        assert unlabelled == []

        # The open suggestion list is the widest thing the page draws.
        page.get_by_role("combobox", name="Title").fill("river")
        expect(page.get_by_test_id("title-suggestions").get_by_role("option")).to_have_count(8)
        no_horizontal_overflow(page, viewport["width"])
        page.get_by_test_id("title-suggestions").get_by_role("option").first.click()
        page.get_by_role("button", name="Predict", exact=True).click()
        expect(page.get_by_test_id("verdict")).to_contain_text("/ 5")
        expect(page.get_by_test_id("similar-list").get_by_test_id("title-card")).to_have_count(10)
        ask(page, "get_count_platform", platform="netflix")
        expect(page.get_by_test_id("query-result")).to_contain_text("150")

        no_horizontal_overflow(page, viewport["width"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=ARTIFACTS / f"page-{device}.png", full_page=True)
        assert problems == []
    finally:
        page.context.close()


@pytest.mark.parametrize(("device", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_the_insights_report_reads_well_offline(
    browser: Browser, demo_db, demo_model, tmp_path: Path, device: str, viewport: dict[str, int]
) -> None:
    """The report file on its own: every figure decodes, every link in the menu lands, nothing
    is fetched from anywhere, and it fits the screen; its screenshot is kept as an artefact."""
    from common.db import engine_at
    from loader.report.build import build

    with engine_at(demo_db, application_name="tests") as engine:
        built = build(engine, out=tmp_path / "report", model_dir=demo_model)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "request",
        lambda request: (
            request.url.startswith(("file:", "data:"))
            or problems.append(f"request for {request.url}")
        ),
    )
    try:
        page.goto(built.page.as_uri())
        broken = page.evaluate(
            "[...document.images].filter(i => !i.complete || !i.naturalWidth).map(i => i.alt)"
        )
        assert broken == []
        assert page.evaluate("document.images.length") == len(built.figures)
        dead = page.evaluate(
            """[...document.querySelectorAll('nav a')]
                .map(a => a.getAttribute('href')).filter(h => !document.querySelector(h))"""
        )
        assert dead == []
        no_horizontal_overflow(page, viewport["width"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"report-{device}.png", full_page=True)
        assert problems == []
    finally:
        context.close()
