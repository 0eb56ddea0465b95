"""The gateway's web page in a real browser (Debian's Chromium via Playwright) over the demo stack:
search, a page per title, picks for the viewer, their services, Explore, links and history,
the keyboard, axe-core, and every state's look at laptop and phone widths.

The demo data has no real titles: the viewer's walk through real ones (Stranger Things) is
test_page_walk.py. Screenshots land in test-artifacts/ (git-ignored).
"""

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser import (
    LAPTOP,
    PHONE,
    PLATFORM_NAMES,
    api,
    api_error,
    axe,
    genre_name,
    maturity,
    no_horizontal_overflow,
    open_page,
    record,
    screenshot,
    serious,
    shown,
    title_case,
)

# The first answers after start-up include loading the model; 5 s is tight on a busy CI runner.
expect.set_options(timeout=15_000)
SEARCH = "Search titles, people or plots"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser, demo_stack) -> Iterator[Page]:
    """The page at laptop size, as a first visit; fails afterwards on script errors, CSP
    refusals or off-site requests."""
    page, problems = open_page(browser, demo_stack.url, LAPTOP)
    yield page
    page.context.close()
    assert problems == []


# -- helpers for the page --------------------------------------------------------------------


def search_box(page: Page) -> Locator:
    return page.get_by_role("combobox", name=SEARCH)


def suggestions(page: Page) -> Locator:
    return page.get_by_test_id("search-suggestions").get_by_role("option")


def open_suggestion(page: Page, typed: str, name: str) -> None:
    """Type part of a title's name and click its suggestion: its page opens."""
    search_box(page).fill(typed)
    suggestions(page).filter(has_text=name).first.click()
    expect(page.get_by_test_id("search-suggestions")).to_be_hidden()
    expect(page.get_by_test_id("title-heading")).to_have_text(name)


def search_for(page: Page, text: str) -> None:
    search_box(page).fill(text)
    search_box(page).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Results for “{text}”")
    answered(page)


def answered(page: Page) -> None:
    """Wait until the result cards on screen answer the URL's search."""
    url = page.evaluate("location.pathname + location.search")
    expect(page.get_by_test_id("search-results")).to_have_attribute("data-answers", url)


def filters(page: Page) -> Locator:
    return page.get_by_role("form", name="Filters")


def picks(page: Page) -> Locator:
    return page.get_by_test_id("foryou").get_by_test_id("title-card")


def results(page: Page) -> Locator:
    return page.get_by_test_id("search-results").get_by_test_id("title-card")


def similar_cards(page: Page) -> Locator:
    return page.get_by_test_id("similar").get_by_test_id("title-card")


def switch_viewer(page: Page, user: int) -> None:
    """The demo sign-in as another user: one click on the chip, the id, one click."""
    page.get_by_test_id("sign-in").click()
    dialog = page.get_by_test_id("viewer-dialog")
    dialog.get_by_label("User id").fill(str(user))
    dialog.get_by_role("button", name="Sign in as this user").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("sign-in")).to_contain_text(f"Signed in as user {user}")


def choose_services(page: Page, keep: list[str]) -> None:
    """Tick exactly `keep` in the services dialog and close it."""
    page.get_by_test_id("services-button").click()
    dialog = page.get_by_test_id("services-dialog")
    for platform, name in PLATFORM_NAMES.items():
        dialog.get_by_role("checkbox", name=name).set_checked(platform in keep)
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()


def ask(page: Page, question: str, **fields: str) -> Locator:
    """Fill one of Explore's questions (by label) and press its Ask; returns its section."""
    section = page.get_by_role("region", name=question)
    labels = {"platform": "Platform", "year": "Release year", "scored": "Mean rating above"}
    for field, value in fields.items():
        control = section.get_by_label(labels[field], exact=True)
        if field == "platform":
            control.select_option(value)
        else:
            control.fill(value)
    section.get_by_role("button", name="Ask").click()
    return section


def alike(score: float) -> str:
    """The page's "NN% alike" (JavaScript's Math.round, not Python's round-half-even)."""
    return f"{math.floor(score * 100 + 0.5)}% alike"


def first_copies(items: list[dict[str, Any]]) -> list[str]:
    """The ids the results page shows: the first copy of each work, in the answer's order."""
    seen: set[str] = set()
    first = []
    for item in items:
        if item["work_id"] not in seen:
            seen.add(item["work_id"])
            first.append(item["id"])
    return first


# -- the data set and the model --------------------------------------------------------------


def test_banner_says_the_data_is_synthetic_and_names_the_model(page: Page, demo_stack) -> None:
    """The banner flags the demo data set and names the served model."""
    dataset = api(demo_stack.url, "/dataset")
    model = api(demo_stack.url, "/model")
    assert dataset["synthetic"] is True

    banner = page.get_by_test_id("dataset-banner")
    expect(banner).to_contain_text("Demo data: synthetic titles and users")
    expect(banner).to_contain_text(f"{dataset['titles']:,} titles, {dataset['ratings']:,} ratings")
    expect(page.get_by_test_id("model-info")).to_contain_text(model["version"])
    expect(page.get_by_test_id("status-error")).to_be_empty()


def test_the_first_visit_asks_for_the_services_once(page: Page) -> None:
    """A card asks which services the viewer has; answered, it does not come back."""
    onboarding = page.get_by_test_id("onboarding")
    expect(onboarding).to_be_visible()
    expect(picks(page)).to_have_count(10)  # the picks are there meanwhile, for all four
    onboarding.get_by_role("button", name="I have all four").click()
    expect(onboarding).to_be_hidden()
    expect(page.get_by_role("heading", name="For you")).to_be_focused()
    expect(page.get_by_test_id("services-button")).to_have_text("My services All four")
    page.reload()
    expect(picks(page)).to_have_count(10)
    expect(onboarding).to_be_hidden()


# -- search and a page per title ---------------------------------------------------------------


def test_a_searched_title_has_its_page_with_a_prediction_and_more_like_this(
    page: Page, demo_stack
) -> None:
    """Type part of a name, pick the suggestion: the title's page shows its facts, the
    prediction for the viewer with its reason, and "More like this", whose cards open their own
    pages; back returns."""
    base = demo_stack.url
    target = api(base, "/titles", q="synthetic", platform="hulu", sort="title", limit=1)
    title = api(base, f"/titles/{target['items'][0]['id']}")
    name = title_case(title["title"])
    typed = " ".join(title["title"].split()[-2:]).upper()  # any case, any part of the name

    switch_viewer(page, 7)
    open_suggestion(page, typed, name)
    expect(page).to_have_url(re.compile(rf"/\?title={title['id']}$"))
    expect(page).to_have_title(f"{name} · streamrec")
    facts = page.get_by_test_id("title-facts")
    for actor in title["cast"]:
        expect(facts).to_contain_text(title_case(actor))
    expect(facts).to_contain_text(title_case(title["director"]))
    expect(facts).to_contain_text(title_case(title["country"]))
    expect(facts).to_contain_text(maturity(title["rating"]))
    expect(facts).to_contain_text(f"{title['votes']} ratings")
    expect(page.get_by_test_id("title-description")).to_have_text(
        title["description"][0].upper() + title["description"][1:]
    )
    expect(page.get_by_test_id("title-eyebrow")).to_contain_text("Hulu")
    expect(page.get_by_test_id("where")).to_contain_text("Only on this platform.")

    expected = api(base, "/predict", demo_stack.auth(7), user_id=7, title_id=title["id"])
    verdict = page.get_by_test_id("verdict")
    label = "Recommended" if expected["recommend"] else "Not recommended"
    expect(verdict.locator(".verdict-label")).to_have_text(label)
    expect(verdict.get_by_test_id("verdict-score")).to_have_text(f"{expected['score']:.2f} / 5")
    expect(verdict).to_contain_text("for user 7")
    assert expected["reason"] == "model"  # user 7 rated titles, and every title has ratings
    expect(verdict.get_by_test_id("verdict-reason")).to_contain_text("personal prediction")
    screenshot(page.get_by_test_id("verdict"), "page-prediction", full_page=False)

    similar = api(base, f"/titles/{title['id']}/similar", n=10)
    cards = similar_cards(page)
    expect(cards).to_have_count(10)
    assert [c.get_attribute("data-title-id") for c in cards.all()] == [
        i["title_id"] for i in similar["items"]
    ]
    expect(cards.first.get_by_test_id("card-score")).to_have_text(
        alike(similar["items"][0]["score"])
    )

    # A viewer the model has never seen: the answer is the title's average, and the page says so.
    switch_viewer(page, 123456)
    expect(verdict).to_contain_text("for user 123456")
    expect(verdict.get_by_test_id("verdict-reason")).to_have_text(
        "The model has not learnt your taste yet, so the answer uses the title's average only."
    )

    # A card of "More like this" opens that title's page; back comes back.
    nearest = similar["items"][0]
    cards.first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/\?title={nearest['title_id']}$"))
    expect(page.get_by_test_id("title-heading")).to_have_text(title_case(nearest["title"]["title"]))
    expect(page.get_by_test_id("title-heading")).to_be_focused()
    expect(page.get_by_test_id("similar")).to_have_attribute("data-title-id", nearest["title_id"])
    page.go_back()
    expect(page.get_by_test_id("title-heading")).to_have_text(name)
    expect(page.get_by_test_id("similar")).to_have_attribute("data-title-id", title["id"])


def test_suggestions_work_from_the_keyboard(page: Page) -> None:
    """Arrow down and Enter open a suggestion's page, with the focus on its heading."""
    search = search_box(page)
    search.fill("synthetic")
    options = suggestions(page)
    expect(options).to_have_count(8)
    search.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-activedescendant", "suggestion-0")
    first_id = options.first.get_attribute("data-title-id")
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/\?title={first_id}$"))
    expect(page.get_by_test_id("title-heading")).to_be_focused()


def test_the_search_box_completes_titles_and_forgives_typos(page: Page, demo_stack) -> None:
    """Typing shows /titles/suggest's completions in its order; arrows move through them,
    Enter opens one, Escape closes the list; a misspelt title is still found."""
    target = api(demo_stack.url, "/titles", q="synthetic", platform="netflix", sort="title")
    title = target["items"][0]["title"]
    typed = " ".join(title.split()[:2]).title()  # "Synthetic River": the start of many titles
    expected = [i["id"] for i in api(demo_stack.url, "/titles/suggest", q=typed, limit=8)["items"]]
    assert len(expected) == 8

    search = search_box(page)
    with page.expect_request(lambda request: "/titles/suggest?" in request.url):
        search.press_sequentially(typed, delay=30)  # key by key, as a person types
    options = suggestions(page)
    expect(options).to_have_count(8)
    assert [o.get_attribute("data-title-id") for o in options.all()] == expected
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowUp"):
        search.press(key)
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    search.press("Enter")
    expect(page.get_by_test_id("search-suggestions")).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/\?title={expected[1]}$"))

    search.fill(typed)
    expect(options).to_have_count(8)
    search.press("Escape")
    expect(page.get_by_test_id("search-suggestions")).to_be_hidden()

    # One letter wrong: no title starts so, and the search's typo matching finds it.
    misspelt = title.replace("synthetic", "synthetik", 1)
    search.fill(misspelt)
    expect(options.first).to_have_attribute("data-title-id", target["items"][0]["id"])


def test_search_results_are_cards_one_per_work_with_filters(page: Page, demo_stack) -> None:
    """Enter searches: cards with title, platform, year, type and genres; a work on two
    platforms is one card that says where else it is; type, platform and genre filter the
    results and the URL says so."""
    base = demo_stack.url
    copied = api(base, "/titles/ns5")
    assert copied["also_on"] == [{"platform": "amazon", "id": "as5"}]
    search_for(page, copied["title"])
    expect(page).to_have_url(re.compile(r"/\?q=synthetic\+echo\+signal\+5$"))
    answer = api(base, "/titles", q=copied["title"], limit=24)
    cards = results(page)
    expected = first_copies(answer["items"])
    expect(cards).to_have_count(len(expected))
    assert [c.get_attribute("data-title-id") for c in cards.all()] == expected
    expect(page.get_by_test_id("search-count")).to_have_text(
        f"{answer['total']} titles on your services (all four)"
    )
    by_id = {item["id"]: item for item in answer["items"]}
    for card in cards.all():
        item = by_id[card.get_attribute("data-title-id")]
        expect(card.get_by_role("heading")).to_have_text(title_case(item["title"]))
        expect(card.get_by_test_id("platform").first).to_have_text(PLATFORM_NAMES[item["platform"]])
        kind = "Film" if item["type"] == "movie" else "TV show"
        expect(card.locator(".card-meta")).to_contain_text(f"{kind} · {item['release_year']}")
        expect(card.get_by_test_id("genres")).to_have_text(genre_name(item["listed_in"]))
    # ns5 and as5 are one work: one card, "also on" the other platform.
    one = cards.and_(page.locator('[data-title-id="ns5"]'))
    expect(one.get_by_test_id("also-on")).to_have_text("also on Prime Video")
    expect(page.locator('[data-testid="search-results"] [data-title-id="as5"]')).to_have_count(0)

    filters(page).get_by_label("Type").select_option("movie")
    expect(page).to_have_url(re.compile(r"&type=movie$"))
    answered(page)
    films = api(base, "/titles", q=copied["title"], type="movie", limit=24)
    expect(cards).to_have_count(len(first_copies(films["items"])))
    expect(cards.locator(".card-meta")).to_contain_text(["Film"] * cards.count())

    filters(page).get_by_label("Platform").select_option("hulu")
    expect(page).to_have_url(re.compile(r"platform=hulu"))
    answered(page)
    hulu = api(base, "/titles", q=copied["title"], type="movie", platform="hulu", limit=24)
    expect(cards).to_have_count(len(hulu["items"]))
    expect(cards.get_by_test_id("platform")).to_have_text(["Hulu"] * len(hulu["items"]))
    expect(page.get_by_test_id("search-count")).to_contain_text("on Hulu")

    genre = api(base, "/genres")[0]["genre"]
    filters(page).get_by_label("Type").select_option("")
    filters(page).get_by_label("Platform").select_option("all")
    filters(page).get_by_label("Genre").select_option(genre)
    expect(page).to_have_url(re.compile(rf"genre={re.escape(genre)}"))
    answered(page)
    in_genre = api(base, "/titles", q=copied["title"], genre=genre, limit=24)
    expect(page.get_by_test_id("search-count")).to_have_text(
        f"{in_genre['total']} titles on all platforms"
    )
    expect(cards.get_by_test_id("genres")).to_contain_text([genre_name(genre)] * cards.count())

    # Many results: a page at a time.
    search_for(page, "synthetic")
    first_page = api(base, "/titles", q="synthetic", limit=24)["items"]
    expect(cards).to_have_count(len(first_copies(first_page)))
    page.get_by_test_id("search-more").click()
    expect(page.get_by_test_id("search-results")).to_have_attribute("data-shown", "48")
    both = api(base, "/titles", q="synthetic", limit=48)["items"]
    assert [c.get_attribute("data-title-id") for c in cards.all()] == first_copies(both)


def test_search_has_designed_empty_and_error_states(page: Page) -> None:
    """Nothing found says so and offers all platforms; a failure says why and retries."""
    search_for(page, '"zebra quantum"')
    empty = page.get_by_test_id("search-results").get_by_test_id("empty")
    expect(empty).to_contain_text('Nothing matches “"zebra quantum"” on your services')
    expect(page.get_by_test_id("search-count")).to_have_text(
        "No titles on your services (all four)"
    )
    empty.get_by_role("button", name="Search all platforms").click()
    expect(page).to_have_url(re.compile(r"platform=all"))
    expect(empty).to_contain_text("on all platforms")
    expect(empty.get_by_role("button", name="Search all platforms")).to_have_count(0)

    def is_search(url: str) -> bool:
        return "/titles?" in url and "q=synthetic" in url

    page.route(is_search, lambda route: route.abort())
    search_box(page).fill("synthetic")
    search_box(page).press("Enter")
    error = page.get_by_test_id("search-results").get_by_test_id("error")
    expect(error).to_have_text(re.compile("Connection problem.*The service cannot be reached."))
    page.unroute(is_search)
    error.get_by_role("button", name="Try again").click()
    expect(results(page).first).to_be_visible()


# -- For you, and the viewer's services --------------------------------------------------------


def test_picks_follow_the_viewers_services_everywhere(page: Page, demo_stack) -> None:
    """Ten picks for user 1; the services chosen once apply to the picks, the search and "More
    like this", and the browser remembers them."""
    base = demo_stack.url
    region = page.get_by_test_id("foryou")
    cards = picks(page)
    expect(region).to_have_attribute("data-platforms", "amazon,disney,hulu,netflix")
    every = api(base, "/users/1/recommendations", demo_stack.auth(1), n=10)
    expect(cards).to_have_count(10)
    assert [c.get_attribute("data-title-id") for c in cards.all()] == [
        item["title_id"] for item in every["items"]
    ]
    expect(cards.first.get_by_test_id("card-score")).to_have_text(
        f"{every['items'][0]['score']:.2f} / 5 predicted"
    )
    expect(page.get_by_test_id("onboarding")).to_be_visible()

    choose_services(page, ["netflix"])
    # Each tick refetches; the attribute says which services the cards on screen answer.
    expect(region).to_have_attribute("data-platforms", "netflix")
    expect(cards.get_by_test_id("platform")).to_have_text(["Netflix"] * 10)
    netflix = api(base, "/users/1/recommendations", demo_stack.auth(1), n=10, platform="netflix")
    assert [c.get_attribute("data-title-id") for c in cards.all()] == [
        item["title_id"] for item in netflix["items"]
    ]
    expect(page.get_by_test_id("onboarding")).to_be_hidden()
    expect(page.get_by_test_id("services-button")).to_contain_text("Netflix")
    expect(page.get_by_test_id("foryou-note")).to_contain_text("on Netflix")

    page.reload()  # remembered by the browser
    expect(region).to_have_attribute("data-platforms", "netflix")
    expect(page.get_by_test_id("onboarding")).to_be_hidden()

    search_for(page, "synthetic")
    expect(filters(page).get_by_label("Platform")).to_have_value("")
    expect(filters(page).get_by_label("Platform").locator("option:checked")).to_have_text(
        "My services (Netflix)"
    )
    total = api(base, "/titles", q="synthetic", platform="netflix")["total"]
    expect(page.get_by_test_id("search-count")).to_have_text(
        f"{total} titles on your services (Netflix)"
    )
    expect(results(page).get_by_test_id("platform")).to_have_text(
        ["Netflix"] * results(page).count()
    )

    opened = results(page).first.get_attribute("data-title-id")
    results(page).first.get_by_role("link").first.click()
    expect(page.get_by_test_id("similar")).to_have_attribute("data-title-id", opened)
    similar = api(base, f"/titles/{opened}/similar", n=10, platform="netflix")
    expect(similar_cards(page)).to_have_count(len(similar["items"]))
    assert [c.get_attribute("data-title-id") for c in similar_cards(page).all()] == [
        i["title_id"] for i in similar["items"]
    ]
    expect(page.get_by_test_id("similar-note")).to_contain_text("on Netflix")

    # None at all: every list says what to do instead of going blank.
    page.get_by_test_id("services-button").click()
    page.get_by_test_id("services-dialog").get_by_role("checkbox", name="Netflix").uncheck()
    expect(page.get_by_test_id("services-dialog")).to_contain_text("tick at least one")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("similar").get_by_test_id("no-services")).to_be_visible()
    page.get_by_test_id("tab-home").click()
    expect(region.get_by_test_id("no-services")).to_contain_text("No services chosen")
    expect(cards).to_have_count(0)


def test_picks_say_why_and_a_title_says_where_else_it_streams(page: Page, demo_stack) -> None:
    """Each pick names the liked titles behind it; a title on two platforms says so."""
    base = demo_stack.url
    answer = api(base, "/users/1/recommendations", demo_stack.auth(1), n=10)
    cards = picks(page)
    expect(cards).to_have_count(10)
    expect(page.get_by_test_id("foryou-note")).to_contain_text(
        "Picked for user 1 from the titles you rated highly"
    )
    for card, item in zip(cards.all(), answer["items"], strict=True):
        why = card.get_by_test_id("because")
        if item["because"]:
            names = ", ".join(title_case(b["title"]["title"]) for b in item["because"])
            expect(why).to_have_text(f"Because you liked {names}")
            expect(why.get_by_role("link")).to_have_count(len(item["because"]))
        else:
            expect(why).to_have_count(0)
    assert any(item["because"] for item in answer["items"])

    copied = api(base, "/titles/ns5")
    open_suggestion(page, copied["title"], title_case(copied["title"]))
    where = page.get_by_test_id("where")
    expect(where.get_by_test_id("also-on")).to_have_text(
        "Also on Prime Video ✓ one of your services"
    )
    expect(where.get_by_role("link", name="Prime Video: the same title there")).to_have_attribute(
        "href", "/?title=as5"
    )
    expect(similar_cards(page)).to_have_count(10)
    assert "as5" not in [c.get_attribute("data-title-id") for c in similar_cards(page).all()]


def test_unknown_user_gets_the_best_rated_titles(page: Page) -> None:
    """A viewer the model does not know is told they get the best-rated titles."""
    expect(picks(page)).to_have_count(10)
    switch_viewer(page, 9999)
    region = page.get_by_test_id("foryou")
    expect(region).to_have_attribute("data-user", "9999")
    expect(region).to_have_attribute("data-reason", "cold_start")
    expect(page.get_by_test_id("foryou-note")).to_have_text(
        "New here: the best-rated titles on all four services. "
        "Rate a few titles to get picks of your own."
    )
    expect(picks(page)).to_have_count(10)
    expect(picks(page).get_by_test_id("because")).to_have_count(0)


def test_the_page_signs_in_as_the_user_it_shows(browser: Browser, demo_stack) -> None:
    """make run's demo sign-in: no click for user 1, one for another; the viewer is remembered."""
    page, problems = open_page(browser, demo_stack.url, LAPTOP)
    try:
        expect(page.get_by_test_id("sign-in")).to_have_text("Signed in as user 1 (demo)")
        switch_viewer(page, 9)
        expect(page.get_by_test_id("sign-in")).to_have_text("Signed in as user 9 (demo)")
        expect(page.get_by_test_id("foryou")).to_have_attribute("data-user", "9")
        expect(page.get_by_test_id("foryou-note")).to_contain_text("user 9")
        expect(picks(page)).to_have_count(10)
        page.reload()
        expect(page.get_by_test_id("sign-in")).to_have_text("Signed in as user 9 (demo)")
        expect(page.get_by_test_id("foryou")).to_have_attribute("data-user", "9")
        assert problems == []
    finally:
        page.context.close()
    fresh, problems = open_page(browser, demo_stack.url, LAPTOP)
    try:
        expect(fresh.get_by_test_id("sign-in")).to_have_text("Signed in as user 1 (demo)")
        assert problems == []
    finally:
        fresh.context.close()


def test_without_the_demo_sign_in_the_page_asks_to_sign_in(page: Page, demo_stack) -> None:
    """A deployment has no /auth/demo: the personal parts ask to sign in (popular titles meanwhile),
    the rest works, and a pasted token signs in."""
    page.route("**/auth/demo", lambda route: route.fulfill(status=404, json={"detail": "no"}))
    page.evaluate("sessionStorage.clear()")
    page.reload()
    expect(page.get_by_test_id("sign-in")).to_have_text("Viewer Not signed in")
    region = page.get_by_test_id("foryou")
    expect(region.get_by_test_id("sign-in-needed")).to_contain_text("Sign in to see this")
    popular = api(demo_stack.url, "/recommendations/popular", n=10)
    expect(region.get_by_role("heading", name="Popular on all four services")).to_be_visible()
    expect(picks(page)).to_have_count(10)
    assert [c.get_attribute("data-title-id") for c in picks(page).all()] == [
        i["title_id"] for i in popular["items"]
    ]

    page.goto(demo_stack.url + "/?title=ns5")
    expect(page.get_by_test_id("verdict").get_by_test_id("sign-in-needed")).to_be_visible()
    expect(similar_cards(page)).to_have_count(10)  # anyone may see what is alike
    page.get_by_test_id("tab-explore").click()
    section = ask(page, "Titles on a platform", platform="netflix")
    expect(section.get_by_test_id("answer")).to_contain_text("Netflix has 150 titles.")

    page.get_by_test_id("sign-in").click()
    dialog = page.get_by_test_id("viewer-dialog")
    expect(dialog.get_by_label("User id")).to_be_hidden()  # no demo sign-in to use it with
    dialog.get_by_text("Sign in with a token").click()
    dialog.get_by_label("Bearer token").fill(demo_stack.token(5))
    dialog.get_by_role("button", name="Use this token").click()
    expect(page.get_by_test_id("sign-in")).to_have_text("Signed in as user 5")
    page.get_by_test_id("tab-home").click()
    expect(page.get_by_test_id("foryou")).to_have_attribute("data-user", "5")
    expect(picks(page)).to_have_count(10)


def test_rating_a_title_posts_the_viewers_rating(page: Page, demo_stack) -> None:
    """Rate it: stars by keyboard, one POST /ratings with the viewer's token, a sentence back.
    (Answered in the browser: the demo database is shared, so nothing is written to it; the walk
    in test_page_walk.py rates for real.)"""
    posted: list[dict[str, Any]] = []

    def fake(route: Any) -> None:
        posted.append({"body": route.request.post_data_json, **route.request.headers})
        rating = route.request.post_data_json
        route.fulfill(
            status=201,
            json={
                **rating,
                "seq": 1,
                "rated_at": "2026-01-01T00:00:00Z",
                "source": "api",
                "replaced": len(posted) > 1,
            },
        )

    page.route("**/ratings", fake)
    page.goto(demo_stack.url + "/?title=ns5")
    form = page.get_by_test_id("rate-form")
    form.get_by_role("button", name="Save my rating").click()
    expect(page.get_by_test_id("rate-status")).to_have_text("Choose from 1 to 5 stars first.")
    form.locator('label[for="rate-3"]').click()  # the star a person clicks
    expect(form.get_by_role("radio", name="3 stars")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(form.get_by_role("radio", name="4 stars")).to_be_checked()
    form.get_by_role("button", name="Save my rating").click()
    expect(page.get_by_test_id("rate-status")).to_have_text(
        "Saved: 4 stars. Your picks take it into account."
    )
    assert posted[0]["body"] == {"user_id": 1, "title_id": "ns5", "rating": 4}
    assert posted[0]["authorization"].startswith("Bearer ")
    form.get_by_role("radio", name="4 stars").focus()
    page.keyboard.press("ArrowRight")
    expect(form.get_by_role("radio", name="5 stars")).to_be_checked()
    form.get_by_role("button", name="Save my rating").click()
    expect(page.get_by_test_id("rate-status")).to_have_text(
        "Changed: you now rate it 5 stars. Your picks take it into account."
    )


# -- Explore ---------------------------------------------------------------------------------


def test_catalogue_questions_answer_readably(page: Page, demo_stack) -> None:
    """Explore has its own tab: counts and the longest title come back as sentences and a
    definition list; the longest title links to its page; the report is one click away."""
    page.get_by_test_id("tab-explore").click()
    expect(page).to_have_url(re.compile(r"/\?tab=explore$"))
    expect(page.get_by_test_id("tab-explore")).to_have_attribute("aria-current", "page")
    # Each question is answered as it stands on arrival.
    expect(page.get_by_test_id("answer")).to_have_count(4)
    for answer in page.get_by_test_id("answer").all():
        expect(answer).to_have_attribute("data-query", re.compile("get_"))
    section = ask(page, "Titles on a platform", platform="disney")
    expect(section.get_by_test_id("answer")).to_contain_text("Disney+ has 150 titles.")
    section = ask(page, "Titles on a platform", platform="netflix")
    result = section.get_by_test_id("answer")
    expect(result).to_contain_text("Netflix has 150 titles.")
    expect(result.get_by_role("term")).to_have_text(["Platform", "Titles"])
    expect(result.get_by_role("definition")).to_have_text(["Netflix", "150"])

    longest = api(demo_stack.url, "/get_max_duration")
    section = ask(page, "The longest title", platform="")
    result = section.get_by_test_id("answer")
    expect(result).to_have_attribute("data-query", "get_max_duration")
    expect(result).to_contain_text(
        f"The longest is {title_case(longest['title'])}: {longest['duration_int']} min."
    )
    expect(result).not_to_contain_text("{")
    year = api(demo_stack.url, "/titles", platform="netflix", limit=1)["items"][0]["release_year"]
    score = api(demo_stack.url, "/get_score_count", platform="netflix", scored=3.5, year=year)
    section = ask(page, "Titles rated above a score", year=str(year))
    verb = "has" if score["count"] == 1 else "have"
    noun = "title" if score["count"] == 1 else "titles"
    expect(section.get_by_test_id("answer")).to_contain_text(
        f"{score['count']} Netflix {noun} from {year} {verb} a mean rating above 3.5."
    )
    expect(page.get_by_test_id("report-link")).to_have_attribute("href", "/report")

    result = page.get_by_role("region", name="The longest title").get_by_test_id("answer")
    result.get_by_role("link", name=f"Open {title_case(longest['title'])}").click()
    expect(page.get_by_test_id("title-heading")).to_have_text(title_case(longest["title"]))


def test_errors_are_shown_as_sentences(page: Page, demo_stack) -> None:
    """404 shows its detail, 422 its message, a dead network a plain sentence; never raw JSON;
    a link to a title that does not exist, or is no title id, says so."""
    page.goto(demo_stack.url + "/?tab=explore")
    section = page.get_by_role("region", name="The busiest actor of a year")
    alert = section.get_by_test_id("answer-error")
    result = section.get_by_test_id("answer")
    expect(alert).to_have_attribute("role", "alert")

    ask(page, "The busiest actor of a year", platform="hulu", year="1901")
    expect(alert).to_contain_text("no titles match platform=hulu, year=1901")
    expect(result).to_be_empty()

    status, body = api_error(demo_stack.url, "/get_actor", platform="hulu", year=3000)
    assert status == 422
    ask(page, "The busiest actor of a year", year="3000")
    expect(alert).to_contain_text(body["message"])
    expect(alert).to_contain_text("(allowed: from 1900 to 2100)")
    expect(alert).not_to_contain_text("{")
    expect(alert).not_to_contain_text("less_than_equal")  # the machine-readable part stays out
    screenshot(section, "page-error", full_page=False)

    def is_get_actor(url: str) -> bool:
        return "/get_actor?" in url

    page.route(is_get_actor, lambda route: route.abort())
    ask(page, "The busiest actor of a year", year="2019")
    expect(alert).to_contain_text("The service cannot be reached")
    page.unroute(is_get_actor)

    page.goto(demo_stack.url + "/?title=ns999999")
    missing = page.get_by_test_id("title-page").get_by_test_id("error")
    expect(missing).to_contain_text("No such title")
    expect(missing).to_contain_text("no title has id 'ns999999'")
    expect(page).to_have_title("Title not found · streamrec")
    page.goto(demo_stack.url + "/?title=<script>")
    expect(page.get_by_test_id("title-page").get_by_test_id("error")).to_contain_text(
        "This link does not name a title"
    )


def release(page: Page, held: list[Any]) -> None:
    """Let the held requests go on, once the page has made at least one (within 10 s)."""
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked"
    for route in held:
        route.continue_()


def test_while_answers_are_on_their_way_the_page_shows_placeholders(page: Page) -> None:
    """Loading is designed too: card-shaped placeholders, busy for assistive technology, with
    words a screen reader says; then the answer replaces them."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)  # answered below, once the placeholders have been looked at

    page.route(lambda url: "/recommendations?" in url, hold)
    page.reload()
    region = page.get_by_test_id("foryou")
    expect(region).to_have_attribute("aria-busy", "true")
    expect(region.locator(".card--skeleton")).to_have_count(10)
    expect(region).to_contain_text("Loading your picks…")
    screenshot(page, "page-loading-laptop", full_page=False)
    release(page, held)
    expect(picks(page)).to_have_count(10)
    expect(region).not_to_have_attribute("aria-busy", "true")

    page.route(lambda url: url.endswith("/titles/ns5"), hold)
    held.clear()
    page.goto(page.url.split("?")[0] + "?title=ns5")
    expect(page.get_by_test_id("title-page")).to_contain_text("Loading the title…")
    expect(page.get_by_test_id("title-heading")).to_be_hidden()
    release(page, held)
    expect(page.get_by_test_id("title-heading")).to_have_text("Synthetic Echo Signal 5")


def test_degraded_answers_and_a_missing_model_are_explained(page: Page) -> None:
    """Cards without details say so, and a 503 from /model reads as "no model yet"."""
    # Faked in the browser: stopping the session's real catalog would break the other tests.
    degraded = {
        "user_id": 1,
        "reason": "model",
        "items": [{"title_id": "ns1", "score": 4.2, "title": None, "because": []}],
        "degraded": True,
    }

    def is_picks(url: str) -> bool:
        return "/recommendations?" in url

    page.route(is_picks, lambda route: route.fulfill(json=degraded))
    page.route(
        lambda url: url.endswith("/model"),
        lambda route: route.fulfill(status=503, json={"detail": "no model is loaded yet"}),
    )
    page.reload()

    expect(page.get_by_test_id("model-info")).to_contain_text("No model yet")
    card = picks(page)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("ns1")
    expect(card).to_contain_text("title details unavailable")
    expect(card.get_by_test_id("card-score")).to_have_text("4.20 / 5 predicted")
    expect(page.get_by_test_id("foryou-note")).to_contain_text("title details unavailable")

    page.unroute(is_picks)
    page.route(
        is_picks,
        lambda route: route.fulfill(status=503, json={"detail": "recommender unavailable"}),
    )
    page.get_by_test_id("services-button").click()
    page.get_by_role("checkbox", name="Hulu").uncheck()  # any change asks again
    page.get_by_role("button", name="Done").click()
    error = page.get_by_test_id("foryou").get_by_test_id("error")
    expect(error).to_have_text(re.compile("Temporarily unavailable.*recommender unavailable"))
    expect(error.get_by_role("button", name="Try again")).to_be_visible()


# -- links, history and the keyboard ---------------------------------------------------------


def test_every_state_has_a_link_and_back_and_forward_move_through_them(
    browser: Browser, demo_stack
) -> None:
    """/?q=, /?title= and /?tab=explore are the states; each reloads and opens in a fresh
    browser as it was; back and forward move through them."""
    page, problems = open_page(browser, demo_stack.url, LAPTOP)
    base = demo_stack.url
    try:
        expect(picks(page)).to_have_count(10)
        search_for(page, "synthetic")
        expect(page).to_have_url(f"{base}/?q=synthetic")
        first = results(page).first
        first_id = first.get_attribute("data-title-id")
        first_name = first.get_by_role("heading").inner_text()
        first.get_by_role("link").first.click()
        expect(page).to_have_url(f"{base}/?title={first_id}")
        expect(page.get_by_test_id("title-heading")).to_have_text(first_name)
        page.get_by_test_id("tab-explore").click()
        expect(page).to_have_url(f"{base}/?tab=explore")

        page.go_back()
        expect(page.get_by_test_id("title-heading")).to_have_text(first_name)
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("Results for “synthetic”")
        expect(results(page).first).to_have_attribute("data-title-id", first_id)
        expect(search_box(page)).to_have_value("synthetic")
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("For you")
        page.go_forward()
        expect(page.get_by_role("heading", level=1)).to_have_text("Results for “synthetic”")
        page.go_forward()
        expect(page.get_by_test_id("title-heading")).to_have_text(first_name)
        # The title page's own Back button, for the pages the app opened.
        page.get_by_role("button", name="← Back").click()
        expect(page).to_have_url(f"{base}/?q=synthetic")

        # Back lands where the viewer was on the long page, not at its top.
        far = results(page).nth(20)
        far.scroll_into_view_if_needed()
        where = page.evaluate("window.scrollY")
        assert where > 300
        far.get_by_role("link").first.click()
        expect(page.get_by_test_id("title-heading")).to_be_visible()
        assert page.evaluate("window.scrollY") < where
        page.go_back()
        answered(page)
        page.wait_for_function("y => Math.abs(window.scrollY - y) < 2", arg=where)

        page.goto(f"{base}/?title={first_id}")
        page.reload()
        expect(page.get_by_test_id("title-heading")).to_have_text(first_name)
        expect(page.get_by_role("button", name="← Back")).to_be_hidden()  # nothing to go back to
        assert problems == []
    finally:
        page.context.close()

    for path, heading in (
        (f"/?title={first_id}", first_name),
        ("/?q=synthetic", "Results for “synthetic”"),
        ("/?tab=explore", "Explore the catalogue"),
        ("/", "For you"),
    ):
        fresh, problems = open_page(browser, base, PHONE, path)
        try:
            expect(fresh.get_by_role("heading", level=1)).to_have_text(heading)
            assert problems == []
        finally:
            fresh.context.close()


def tab_to(page: Page, selector: str, key: str = "Tab", limit: int = 150) -> None:
    """Press Tab (or Shift+Tab) until the focus is on an element matching `selector`."""
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_page_works_from_the_keyboard_alone(page: Page, demo_stack) -> None:
    """No mouse: skip link, "/" to search, arrows and Enter to a title, Tab to "More like this",
    Shift+Tab to Back; the services dialog opens, toggles and closes by keyboard."""
    expect(picks(page)).to_have_count(10)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("/")
    expect(search_box(page)).to_be_focused()
    page.keyboard.type("synthetic echo")
    expect(suggestions(page)).to_have_count(8)
    page.keyboard.press("ArrowDown")
    first_id = suggestions(page).first.get_attribute("data-title-id")
    page.keyboard.press("Enter")
    heading = page.get_by_test_id("title-heading")
    expect(page).to_have_url(re.compile(rf"\?title={first_id}$"))
    expect(heading).to_be_focused()

    expect(similar_cards(page)).to_have_count(10)
    tab_to(page, '[data-testid="similar"] .card-link')
    target = page.evaluate("document.activeElement.closest('.card').dataset.titleId")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"\?title={target}$"))
    expect(heading).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="← Back")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"\?title={first_id}$"))

    tab_to(page, "#services-button", "Shift+Tab")
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("services-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="Prime Video")).to_be_focused()
    page.keyboard.press("Space")
    expect(dialog.get_by_role("checkbox", name="Prime Video")).not_to_be_checked()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("services-button")).to_contain_text("Disney+, Hulu, Netflix")
    expect(page.get_by_test_id("services-button")).to_be_focused()

    tab_to(page, '[data-testid="tab-explore"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    answer = page.get_by_role("region", name="Titles on a platform").get_by_test_id("answer")
    expect(answer).to_contain_text("Netflix has 150 titles.")  # answered on arrival
    tab_to(page, "#ask-count-platform")
    page.keyboard.press("h")  # a select takes the option that starts so
    expect(page.locator("#ask-count-platform")).to_have_value("hulu")
    tab_to(page, '[data-question="get_count_platform"] button[type=submit]')
    page.keyboard.press("Enter")
    expect(answer).to_contain_text("Hulu has 150 titles.")


# -- how it looks: both widths, every state, axe ----------------------------------------------


@pytest.mark.parametrize(("device", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_every_state_fits_the_screen_and_passes_axe(
    browser: Browser, demo_stack, device: str, viewport: dict[str, int]
) -> None:
    """Each state filled in fits the width, has every control labelled, and axe-core finds no
    serious or critical violation; each is kept as a screenshot."""
    page, problems = open_page(browser, demo_stack.url, viewport)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        expect(page.get_by_test_id("dataset-banner")).to_contain_text("Demo data")
        expect(picks(page)).to_have_count(10)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id)"""
        )
        assert unlabelled == []
        found["home"] = axe(page)
        screenshot(page, f"page-home-{device}")

        # The open suggestion list is the widest thing the page draws.
        search_box(page).fill("river")
        expect(suggestions(page)).to_have_count(8)
        no_horizontal_overflow(page, viewport["width"])
        found["suggestions"] = axe(page)
        screenshot(page, f"page-suggestions-{device}", full_page=False)
        search_box(page).press("Enter")
        shown(page, "search")
        expect(results(page).first).to_be_visible()
        no_horizontal_overflow(page, viewport["width"])
        found["search"] = axe(page)
        screenshot(page, f"page-search-{device}")

        page.goto(demo_stack.url + "/?title=ns5")
        expect(similar_cards(page)).to_have_count(10)
        expect(page.get_by_test_id("verdict")).to_contain_text("/ 5")
        no_horizontal_overflow(page, viewport["width"])
        found["title"] = axe(page)
        screenshot(page, f"page-title-{device}")

        page.get_by_test_id("services-button").click()
        expect(page.get_by_test_id("services-dialog")).to_be_visible()
        found["services"] = axe(page)
        screenshot(page, f"page-services-{device}", full_page=False)
        page.keyboard.press("Escape")

        page.get_by_test_id("tab-explore").click()
        section = ask(page, "Titles on a platform", platform="netflix")
        expect(section.get_by_test_id("answer")).to_contain_text("Netflix has 150 titles.")
        no_horizontal_overflow(page, viewport["width"])
        found["explore"] = axe(page)
        screenshot(page, f"page-explore-{device}")

        page.goto(demo_stack.url + '/?q="zebra quantum"')
        expect(page.get_by_test_id("search-results").get_by_test_id("empty")).to_be_visible()
        found["empty"] = axe(page)
        screenshot(page, f"page-empty-{device}", full_page=False)
        assert problems == []
    finally:
        page.context.close()
    record(
        f"axe-demo-{device}",
        {
            state: [(v["id"], v["impact"], len(v["nodes"])) for v in vs]
            for state, vs in found.items()
        },
    )
    assert {state: serious(vs) for state, vs in found.items() if serious(vs)} == {}


def test_the_api_docs_work_offline(browser: Browser, demo_stack) -> None:
    """Swagger UI from the gateway's own assets: no CDN, no script error, no CSP refusal."""
    page, problems = open_page(browser, demo_stack.url, LAPTOP, "/docs")
    try:
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        expect(page.get_by_text("/users/{user_id}/recommendations").first).to_be_visible()
        screenshot(page, "docs", full_page=False)
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
        screenshot(page, f"report-{device}")
        assert problems == []
    finally:
        context.close()
