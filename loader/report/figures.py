"""The report's figures: one function per figure, each drawing from the facts alone."""

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no screen; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from loader.clean import FILLED_RATING
from loader.report.facts import CONCENTRATION, PLATFORMS, Facts, platform_of

# The platforms' own brand hues, darkened where needed to read on white.
COLOURS = {"amazon": "#00A8E1", "disney": "#113CCF", "hulu": "#1AA866", "netflix": "#E50914"}
NEUTRAL, RANDOM = "#4a5568", "#b0b7c3"
STYLE = {
    "figure.dpi": 100,
    # Sharp on high-density screens; the page shows them at their 100-dpi size.
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e2e8f0",
    "axes.axisbelow": True,
    "legend.frameon": False,
}
THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")


def _figure(width: float = 9, height: float = 4, **kwargs) -> tuple[Figure, object]:
    figure, axes = plt.subplots(figsize=(width, height), layout="constrained", **kwargs)
    return figure, axes


def _grid_across(ax) -> None:
    """Grid lines for horizontal bars: across the values, none between the bars."""
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)


def _legend(ax, **kwargs) -> None:
    """A legend, when something is labelled (a small data set may lack a platform or type)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def titles_per_platform(facts: Facts) -> Figure:
    table = facts.catalogue.by_platform_type.pivot(
        index="platform", columns="type", values="titles"
    )
    table = table.reindex(PLATFORMS).fillna(0)
    figure, ax = _figure(height=3.4)
    left = np.zeros(len(table))
    for kind, alpha in (("movie", 1.0), ("tv show", 0.45)):
        if kind not in table:
            continue
        values = table[kind].to_numpy()
        bars = ax.barh(
            table.index, values, left=left, color=[COLOURS[p] for p in table.index], alpha=alpha
        )
        ax.bar_label(bars, labels=[f"{v:,.0f}" if v else "" for v in values], label_type="center")
        left += values
    ax.invert_yaxis()
    _grid_across(ax)
    ax.xaxis.set_major_formatter(THOUSANDS)
    ax.set_title("Titles per platform: films (solid) and shows (pale)")
    ax.set_xlabel("titles")
    return figure


def release_years(facts: Facts) -> Figure:
    years = facts.catalogue.years
    figure, ax = _figure()
    for platform in PLATFORMS:
        rows = years[years["platform"] == platform]
        if not rows.empty:
            ax.plot(rows["release_year"], rows["titles"], color=COLOURS[platform], label=platform)
    latest = facts.catalogue.latest_added
    if latest is not None:
        ax.axvline(latest.year, color="#999", ls="--", lw=0.8)
        ax.annotate(
            f"catalogues captured up to {latest:%b %Y}",
            (latest.year, 1),
            xycoords=("data", "axes fraction"),
            ha="right",
            va="top",
            fontsize=8,
            color=NEUTRAL,
        )
    ax.set_title("Release years: titles released each year, by platform")
    ax.set_xlabel("release year")
    ax.set_ylabel("titles")
    _legend(ax)
    return figure


def durations(facts: Facts) -> Figure:
    figure, (films, shows) = _figure(height=3.8, ncols=2, width_ratios=[3, 2])
    minutes = facts.catalogue.film_minutes
    longest = int(minutes["minutes"].max()) if not minutes.empty else 0
    bins = np.arange(0, max(longest, 240) + 10, 10)
    for platform in PLATFORMS:
        values = minutes.loc[minutes["platform"] == platform, "minutes"]
        if not values.empty:
            films.hist(
                values, bins=bins, histtype="step", lw=1.6, color=COLOURS[platform], label=platform
            )
    films.set_yscale("log")
    films.set_title("Films: minutes (log count, so single films show)")
    films.set_xlabel("minutes")
    films.set_ylabel("films")
    _legend(films)
    seasons = facts.catalogue.seasons
    for platform in PLATFORMS:
        rows = seasons[seasons["platform"] == platform]
        if not rows.empty:
            counts = rows.set_index("seasons")["titles"]
            counts = counts.reindex(range(1, int(counts.index.max()) + 1), fill_value=0)
            edges = np.arange(0.5, len(counts) + 1)
            shows.stairs(counts.to_numpy(), edges, lw=1.6, color=COLOURS[platform], label=platform)
    shows.set_yscale("log")
    shows.set_ylim(bottom=0.7)
    shows.set_title("Shows: seasons (log count)")
    shows.set_xlabel("seasons")
    shows.set_ylabel("shows")
    _legend(shows)
    return figure


def genres(facts: Facts) -> Figure:
    table = facts.catalogue.genres
    figure, axes = _figure(width=10, height=6.5, nrows=2, ncols=2, sharex=True)
    for ax, platform in zip(axes.flat, PLATFORMS, strict=True):
        rows = table[table["platform"] == platform]
        ax.barh(rows["genre"], rows["share"], color=COLOURS[platform])
        ax.invert_yaxis()
        ax.set_title(platform)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _grid_across(ax)
        ax.tick_params(axis="y", labelsize=8.5)
    figure.suptitle(
        "Top genres: share of each platform's titles listed under the genre",
        x=0.01,
        ha="left",
        weight="bold",
    )
    return figure


def maturity(facts: Facts) -> Figure:
    table = facts.catalogue.maturity.pivot(index="rating", columns="platform", values="titles")
    table = table.reindex(columns=[p for p in PLATFORMS if p in table]).fillna(0)
    filled = pd.Series(facts.catalogue.filled_ratings).reindex(table.columns).fillna(0)
    if filled.any() and FILLED_RATING in table.index:
        # Shown apart: these titles had no maturity rating; "g" is the loader's stand-in.
        table.loc[FILLED_RATING] -= filled
        table.loc[f"(empty, loaded as {FILLED_RATING})"] = filled
    table = table.loc[table.sum(axis=1).sort_values(ascending=False).index]
    share = table / table.sum(axis=0)
    figure, ax = _figure(width=9, height=max(3.0, 0.28 * len(table) + 1.2))
    image = ax.imshow(share.to_numpy(), aspect="auto", cmap="Blues", vmin=0)
    ax.set_xticks(range(len(share.columns)), share.columns)
    ax.set_yticks(range(len(share.index)), share.index)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        if value:
            ax.text(
                j,
                i,
                f"{value:,.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share.iat[i, j] > 0.25 else "black",
            )
    figure.colorbar(
        image, ax=ax, format=PercentFormatter(1.0, decimals=0), label="share of the platform"
    )
    ax.set_title("Maturity ratings per platform (titles in the cells)")
    return figure


def countries(facts: Facts) -> Figure:
    table = facts.catalogue.countries.pivot(index="country", columns="platform", values="titles")
    table = table.reindex(columns=[p for p in PLATFORMS if p in table]).fillna(0)
    table = table.loc[table.sum(axis=1).sort_values().index]
    figure, ax = _figure(height=max(3.0, 0.3 * len(table) + 1))
    left = np.zeros(len(table))
    for platform in table:
        ax.barh(table.index, table[platform], left=left, color=COLOURS[platform], label=platform)
        left += table[platform].to_numpy()
    _grid_across(ax)
    ax.xaxis.set_major_formatter(THOUSANDS)
    _legend(ax, loc="lower right")
    ax.set_title("Countries: the most frequent producing countries (a title can list several)")
    ax.set_xlabel("titles")
    return figure


def missing_values(facts: Facts) -> Figure | None:
    if facts.load is None or facts.load.missing is None:
        return None
    table = facts.load.missing.query("kind == 'titles'")
    shown = table.groupby("column", sort=False)[["before", "after"]].sum()
    columns = list(shown.index[(shown["before"] > 0) | (shown["after"] > 0)])
    if not columns:
        return None
    figure, axes = _figure(
        width=10, height=max(3.5, 0.5 * len(columns) + 1.5), nrows=2, ncols=2, sharex=True
    )
    y = np.arange(len(columns))
    for ax, platform in zip(axes.flat, PLATFORMS, strict=True):
        rows = table[table["file"].map(platform_of) == platform].set_index("column")
        rows = rows.reindex(columns).fillna(0)
        total = max(rows["rows"].max(), 1)
        ax.barh(y - 0.2, rows["before"] / total, height=0.4, color=RANDOM, label="as delivered")
        ax.barh(y + 0.2, rows["after"] / total, height=0.4, color=NEUTRAL, label="after cleaning")
        ax.set_yticks(y, columns)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title(platform)
        _grid_across(ax)
    _legend(axes.flat[0], loc="lower right", fontsize=8)
    figure.suptitle(
        "Missing values per catalogue column: share of each platform's rows",
        x=0.01,
        ha="left",
        weight="bold",
    )
    return figure


def rating_values(facts: Facts) -> Figure | None:
    if facts.ratings is None:
        return None
    values = facts.ratings.values
    figure, ax = _figure(height=3.4)
    bars = ax.bar(values["rating"], values["ratings"], width=0.4, color=NEUTRAL)
    ax.bar_label(
        bars, labels=[f"{v / facts.ratings.total:.1%}" for v in values["ratings"]], fontsize=8
    )
    ax.set_xticks(values["rating"])
    ax.yaxis.set_major_formatter(THOUSANDS)
    whole = values.loc[values["rating"] % 1 == 0, "ratings"].sum() / facts.ratings.total
    ax.set_title(f"Rating values: {whole:.0%} are whole stars; mean {facts.ratings.mean:.3f}")
    ax.set_xlabel("rating")
    ax.set_ylabel("ratings")
    return figure


def long_tails(facts: Facts) -> Figure | None:
    if facts.ratings is None:
        return None
    r = facts.ratings
    figure, (hist, rank) = _figure(width=10, height=3.8, ncols=2)
    per_user, per_title = r.per_user, r.per_title["ratings"].to_numpy()
    top = max(per_user.max(), per_title.max(), 2)
    # Log-spaced bins over whole numbers, each bar divided by its width: a wider bin does not
    # make a bump of its own.
    edges = np.unique(np.round(np.logspace(0, np.log10(top + 1), 40))).astype(float)
    for counts, colour, label in (
        (per_user, NEUTRAL, f"users ({len(per_user):,})"),
        (per_title, COLOURS["netflix"], f"titles ({len(per_title):,})"),
    ):
        found, _ = np.histogram(counts, bins=edges)
        hist.stairs(found / np.diff(edges), edges, color=colour, lw=1.6, label=label)
    hist.set_xscale("log")
    hist.set_yscale("log")
    hist.set_title("Ratings per user and per title")
    hist.set_xlabel("ratings (log)")
    hist.set_ylabel("users or titles per rating count (log)")
    _legend(hist)
    for counts, colour, label in (
        (per_user, NEUTRAL, "users"),
        (per_title, COLOURS["netflix"], "titles"),
    ):
        ordered = np.sort(counts)[::-1]
        rank.loglog(np.arange(1, len(ordered) + 1), ordered, color=colour, label=label)
    rank.set_title("Long tail: ratings by rank (log-log)")
    rank.set_xlabel("rank, busiest first")
    rank.set_ylabel("ratings")
    _legend(rank)
    return figure


def concentration(facts: Facts) -> Figure | None:
    if facts.ratings is None:
        return None
    r = facts.ratings
    figure, ax = _figure(width=6.5, height=4.6)
    for counts, share, colour, label in (
        (r.per_user, r.users_share_80, NEUTRAL, "users"),
        (r.per_title["ratings"].to_numpy(), r.titles_share_80, COLOURS["netflix"], "titles"),
    ):
        ordered = np.sort(counts)[::-1]
        x = np.arange(1, len(ordered) + 1) / len(ordered)
        ax.plot(
            np.r_[0, x],
            np.r_[0, np.cumsum(ordered) / ordered.sum()],
            color=colour,
            label=f"{label}: {share:.1%} give/receive {CONCENTRATION:.0%}",
        )
        ax.plot([share, share], [0, CONCENTRATION], color=colour, ls=":", lw=1)
    ax.axhline(CONCENTRATION, color="#999", lw=0.8, ls="--")
    ax.plot([0, 1], [0, 1], color="#ccc", lw=0.8, label="perfectly even")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("share of users / titles, busiest first")
    ax.set_ylabel("share of all ratings")
    ax.set_title("Concentration of the ratings")
    _legend(ax, loc="lower right")
    return figure


def signal(facts: Facts) -> Figure | None:
    if facts.ratings is None:
        return None
    s = facts.ratings.signal
    figure, axes = _figure(width=10, height=3.8, ncols=2)
    for ax, observed, random, summary, label in (
        (axes[0], s.title_means, s.random_title_means, s.titles, "title"),
        (axes[1], s.user_means, s.random_user_means, s.users, "user"),
    ):
        low, high = np.percentile(np.r_[observed, random], [0.1, 99.9])
        if high - low < 1e-9:  # every mean the same: give the histogram some width
            low, high = low - 0.5, high + 0.5
        bins = np.linspace(low, high, 60)
        ax.hist(random, bins=bins, color=RANDOM, label="same ratings, assigned at random")
        ax.hist(
            observed, bins=bins, histtype="step", lw=1.8, color=COLOURS["netflix"], label="observed"
        )
        ax.set_title(
            f"Mean rating per {label}\nspread {summary['std_of_means']:.4f}, at random "
            f"{summary['random_std_of_means']:.4f} (z = {summary['z']:.1f})"
        )
        ax.set_xlabel(f"mean rating of a {label}")
        ax.set_ylabel(f"{label}s")
        _legend(ax, loc="upper left", fontsize=8)
    return figure


def extreme_durations(facts: Facts) -> Figure:
    minutes = facts.catalogue.film_minutes
    figure, ax = _figure(height=3.2)
    rng = np.random.default_rng(0)
    for i, platform in enumerate(PLATFORMS):
        values = minutes.loc[minutes["platform"] == platform, "minutes"].to_numpy()
        if len(values):
            ax.scatter(
                values,
                i + rng.uniform(-0.3, 0.3, len(values)),
                s=4,
                alpha=0.35,
                color=COLOURS[platform],
            )
    ax.axvline(300, color="#999", ls="--", lw=0.8)
    ax.set_yticks(range(len(PLATFORMS)), PLATFORMS)
    ax.invert_yaxis()
    _grid_across(ax)
    ax.set_xlabel("minutes (dashed: 5 hours)")
    over, zero = facts.oddities.films_over_5h, int((minutes["minutes"] == 0).sum())
    ax.set_title(f"Every film's length: {over:,} over 5 hours, {zero:,} at 0 minutes")
    return figure


def repairs(facts: Facts) -> Figure | None:
    if facts.load is None or facts.load.repairs.empty:
        return None
    table = facts.load.repairs.groupby(["action", "rule"])["rows"].sum().sort_values()
    figure, ax = _figure(height=max(2.5, 0.32 * len(table) + 1))
    labels = [
        f"{rule} ({action})" if action == "rejected" else rule for action, rule in table.index
    ]
    bars = ax.barh(
        labels,
        table.to_numpy(),
        color=[NEUTRAL if a == "repaired" else COLOURS["netflix"] for a, _ in table.index],
    )
    ax.bar_label(bars, labels=[f"{v:,}" for v in table.to_numpy()], fontsize=8, padding=2)
    ax.set_xscale("log")
    _grid_across(ax)
    ax.set_title("What the loader repaired (grey) and rejected (red), in rows")
    ax.set_xlabel("rows (log)")
    return figure


FIGURES: dict[str, Callable[[Facts], Figure | None]] = {
    "titles_per_platform": titles_per_platform,
    "release_years": release_years,
    "durations": durations,
    "genres": genres,
    "maturity": maturity,
    "countries": countries,
    "missing_values": missing_values,
    "repairs": repairs,
    "rating_values": rating_values,
    "long_tails": long_tails,
    "concentration": concentration,
    "extreme_durations": extreme_durations,
    "signal": signal,
}


def draw_all(facts: Facts) -> dict[str, bytes]:
    """name -> PNG bytes, for every figure the facts allow (no ratings, no ratings figures)."""
    drawn = {}
    with plt.rc_context(STYLE):
        for name, draw in FIGURES.items():
            figure = draw(facts)
            if figure is None:
                continue
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", metadata={"Software": None})
            plt.close(figure)
            drawn[name] = buffer.getvalue()
    return drawn
