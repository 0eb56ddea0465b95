"""The insights report (python -m loader.report): built on a slice of the real data, every figure
a valid PNG, and its key numbers equal to an independent pandas computation on the same files.
"""

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from common.db import engine_at
from common.reports import FACTS, FIGURES, PAGE
from loader.report.__main__ import main as report_main
from loader.report.build import ReportError, build
from loader.report.figures import FIGURES as FIGURE_NAMES
from tests import oracle
from tests.loading import copy_titles, load, query, write_ratings_slice

# Two ratings files, sliced: file 1 has no timestamps, file 7 has them.
SLICES = {"1.csv.gz": 30_000, "7.csv.gz": 20_000}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The facts (data-fact -> (exact value, shown text)) and inlined figures of a report."""

    def __init__(self, html: str):
        super().__init__()
        self.facts: dict[str, tuple[object, str]] = {}
        self.images: dict[str, bytes] = {}
        self._open: list[tuple[str, object]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-fact" in a:
            self._open.append((a["data-fact"], json.loads(a["data-value"])))
            self._text = ""
        if tag == "img" and "data-figure" in a:
            prefix = "data:image/png;base64,"
            assert a["src"].startswith(prefix), "a figure is not inlined"
            self.images[a["data-figure"]] = base64.b64decode(a["src"][len(prefix) :])

    def handle_data(self, data):
        if self._open:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open:
            name, value = self._open.pop()
            self.facts[name] = (value, self._text)


def build_report(url: str, out: Path, model_dir: Path | None = None):
    with engine_at(url, application_name="tests") as engine:
        return build(engine, out=out, model_dir=model_dir)


@pytest.fixture(scope="module")
def sliced(shared_data, tmp_path_factory) -> Path:
    """The four real catalogues and the first rows of two real ratings files."""
    folder = tmp_path_factory.mktemp("slice")
    copy_titles(shared_data / "titles", folder / "titles")
    (folder / "ratings").mkdir()
    for name, rows in SLICES.items():
        write_ratings_slice(shared_data / "ratings" / name, folder / "ratings" / name, rows)
    return folder


@pytest.fixture(scope="module")
def report(new_database, sliced, tmp_path_factory) -> tuple[Path, Page, str]:
    url = new_database()
    load(url, sliced / "titles", sliced / "ratings")
    out = tmp_path_factory.mktemp("report")
    built = build_report(url, out)
    assert built.page == out / PAGE
    html = built.page.read_text()
    return out, Page(html), url


@pytest.fixture(scope="module")
def expected(sliced) -> dict:
    """The same numbers, computed with pandas from the sliced files alone."""
    ratings = pd.concat(
        [pd.read_csv(sliced / "ratings" / name) for name in SLICES], ignore_index=True
    )
    titles = oracle.load_titles(sliced / "titles")
    per_title = ratings.groupby("movieId")["rating"].agg(["size", "mean", "sum"])
    per_user = ratings.groupby("userId").size()
    names = titles.set_index("id")["title"]

    most = per_title.reset_index().sort_values(["size", "movieId"], ascending=[False, True])
    best = per_title.reset_index().sort_values(
        ["mean", "size", "movieId"], ascending=[False, False, True]
    )
    damping = int(np.percentile(per_title["size"], 25))
    damped = (per_title["sum"] + damping * ratings["rating"].mean()) / (per_title["size"] + damping)
    top_damped = damped.reset_index().sort_values([0, "movieId"], ascending=[False, True])
    pairs = ratings.groupby(["userId", "movieId"])["rating"].agg(["size", "nunique"])
    repeated = pairs[pairs["size"] > 1]
    films = titles[titles["duration_type"] == "min"]

    numbers = {
        "titles": len(titles),
        "films": int((titles["type"] == "movie").sum()),
        "shows": int((titles["type"] == "tv show").sum()),
        "ratings": len(ratings),
        "users": ratings["userId"].nunique(),
        "mean_rating": ratings["rating"].mean(),
        "users_share_80": share_holding(per_user, 0.8),
        "titles_share_80": share_holding(per_title["size"], 0.8),
        "most_rated_id": most.iloc[0]["movieId"],
        "most_rated_title": names[most.iloc[0]["movieId"]],
        "most_rated_ratings": int(most.iloc[0]["size"]),
        "highest_scored_id": best.iloc[0]["movieId"],
        "highest_scored_mean": best.iloc[0]["mean"],
        "highest_scored_ratings": int(best.iloc[0]["size"]),
        "highest_damped_id": top_damped.iloc[0]["movieId"],
        "damping": damping,
        "duplicate_pairs": len(repeated),
        "duplicate_extra_rows": int((repeated["size"] - 1).sum()),
        "duplicate_pairs_differing": int((repeated["nunique"] > 1).sum()),
        "films_over_5h": int((films["duration_int"] > 300).sum()),
        "titles_without_duration": int(titles["duration_int"].isna().sum()),
        "title_std_of_means": float(np.std(per_title["mean"])),
        "user_ratings_median": float(np.median(per_user)),
        "user_ratings_max": int(per_user.max()),
    }
    for platform in oracle.FILES:
        for kind in ("movie", "tv show"):
            rows = titles[(titles["platform"] == platform) & (titles["type"] == kind)]
            numbers[f"titles_{platform}_{kind.replace(' ', '_')}"] = len(rows)
    return numbers


def share_holding(counts: pd.Series, fraction: float) -> float:
    """Busiest first: how many are needed to reach `fraction` of the total, as a share."""
    cumulative = counts.sort_values(ascending=False).cumsum()
    return int((cumulative < fraction * counts.sum()).sum() + 1) / len(counts)


def test_every_figure_is_a_valid_png_file_and_is_the_one_on_the_page(report):
    out, page, _ = report
    files = {p.stem: p.read_bytes() for p in (out / FIGURES).glob("*.png")}
    assert set(files) == set(FIGURE_NAMES), "a figure is missing (or unexpected)"
    for name, png in files.items():
        assert png.startswith(PNG_SIGNATURE), name
        with Image.open(out / FIGURES / f"{name}.png") as image:
            image.verify()
        with Image.open(out / FIGURES / f"{name}.png") as image:
            assert image.width >= 500 and image.height >= 200, (name, image.size)
        assert page.images[name] == png, f"{name}: the page shows a different picture"


def test_key_numbers_agree_with_pandas_on_the_same_slice(report, expected):
    _, page, _ = report
    facts = json.loads((report[0] / FACTS).read_text())
    for name, want in expected.items():
        got = page.facts[name][0] if name in page.facts else facts[name]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9), name
        else:
            assert got == want, name
    # What the page shows is the same number, formatted.
    assert page.facts["ratings"][1] == f"{expected['ratings']:,}"
    assert page.facts["users_share_80"][1] == f"{expected['users_share_80']:.1%}"
    # Titles are stored in lower case and shown as the web page shows them.
    shown_title = page.facts["most_rated_title"][1]
    assert shown_title.lower() == expected["most_rated_title"] and shown_title[0].isupper()


def test_missing_values_before_and_after_cleaning_agree_with_the_raw_files(report, sliced):
    _, page, _ = report
    titles = oracle.load_titles(sliced / "titles")
    checked = 0
    for platform, name in oracle.FILES.items():
        raw = pd.read_csv(sliced / "titles" / name, dtype=str, keep_default_na=False)
        rows = titles[titles["platform"] == platform]
        after = {
            "rating": 0,  # an empty maturity rating becomes g
            "duration": int(rows["duration_int"].isna().sum()),
            "cast": int((rows["cast_list"].map(len) == 0).sum()),
            "director": int(raw["director"].str.strip().isin(["", "None"]).sum()),
        }
        for column in raw.columns:
            before = int((raw[column].str.strip() == "").sum())
            shown = page.facts.get(f"missing_before:{name}:{column}")
            if before == 0 and column not in after:
                assert shown is None, f"{name}:{column} has nothing missing but is listed"
                continue
            if shown is not None:
                assert shown[0] == before, f"{name}:{column} before"
            if column in after and (before or after[column]):
                assert page.facts[f"missing_after:{name}:{column}"][0] == after[column], (
                    f"{name}:{column} after"
                )
                checked += 1
    assert checked >= 8
    # The headline case from the README: 295 durations were in the rating column.
    assert page.facts["repaired:hulu_titles.csv:duration_moved_from_rating"][0] == 292


def test_the_repairs_on_the_page_are_the_load_record(report):
    _, page, url = report
    recorded = query(
        url,
        "SELECT f.file, r.key, r.value::int FROM load_files f, jsonb_each_text(f.repairs) r"
        " WHERE f.load_id = (SELECT max(id) FROM loads)",
    )
    shown = {k: v for k, (v, _) in page.facts.items() if k.startswith("repaired:")}
    assert shown == {f"repaired:{file}:{rule}": n for file, rule, n in recorded}
    assert len(shown) >= 10


def test_the_outliers_are_shown_not_hidden(report):
    out, _, _ = report
    html = (out / PAGE).read_text()
    assert "Soothing Surf At Del Norte For Sleep Black Screen" in html  # 601 minutes
    assert "director was the word &#39;None&#39;" in html  # Amazon s5141
    assert "Testing Title - Parichey Is Using This Title" in html  # a 0-minute test entry


def test_a_report_without_ratings_or_model_leaves_those_parts_out(new_database, tmp_path):
    from tests.loading import write_tiny_catalogues

    url = new_database()
    load(url, write_tiny_catalogues(tmp_path / "titles"), None)
    built = build_report(url, tmp_path / "out", tmp_path / "no-models")
    html = built.page.read_text()
    page = Page(html)
    assert page.facts["titles"][0] == 12
    assert "ratings" not in page.facts and 'id="signal"' not in html
    assert {p.stem for p in built.figures} == set(page.images)
    assert "rating_values" not in page.images and "titles_per_platform" in page.images
    assert "No model to show: no model has been trained yet" in html


def test_the_model_section_shows_the_trainers_metrics(demo_db, demo_model, tmp_path):
    built = build_report(demo_db, tmp_path / "out", demo_model)
    page = Page(built.page.read_text())
    metadata = json.loads((demo_model / "current" / "metadata.json").read_text())
    models = metadata["evaluation"]["models"]
    for name in ("global_mean", "baseline_only", "svd"):
        assert page.facts[f"model_rmse:{name}"][0] == pytest.approx(models[name]["rmse"])
    assert "Synthetic data." in built.page.read_text()


def test_a_rebuilt_report_replaces_the_old_one_whole(report, new_database, tmp_path):
    out = tmp_path / "out"
    (out / FIGURES).mkdir(parents=True)
    (out / FIGURES / "from_an_older_version.png").write_bytes(PNG_SIGNATURE)
    _, _, url = report
    build_report(url, out)
    assert not (out / FIGURES / "from_an_older_version.png").exists()
    assert not list(out.rglob(".*.partial"))


def test_the_command_names_the_problem_and_exits_1(new_database, tmp_path, capsys):
    empty = new_database()
    assert report_main(["--database-url", empty, "--out", str(tmp_path / "r")]) == 1
    assert re.search(
        r"report: error: .*no streamrec tables; run python -m loader", capsys.readouterr().err
    )
    with pytest.raises(ReportError):
        build_report(empty, tmp_path / "r")
    unreachable = "postgresql://postgres@127.0.0.1:1/nowhere"
    assert report_main(["--database-url", unreachable, "--out", str(tmp_path / "r")]) == 1
    assert "report: error: database:" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_gateway_serves_the_latest_report(report, tmp_path):
    from tests.conftest import gateway_client

    out, page, _ = report
    with gateway_client(report_dir=out) as client:
        response = client.get("/report")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        # Inline styles and figures, no script at all, never in a frame.
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert 'data-fact="users_share_80"' in response.text
        assert client.head("/report").status_code == 200
        figure = client.get(f"/report/{FIGURES}/signal.png")
        assert figure.status_code == 200 and figure.content == page.images["signal"]
        assert client.get(f"/report/{FACTS}").json()["titles"] == 22_998
    with gateway_client(report_dir=tmp_path / "none") as client:
        missing = client.get("/report")
        assert missing.status_code == 404
        assert "python -m loader.report" in missing.json()["detail"]
        assert client.get(f"/report/{FIGURES}/signal.png").status_code == 404


@pytest.mark.parametrize(
    ("counts", "share"),
    [
        ([5, 5, 5, 5], 1.0),  # 80% of 20 is 16: all four are needed
        ([97, 1, 1, 1], 0.25),  # the busiest alone gives 97%
        ([50, 30, 10, 10], 0.5),  # exactly 80% with two
        ([1], 1.0),
    ],
)
def test_share_for_counts_the_busiest_first(counts, share):
    from loader.report.facts import share_for

    assert share_for(np.array(counts), 0.8) == share


def test_every_cleaning_rule_is_explained_on_the_report():
    from loader import clean

    sources = "".join(
        (Path(clean.__file__).parent / name).read_text() for name in ("clean.py", "load.py")
    )
    named = set(
        re.findall(
            r"""(?:Reject\(|\.add\(|_note\(repairs, |rejected\([^"]*)"([a-z_]+)\"""", sources
        )
    )
    named |= set(clean.RATING_RULES)
    assert len(named) >= 20
    assert named <= set(clean.RULE_EXPLANATIONS), named - set(clean.RULE_EXPLANATIONS)


def test_a_load_recorded_before_missing_values_were_kept_says_so(new_database, tmp_path):
    from tests.loading import write_tiny_catalogues

    url = new_database()
    load(url, write_tiny_catalogues(tmp_path / "titles"), None)
    query(url, "UPDATE load_files SET missing = NULL")
    html = build_report(url, tmp_path / "out").page.read_text()
    assert "predates the missing-value record" in html
    assert "missing_values" not in Page(html).images


def test_a_tiny_odd_data_set_still_gives_a_whole_report(new_database, tmp_path):
    """No films at all, two ratings of the same value, and a model folder from another
    trainer: every part degrades to what can be said, nothing raises."""
    from common.platforms import Platform
    from tests.loading import TITLES_HEADER

    titles = tmp_path / "titles"
    titles.mkdir()
    for platform in Platform:
        row = f"s1,TV Show,{platform.value} show,,,,,2020,TV-MA,2 Seasons,Dramas,A show.\r\n"
        (titles / platform.catalogue_file).write_text(TITLES_HEADER + row, newline="")
    ratings = tmp_path / "ratings"
    ratings.mkdir()
    (ratings / "1.csv").write_text("userId,rating,timestamp,movieId\n1,4.0,,as1\n2,4.0,,ns1\n")
    odd_model = tmp_path / "models" / "current"
    odd_model.mkdir(parents=True)
    (odd_model / "metadata.json").write_text('{"version": "x"}')
    url = new_database()
    load(url, titles, ratings)

    built = build_report(url, tmp_path / "out", tmp_path / "models")
    page = Page(built.page.read_text())
    assert page.facts["films"][0] == 0 and page.facts["ratings"][0] == 2
    assert page.facts["title_signal_z"][0] == 0.0
    assert "metadata.json lacks created_at, algorithm, params" in built.page.read_text()
    assert {p.stem for p in built.figures} == set(page.images) >= {"durations", "signal"}
