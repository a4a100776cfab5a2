"""What `setupmon report` and `setupmon publish` do once their arguments are read: choose the
period, load the input, check the scope, and write the files (issue 13)."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from core.errors import InputError
from core.settings import Settings
from core.time import LiveCalendar
from reports import publication
from reports.figures import compute_report
from reports.html import render_html
from reports.inputs import ReportInput
from reports.scope import Period, Scope, default_period
from setupmon.report_browser import find_chromium, print_pdf
from setupmon.report_inputs import load_events_file, load_from_broker, sites_from_file, taken_back

SAMPLE_SITES = Path(__file__).resolve().parent.parent / "deploy" / "sites" / "sample-sites.csv"
# With --events and no --sites there is no registry: the sample above is synthetic (its names
# and regions are made up), and a trust's board paper must not carry them unasked.
NO_REGISTRY_NOTE = (
    "no --sites: sites are shown by their ODS code, region 'unknown' (pass --sites FILE.csv, "
    "the format of `setupmon sites load`, for names and regions)"
)


@dataclass(frozen=True)
class Source:
    """Where the figures come from: an events file (no broker) or the broker's topics."""

    events: Path | None
    sites: Path | None  # None: no registry for a file, the `sites` topic for the broker
    # a file only: count dates entered after the period's end, as a report from the broker does
    late_entries: bool = False


def period_of(start: date | None, end: date | None, today: date, today_is: str = "today") -> Period:
    """`--from`/`--to`: by default the last six full months before `today`'s month; with only
    `--to`, the six full months up to it; with only `--from`, up to the default end (or today).

    A period past `today` is refused: the clocks are known only up to it, so the months after
    would read "no clocks" and the open clocks would not be "at the period end"."""
    if end is not None and end > today:
        raise InputError(
            f"--to {end} is after {today_is} ({today}): the clocks are known only up to "
            f"{today}; pass --to {today} or earlier"
        )
    if start is not None and start > today:
        raise InputError(f"--from {start} is after {today_is} ({today}): nothing to report yet")
    default = default_period(today)
    if end is None:
        end = default.end if start is None or start <= default.end else today
    if start is None:
        start = default_period(end + timedelta(1)).start
    if start > end:
        raise InputError(f"--from {start} is after --to {end}")
    return Period(start, end)


def load(
    source: Source, start: date | None, end: date | None, notes: TextIO | None = None
) -> tuple[ReportInput, Period]:
    """The input and the period.

    From a file, the clocks are evaluated as of the period's last day knowing only what was
    recorded by then, as `evaluate --as-of` does; with `late_entries`, as of today and then
    taken back to the period's end. From the broker, the workers' clocks are taken back to
    the period's end, and "today" (for the default period, and the latest `--to`) is the
    workers' own as-of day, so a simulated calendar gets its own six months.
    """
    if start is not None and end is not None and start > end:  # before any broker is asked
        raise InputError(f"--from {start} is after --to {end}")
    if source.events is not None:
        today = LiveCalendar().today()
        period = period_of(start, end, today)
        sites = sites_from_file(source.sites) if source.sites is not None else {}
        if source.late_entries:
            data = load_events_file(source.events, today, sites, notes)
            data = taken_back(data, period.end)
        else:
            data = load_events_file(source.events, min(period.end, today), sites, notes)
        if source.sites is None:
            print(f"setupmon: {NO_REGISTRY_NOTE}", file=notes or sys.stderr)
            data = replace(data, source=f"{data.source}; no site registry (no --sites)")
        return data, period
    data = asyncio.run(load_from_broker(Settings.from_env(), source.sites))
    period = period_of(start, end, data.as_of, "the workers' as-of day")
    return taken_back(data, period.end), period


def check_scope(scope: Scope, data: ReportInput) -> None:
    """A scope the data knows: a site in the registry or with clocks, a registered region."""
    if scope.kind == "site":
        known = scope.value in data.sites or any(c.site_id == scope.value for c in data.clocks)
        if not known:
            raise InputError(f"unknown site {scope.value}: not in the site registry and no clocks")
    if scope.kind == "region":
        regions = sorted({site.region for site in data.sites.values()})
        if (scope.value or "").casefold() not in {region.casefold() for region in regions}:
            listed = ", ".join(regions) or (
                "none (no site is registered: `setupmon sites load FILE.csv`, or pass --sites)"
            )
            raise InputError(
                f"unknown region {scope.value!r}; the registry's regions are: {listed}"
            )


def scope_slug(scope: Scope) -> str:
    """The scope as a file name part: the ODS code, the region in lower case, or england."""
    if scope.value is None:
        return "england"
    if scope.kind == "site":
        return re.sub(r"[^A-Za-z0-9]+", "-", scope.value)
    return re.sub(r"[^a-z0-9]+", "-", scope.value.casefold()).strip("-") or "scope"


# Clocks listed by name in a region's or England's report: at simulator scale England has
# ~15,000 missed or breached clocks, which no board reads and Chromium cannot print (it gives
# up after a minute without a PDF). The counts stay whole; the trusts' reports list theirs.
WIDE_SCOPE_ROWS = 200


def listed_rows(scope: Scope, asked: int | None) -> int | None:
    """How many missed/breached clocks the page lists (None: all): as asked, else all for a
    trust and `WIDE_SCOPE_ROWS` for a region or England."""
    if asked is not None:
        return asked if asked > 0 else None
    return None if scope.kind == "site" else WIDE_SCOPE_ROWS


def write_report(
    data: ReportInput,
    scope: Scope,
    period: Period,
    out: Path,
    *,
    pdf: bool,
    with_sponsors: bool,
    max_rows: int | None = None,
) -> list[Path]:
    """The HTML report and (with `pdf`) its PDF in `out`; returns the paths written."""
    check_scope(scope, data)
    if pdf:
        find_chromium()  # before the work: a missing browser is known at once
    report = compute_report(data, scope, period, with_sponsors=with_sponsors)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{scope_slug(scope)}-{period.start}-{period.end}"
    html = out / f"{stem}.html"
    page = render_html(report, exception_rows=listed_rows(scope, max_rows))
    html.write_text(page, encoding="utf-8")
    written = [html]
    if pdf:
        print_pdf(html, out / f"{stem}.pdf")
        written.append(out / f"{stem}.pdf")
    return written


# -- publish ------------------------------------------------------------------------------

# output file stem -> its table in the column dictionary (`reports.publication.COLUMNS`)
PUBLISHED_TABLES = {
    "site-performance": "site_performance",
    "study-setup-times": "study_setup_times",
    "aggregate": "aggregate_setup_times",
}
IDENTIFYING = ("site_id", "study_id", "kpi")  # what rows are sorted by, where present


def write_publication(
    data: ReportInput, period: Period, out: Path, *, with_sponsors: bool
) -> list[Path]:
    """The open data of the period: CSV and JSON tables and the column dictionary.

    Every row says the period it covers (`period_start`, `period_end`, `as_of`), so a file
    copied out of `out` still does; each JSON file is the rows of its CSV. Every file is
    UTF-8 with sorted rows, so publishing the same data twice gives the same bytes; the CSVs
    have a header row in the column dictionary's order. Files already in `out` are replaced."""
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "site-performance": publication.site_performance(data, period),
        "study-setup-times": publication.study_setup_times(
            data, period, with_sponsors=with_sponsors
        ),
        "aggregate": publication.aggregate_rows(data, period),
    }
    written: list[Path] = []
    for stem, rows in tables.items():
        columns = _columns(PUBLISHED_TABLES[stem], rows, with_sponsors)
        rows = sorted(rows, key=_sort_key)
        written.append(_write_csv(out / f"{stem}.csv", columns, rows))
        written.append(_write_json(out / f"{stem}.json", [_plain_row(r, columns) for r in rows]))
    written.append(_write_json(out / "columns.json", publication.COLUMNS))
    written.append(_write_text(out / "columns.md", columns_markdown(publication.COLUMNS)))
    return written


def _columns(table: str, rows: Sequence[dict[str, object]], with_sponsors: bool) -> list[str]:
    documented = list(publication.COLUMNS[table])
    if not with_sponsors:
        documented = [name for name in documented if name != "sponsor_id"]
    extra = sorted({key for row in rows for key in row} - set(documented))
    if extra:  # never publish what the dictionary does not explain
        raise InputError(f"{table}: columns {', '.join(extra)} are not in the column dictionary")
    return documented


def _sort_key(row: dict[str, object]) -> tuple[str, ...]:
    return tuple(str(row.get(name) or "") for name in IDENTIFYING)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(_cell(item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _plain_row(row: dict[str, object], columns: list[str]) -> dict[str, object]:
    return {name: _plain(row.get(name)) for name in columns}


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(name)) for name in columns])
    return path


def _write_json(path: Path, value: object) -> Path:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=_plain)
    return _write_text(path, text + "\n")


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def columns_markdown(columns: dict[str, dict[str, str]]) -> str:
    """The column dictionary as a page a reader of the open data can follow."""
    lines = ["# Column dictionary", ""]
    for table, meanings in columns.items():
        lines += [f"## {table}", "", "| column | meaning |", "|---|---|"]
        lines += [
            f"| `{name}` | {meaning.replace('|', '/')} |" for name, meaning in meanings.items()
        ]
        lines.append("")
    return "\n".join(lines)


def say_written(paths: Sequence[Path]) -> None:
    for path in paths:
        print(path, file=sys.stdout)
