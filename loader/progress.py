"""What a load did, file by file: progress while it runs, a summary table at the end."""

import sys
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# Every rule of a file keeps at most this many explained rows; the counts are always exact.
ISSUES_KEPT_PER_RULE = 10_000


@dataclass
class Issue:
    file: str
    line: int
    record: str | None
    action: str  # "repaired" or "rejected"
    rule: str
    detail: str


@dataclass
class FileReport:
    file: str
    kind: str
    sha256: str
    bytes: int
    rows_read: int = 0
    rows_loaded: int = 0
    rows_repaired: int = 0
    rows_rejected: int = 0
    repairs: Counter = field(default_factory=Counter)
    rejects: Counter = field(default_factory=Counter)
    # Empty fields per column as delivered, and nulls per column as loaded.
    missing_before: Counter = field(default_factory=Counter)
    missing_after: Counter = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)

    def missing(self, columns: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """column -> {"before": n, "after": n}, every column listed, zeros included."""
        return {
            c: {"before": self.missing_before[c], "after": self.missing_after[c]} for c in columns
        }

    def repaired(self, line: int, record: str | None, rules: list[tuple[str, str]]) -> None:
        self.rows_repaired += 1
        for rule, detail in dict(rules).items():
            self.repairs[rule] += 1
            self._keep(Issue(self.file, line, record, "repaired", rule, detail), self.repairs[rule])

    def rejected(self, line: int, record: str | None, rule: str, detail: str) -> None:
        self.rows_rejected += 1
        self.rejects[rule] += 1
        self._keep(Issue(self.file, line, record, "rejected", rule, detail), self.rejects[rule])

    def _keep(self, issue: Issue, count: int) -> None:
        if count <= ISSUES_KEPT_PER_RULE:
            self.issues.append(issue)


class LoadProgress:
    """A progress bar per file on a terminal; one plain line per step otherwise."""

    def __init__(self, *, quiet: bool = False):
        self.console = Console(stderr=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self._bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._task = None

    def __enter__(self) -> "LoadProgress":
        if self.live:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self._bar.stop()

    def step(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, highlight=False)

    def start_file(self, name: str, expected_rows: int | None) -> None:
        if self.live:
            self._task = self._bar.add_task(name, total=expected_rows)
        elif not self.quiet:
            print(f"loading {name} ...", file=sys.stderr, flush=True)

    def advance(self, rows: int) -> None:
        if self.live and self._task is not None:
            self._bar.advance(self._task, rows)

    def finish_file(self, report: FileReport) -> None:
        if self.live and self._task is not None:
            self._bar.update(self._task, total=report.rows_read, completed=report.rows_read)
        elif not self.quiet:
            print(
                f"  {report.file}: {report.rows_read:,} read, {report.rows_loaded:,} loaded, "
                f"{report.rows_repaired:,} repaired, {report.rows_rejected:,} rejected",
                file=sys.stderr,
                flush=True,
            )


def summary_table(files: list[FileReport], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("file", "read", "loaded", "repaired", "rejected"):
        table.add_column(name, justify="left" if name == "file" else "right")
    for f in files:
        table.add_row(
            f.file,
            *(f"{n:,}" for n in (f.rows_read, f.rows_loaded, f.rows_repaired, f.rows_rejected)),
        )
    totals = [
        sum(getattr(f, a) for f in files)
        for a in ("rows_read", "rows_loaded", "rows_repaired", "rows_rejected")
    ]
    table.add_section()
    table.add_row("total", *(f"{n:,}" for n in totals), style="bold")
    return table


def rules_table(files: list[FileReport]) -> Table | None:
    counts: Counter = Counter()
    for f in files:
        counts.update({("repaired", rule): n for rule, n in f.repairs.items()})
        counts.update({("rejected", rule): n for rule, n in f.rejects.items()})
    if not counts:
        return None
    table = Table(title="rows per rule (details in the load_issues table)", title_justify="left")
    table.add_column("action")
    table.add_column("rule")
    table.add_column("rows", justify="right")
    for (action, rule), n in sorted(counts.items()):
        table.add_row(action, rule, f"{n:,}")
    return table


def print_summary(files: list[FileReport], title: str) -> None:
    console = Console()
    console.print(summary_table(files, title))
    rules = rules_table(files)
    if rules is not None:
        console.print(rules)
