"""Before training: ratings posted through the API that look like flooding or shilling are set
aside for this training run, and reported. They stay stored, and still count for the user's own
picks (the service reads them); they only do not shape the model everybody is served.

- burst: the ratings of a user who posted BURST_RATINGS or more within BURST_SECONDS;
- identical_run: every API rating of a user with IDENTICAL_RATINGS or more of them, all of one
  value, posted within IDENTICAL_SECONDS (a script, not a viewer);
- new_account_pile_on: the ratings of a title by accounts the rating files do not know that
  rated at most NEW_ACCOUNT_RATINGS titles, when PILE_ON_ACCOUNTS or more such accounts rated
  it (made-up users lifting one title).
The thresholds are far from what people do: the busiest real users rate a few titles a minute.
"""

import numpy as np
import pyarrow as pa

BURST_RATINGS, BURST_SECONDS = 30, 60
IDENTICAL_RATINGS, IDENTICAL_SECONDS = 20, 3600
NEW_ACCOUNT_RATINGS, PILE_ON_ACCOUNTS = 3, 10
RULES = {
    "burst": f"{BURST_RATINGS} or more ratings by one user within {BURST_SECONDS} s",
    "identical_run": (
        f"{IDENTICAL_RATINGS} or more ratings by one user, all of one value, within "
        f"{IDENTICAL_SECONDS} s"
    ),
    "new_account_pile_on": (
        f"{PILE_ON_ACCOUNTS} or more accounts with no delivered ratings and at most "
        f"{NEW_ACCOUNT_RATINGS} API ratings, rating the same title"
    ),
}


def screen(table: pa.Table) -> tuple[pa.Table, dict]:
    """The ratings without the suspect API ones, and what was set aside, by rule."""
    from_api = table.column("from_api").to_numpy() == 1
    api = np.flatnonzero(from_api)
    report = {"api_ratings": len(api), "rules": RULES, "set_aside": dict.fromkeys(RULES, 0)}
    if len(api) == 0:
        return table, {**report, "users": 0, "titles": []}
    users = table.column("user_id").to_numpy()[api]
    titles = np.asarray(table.column("title_id").take(pa.array(api)).to_pylist())
    values = table.column("rating").to_numpy()[api]
    times = table.column("rated_at").to_numpy()[api]

    flagged = {
        "burst": _bursts(users, times),
        "identical_run": _identical_runs(users, values, times),
        "new_account_pile_on": _pile_ons(
            users, titles, np.unique(table.column("user_id").to_numpy()[~from_api])
        ),
    }
    suspect = np.zeros(len(api), dtype=bool)
    for rule, rows in flagged.items():
        report["set_aside"][rule] = int((rows & ~suspect).sum())  # each row counted once
        suspect |= rows
    keep = np.ones(table.num_rows, dtype=bool)
    keep[api[suspect]] = False
    targets, counts = np.unique(titles[suspect], return_counts=True)
    busiest = np.lexsort((targets, -counts))[:10]
    report |= {
        "users": len(np.unique(users[suspect])),
        "titles": [{"title_id": str(targets[k]), "ratings": int(counts[k])} for k in busiest],
    }
    return table.filter(pa.array(keep)) if suspect.any() else table, report


def _bursts(users: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Rows inside a window of BURST_SECONDS that holds BURST_RATINGS of one user's ratings."""
    order = np.lexsort((times, users))
    u, t = users[order], times[order]
    # A key that sorts by user, then time, with users far apart: windows never cross users.
    key = u.astype(np.float64) * 1e12 + t
    first = np.searchsorted(key, key - BURST_SECONDS, side="left")
    ends = np.flatnonzero(np.arange(len(key)) - first + 1 >= BURST_RATINGS)
    marks = np.zeros(len(key) + 1, dtype=np.int64)
    np.add.at(marks, first[ends], 1)  # every row from the window's first to its last
    np.add.at(marks, ends + 1, -1)
    inside = np.cumsum(marks[:-1]) > 0
    flagged = np.zeros(len(users), dtype=bool)
    flagged[order] = inside
    return flagged


def _identical_runs(users: np.ndarray, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    ids, group, counts = np.unique(users, return_inverse=True, return_counts=True)
    low = np.full(len(ids), np.inf)
    high = np.full(len(ids), -np.inf)
    np.minimum.at(low, group, values)
    np.maximum.at(high, group, values)
    first = np.full(len(ids), np.inf)
    last = np.full(len(ids), -np.inf)
    np.minimum.at(first, group, times)
    np.maximum.at(last, group, times)
    scripted = (counts >= IDENTICAL_RATINGS) & (low == high) & (last - first <= IDENTICAL_SECONDS)
    return scripted[group]


def _pile_ons(users: np.ndarray, titles: np.ndarray, known_users: np.ndarray) -> np.ndarray:
    ids, group, counts = np.unique(users, return_inverse=True, return_counts=True)
    new = ~np.isin(ids, known_users) & (counts <= NEW_ACCOUNT_RATINGS)
    fresh = new[group]
    names, title_group = np.unique(titles, return_inverse=True)
    accounts = np.bincount(title_group[fresh], minlength=len(names))
    return fresh & (accounts[title_group] >= PILE_ON_ACCOUNTS)
