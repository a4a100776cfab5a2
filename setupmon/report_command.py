"""`setupmon report` (a board report as HTML and PDF) and `setupmon publish` (open data as CSV
and JSON), issue 13. Both read an events file (`--events`, no broker) or the broker's topics."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from core.errors import InputError
from events.validation import DATE_PATTERN
from reports.scope import Scope

REPORT_DESCRIPTION = """\
Compliance with the set-up KPIs over a period, against the previous period, the region and
England; monthly trends; distributions; every study that missed or is breached now; data
timeliness. Writes report-<scope>-<from>-<to>.html and .pdf in --out (replacing files of
the same name; the PDF needs Chromium: `make report-tools`)."""

PUBLISH_DESCRIPTION = """\
Writes site-performance.csv/.json (per site and site-level KPI: the clocks that stopped in
the period, and the clocks open at its end), study-setup-times.csv/.json (per study that ran
in the period: its study-level clocks as at the period end), aggregate.csv/.json (per
study-level KPI) and the column dictionary (columns.json, columns.md) in --out, replacing
files of the same name. Every row names its period. No personal data; sponsor IDs only with
--with-sponsors."""

REPORT_HELP = """\
examples:
  setupmon report --site RF7 --from 2025-01-01 --to 2025-06-30      # from the broker's topics
  setupmon report --region London --events ev.jsonl --sites sites.csv  # a file, no broker
  setupmon report --events events.jsonl --out reports/              # England, last six months
"""


def _day(text: str) -> date:
    # date.fromisoformat also takes 20250301 and 2025-W10-1; the contract says YYYY-MM-DD.
    if not DATE_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="start",
        type=_day,
        metavar="YYYY-MM-DD",
        help="first day of the period (default: the six full calendar months before this "
        "month; from the broker, before the month of the workers' as-of day)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=_day,
        metavar="YYYY-MM-DD",
        help="last day of the period, included (default: the end of last month, or today "
        "with a --from in this month); not after today (from the broker: the workers' "
        "as-of day)",
    )
    parser.add_argument(
        "--events",
        type=Path,
        metavar="FILE.jsonl",
        help="milestone events to evaluate as `setupmon evaluate` does (default: read the "
        "broker's study-status, sites and milestones topics, SETUPMON_* settings)",
    )
    parser.add_argument(
        "--sites",
        type=Path,
        metavar="FILE.csv",
        help="site registry CSV (`setupmon sites load` format) for names and regions. With "
        "--events and no --sites, sites are shown by ODS code, region 'unknown', and "
        "--region is refused (deploy/sites/sample-sites.csv is a synthetic sample, not "
        "real trusts). Default from the broker: its sites topic",
    )
    parser.add_argument(
        "--with-late-entries",
        action="store_true",
        help="with --events: also count milestones entered after the period's end (as a "
        "report from the broker does); default: only what was recorded by then, as "
        "`setupmon evaluate --as-of` shows",
    )
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DIR", help="default: .")


def add_report_parsers(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="a board report (HTML and PDF) for a trust, a region or England",
        description=REPORT_DESCRIPTION,
        epilog=REPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = report.add_mutually_exclusive_group()
    where.add_argument("--site", metavar="ODS", help="one trust (site ODS code)")
    where.add_argument("--region", metavar="NAME", help="one region (default: England)")
    _add_source_arguments(report)
    report.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    report.add_argument(
        "--max-rows",
        type=int,
        metavar="N",
        help="list at most N missed or breached clocks, most days over first (default: all "
        "for a trust, 200 for a region or England; 0: all); the counts are always whole",
    )
    report.add_argument(
        "--with-sponsors", action="store_true", help="name each study's sponsor ID in the tables"
    )
    report.set_defaults(handler=_run_report)

    publish = commands.add_parser(
        "publish",
        help="open data: site-level performance and study set-up times (CSV and JSON)",
        description=PUBLISH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_source_arguments(publish)
    publish.add_argument("--with-sponsors", action="store_true", help="add each study's sponsor ID")
    publish.set_defaults(handler=_run_publish)


def _scope(args: argparse.Namespace) -> Scope:
    if args.site:
        return Scope("site", args.site.strip().upper())
    if args.region:
        return Scope("region", args.region.strip())
    return Scope("england")


def _run_report(args: argparse.Namespace) -> int:
    from setupmon.reporting import Source, load, say_written, write_report

    scope = _scope(args)
    if scope.kind == "region" and args.events is not None and args.sites is None:
        # before the file is read: with no registry every site's region is "unknown"
        raise InputError(
            "--region needs the sites' regions: with --events, pass --sites FILE.csv "
            "(the site registry, `setupmon sites load` format)"
        )
    data, period = load(
        Source(args.events, args.sites, args.with_late_entries), args.start, args.end
    )
    written = write_report(
        data,
        scope,
        period,
        args.out,
        pdf=not args.no_pdf,
        with_sponsors=args.with_sponsors,
        max_rows=args.max_rows,
    )
    say_written(written)
    return 0


def _run_publish(args: argparse.Namespace) -> int:
    from setupmon.reporting import Source, load, say_written, write_publication

    data, period = load(
        Source(args.events, args.sites, args.with_late_entries), args.start, args.end
    )
    say_written(write_publication(data, period, args.out, with_sponsors=args.with_sponsors))
    return 0
