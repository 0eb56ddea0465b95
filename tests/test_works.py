"""One work, several platforms: the loader's matching of copies (loader/works.py)."""

import pytest

from loader.works import Copy, assign_works, normalise_title, same_person, same_work


def copy(
    id: str,
    title: str,
    year: int,
    *,
    type: str = "movie",
    directors: tuple[str, ...] = (),
    cast: tuple[str, ...] = (),
) -> Copy:
    platform = {"a": "amazon", "d": "disney", "h": "hulu", "n": "netflix"}[id[0]]
    return Copy(id, platform, type, title, year, directors, cast)


def test_the_issues_example_is_one_work_across_a_year():
    works = assign_works(
        [
            copy("as3191", "avatar: the last airbender", 2008, type="tv show"),
            copy("ns2520", "avatar: the last airbender", 2007, type="tv show"),
        ]
    )
    assert works == {"as3191": "as3191", "ns2520": "as3191"}


def test_a_title_with_and_without_a_leading_article_is_one_work():
    assert same_work(copy("as1", "The Chosen One", 2016), copy("ns9", "chosen one", 2016))
    assert normalise_title("The Pokémon Movie: Mewtwo!") == "pokemon movie mewtwo"
    assert normalise_title("Breakout (1975)") == "breakout"


def test_the_same_title_years_apart_is_a_remake_two_works():
    old, new = copy("as1", "the italian job", 1969), copy("ns2", "the italian job", 2003)
    assert not same_work(old, new)
    # Even a shared name does not stretch the years past three.
    assert not same_work(
        copy("as1", "scarface", 1932, directors=("howard hawks",)),
        copy("ns2", "scarface", 1936, directors=("howard hawks",)),
    )
    assert assign_works([old, new]) == {"as1": "as1", "ns2": "ns2"}


def test_a_film_and_a_show_of_one_name_are_two_works():
    assert not same_work(copy("as1", "fargo", 1996), copy("hs2", "fargo", 1996, type="tv show"))


def test_the_same_platform_never_holds_two_copies_of_one_work():
    assert not same_work(copy("as1", "home", 2016), copy("as2", "home", 2016))
    works = assign_works(
        [copy("as1", "home", 2016), copy("ns5", "home", 2016), copy("as2", "home", 2016)]
    )
    assert len({works["as1"], works["as2"]}) == 2  # the two Amazon titles stay apart
    assert works["ns5"] in (works["as1"], works["as2"])


def test_directors_spelt_differently_are_one_person_and_confirm_across_years():
    pairs = [
        ("john hancock", "john lee hancock"),
        ("xiaogang feng", "feng xiaogang"),
        ("a.l. vijay", "a. l. vijay"),
        ("chris bell", "christopher bell"),
        ("rob dipple", "robb dipple"),
        ("bruce smith", "bruce w. smith"),
    ]
    for a, b in pairs:
        assert same_person(a, b), (a, b)
    for a, b in [("john smith", "jane smith"), ("robert luketic", "lionsgate"), ("tim", "tom")]:
        assert not same_person(a, b), (a, b)
    # Three years apart counts only when the director confirms it.
    show = {"type": "tv show"}
    assert same_work(
        copy("as1", "the musketeers", 2016, cast=("tom burke", "santiago cabrera"), **show),
        copy("hs2", "the musketeers", 2014, cast=("santiago cabrera",), **show),
    )
    assert not same_work(
        copy("as1", "the musketeers", 2016, **show), copy("hs2", "the musketeers", 2014, **show)
    )


def test_different_directors_or_casts_contradict_unless_the_other_confirms():
    pari = copy("as1378", "pari", 2018, directors=("prosit roy",), cast=("anushka sharma",))
    other = copy("ns4192", "pari", 2018, directors=("syed atif ali",), cast=("junaid akhtar",))
    assert not same_work(pari, other)
    # Amazon names the studio as director of "killers"; the cast confirms it is one film.
    killers = copy("as9170", "killers", 2010, directors=("lionsgate",), cast=("ashton kutcher",))
    netflix = copy(
        "ns7205", "killers", 2010, directors=("robert luketic",), cast=("ashton kutcher",)
    )
    assert same_work(killers, netflix)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_a_work_is_named_after_its_first_title_whatever_the_input_order(order):
    copies = [
        copy("ns20", "tarzan", 1999, directors=("chris buck",)),
        copy("ds493", "tarzan", 1999, directors=("chris buck", "kevin lima")),
        copy("hs7", "tarzan", 1999),
    ]
    rotated = copies[order:] + copies[:order]
    assert set(assign_works(rotated).values()) == {"ds493"}


def test_the_strongest_evidence_wins_a_platforms_place():
    # Two Netflix titles could pair with the Amazon one: the confirmed pair is joined.
    works = assign_works(
        [
            copy("as1", "the boy", 2015, cast=("david morse",)),
            copy("ns1", "the boy", 2016),
            copy("ns2", "the boy", 2015, cast=("david morse", "rainn wilson")),
        ]
    )
    assert works["ns2"] == works["as1"] == "as1"
    assert works["ns1"] == "ns1"


def test_a_show_dated_by_its_first_and_by_its_latest_season_is_one_work():
    hulu = copy("hs1070", "criminal minds", 2005, type="tv show")
    netflix = copy("ns5413", "criminal minds", 2017, type="tv show")
    assert not same_work(hulu, netflix)  # without the seasons, twelve years is too far
    netflix = Copy(**{**vars(netflix), "seasons": 12})
    assert same_work(hulu, netflix)
    # Seasons do not stretch a film's years, nor a one-season show's.
    assert not same_work(
        copy("as1", "heat", 1995), Copy(**{**vars(copy("ns2", "heat", 2007)), "seasons": 12})
    )
    short = Copy(**{**vars(copy("ns9", "alone", 2019, type="tv show")), "seasons": 1})
    assert not same_work(copy("hs6", "alone", 2015, type="tv show"), short)
