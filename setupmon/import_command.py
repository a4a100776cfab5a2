"""`setupmon import FILE...`: publish the milestones of EDGE or CPMS exports (issue 12)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

DESCRIPTION = """\
Publish the milestone dates of CSV or XLSX exports to <prefix>.milestones.

Mappings (--mapping) say which column holds which milestone:
  edge   an EDGE site-record export: "NIHR Portfolio Study ID", "Site ODS Code",
         "Date site invited", "Date site selected", "Date site confirmed",
         "Open to recruitment", "First patient consented", "First patient recruited"
  cpms   a CPMS study export: "Study ID", sponsor, "Short Title", Commercial, CTIMP, ATIMP,
         "Date added to portfolio", regulatory submission and approval, HRA approval
  PATH   your own TOML mapping for a differently labelled export (copy importer/mappings/
         edge.toml and change the labels)

recorded_at: every event carries the time the export was made (the file's modification
time, or --recorded-at). It decides which version of a date wins: a later export's date
corrects an earlier one, and an export older than what was already imported is refused.

What was published is kept in the ledger topic <prefix>.imports, so a rerun is safe:
the same file again publishes nothing; a date changed since is published as a correction,
a date cleared since as a retraction; studies and sites absent from a file are left alone.
If the broker fails mid-import, rerun the same command: it publishes what is missing.

A file with a bad row is refused whole, every problem listed by row and column, and
nothing is published (unless --skip-bad-rows). The header is the first row holding the
mapping's study ID column (title rows above it are skipped).
"""


def add_import_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import",
        help="publish the milestones of EDGE or CPMS exports (CSV or XLSX)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".csv or .xlsx export")
    parser.add_argument(
        "--mapping",
        required=True,
        metavar="edge|cpms|PATH",
        help="which export this is: a shipped mapping or a TOML mapping file",
    )
    parser.add_argument(
        "--source",
        metavar="NAME",
        help="the events' source instead of the mapping's (e.g. 'edge-kss:{site_id}')",
    )
    parser.add_argument(
        "--recorded-at",
        metavar="RFC3339",
        help="when the export was made, e.g. 2026-11-20T17:00:00Z (default: each file's "
        "modification time); never in the future nor before 1990",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be published (new, corrected, retracted, unchanged) and stop",
    )
    parser.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows of a file with bad ones, including rows an earlier "
        "import made stale (the bad ones are listed)",
    )
    parser.add_argument(
        "--sheet", metavar="NAME", help="the sheet of an .xlsx (default: the first)"
    )
    parser.set_defaults(handler=_run_import)


def _run_import(args: argparse.Namespace) -> int:
    from core.settings import Settings
    from setupmon.import_run import ImportRequest, parse_recorded_at, run_import

    # While the broker is away the client logs every retry; the command's own message says
    # what failed and what a rerun does.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    now = datetime.now(UTC)
    request = ImportRequest(
        files=list(args.files),
        mapping=args.mapping,
        source=args.source,
        recorded_at=None if args.recorded_at is None else parse_recorded_at(args.recorded_at, now),
        dry_run=args.dry_run,
        skip_bad_rows=args.skip_bad_rows,
        sheet=args.sheet,
    )
    return run_import(Settings.from_env(), request, sys.stdout, sys.stderr)
