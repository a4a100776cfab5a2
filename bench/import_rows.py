"""`make bench-import`: `setupmon import` of a 100,000-row EDGE export against a fresh broker.

The export is generated in a temporary directory (never the repo): 5,000 studies with 20
sites each from the sample registry, dates in the last year, about five milestones a row
(some sites not yet open or recruiting), in the forms EDGE exports use. Timed phases, in
this process with the command's own functions: read the file, read its rows into
milestones, read the ledger (empty), plan, publish (events, then the ledger); then the
whole command again in a subprocess on the same file, which must publish nothing (it reads
the 100,000-row file and a ledger of every cell it published).

    SETUPMON_BOOTSTRAP_SERVERS=127.0.0.1:29092 .venv/bin/python -m bench.import_rows [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from core.settings import Settings
from importer.mapping import load_mapping
from importer.plan import plan_import
from importer.rows import read_milestones
from importer.tables import read_table
from setupmon.importing import publish_plans, read_ledger
from setupmon.sites import read_sites

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "deploy" / "sites" / "sample-sites.csv"
SITES_PER_STUDY = 20
LABELS = [
    "NIHR Portfolio Study ID", "IRAS Number", "Short Title", "Site ODS Code", "Site Name",
    "Date site invited", "Date site selected", "Date site confirmed by Sponsor",
    "Date site confirmed", "Open to recruitment", "First patient consented",
    "First patient recruited",
]  # fmt: skip


def write_export(path: Path, rows: int, today: date, seed: int = 12) -> None:
    """A deterministic EDGE export of `rows` site records."""
    chooser = random.Random(seed)  # noqa: S311 - test data, not secrets
    site_ids = [site.site_id for site in read_sites(SITES)]
    forms = ("{:%d/%m/%Y}", "{:%Y-%m-%d}", "{:%d/%m/%Y} 00:00")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABELS)
        for n in range(rows):
            study = 70000 + n // SITES_PER_STUDY
            site = site_ids[(n * 7 + study) % len(site_ids)]
            day = today - timedelta(chooser.randint(120, 360))
            dates: list[date | None] = []
            for step, gap in enumerate((0, 20, 25, 30, 10, 30, 3)):
                day = day + timedelta(chooser.randint(gap // 2, gap * 2))
                stop = {4: 0.3, 5: 0.5}.get(step, 0.0)  # not yet open / recruiting
                if day > today or chooser.random() < stop or (dates and dates[-1] is None):
                    dates.append(None)
                else:
                    dates.append(day)
            dates[2] = None if n % 3 else dates[2]  # the sponsor's date is often left blank
            cells = ["" if d is None else forms[(n + i) % 3].format(d) for i, d in enumerate(dates)]
            writer.writerow(
                [study, 1100000 + study, f"Study {study}", site, f"Site {site}", *cells]
            )


def timed(label: str, started: float, rows: int, events: int | None = None) -> float:
    seconds = time.monotonic() - started
    rates = f"{rows / seconds:,.0f} rows/s" + (
        f", {events / seconds:,.0f} events/s" if events is not None else ""
    )
    print(f"  {label:<38} {seconds:7.2f} s   {rates}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    base = Settings.from_env()
    settings = replace(base, topic_prefix=f"bench-import-{uuid.uuid4().hex[:8]}")
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="setupmon-bench-import-") as folder:
        export = Path(folder) / "edge-export.csv"
        started = time.monotonic()
        write_export(export, args.rows, now.date() - timedelta(1))
        print(
            f"generated {export.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows "
            f"in {time.monotonic() - started:.1f} s; broker {settings.bootstrap_servers}, "
            f"topics {settings.topic_prefix}.*",
            flush=True,
        )
        mapping = load_mapping("edge")
        first = total = time.monotonic()
        table = read_table(export)
        timed("read the CSV", first, args.rows)
        started = time.monotonic()
        read = read_milestones(table, mapping, now)
        if read.problems:
            raise SystemExit(f"the generated export has problems: {read.problems[:5]}")
        timed(f"rows to milestones ({len(read.milestones):,} cells)", started, args.rows)
        started = time.monotonic()
        ledger = asyncio.run(read_ledger(settings))
        timed("read the ledger (empty)", started, args.rows)
        started = time.monotonic()
        plan = plan_import(read, ledger, now)
        timed(f"plan ({plan.events:,} events)", started, args.rows, plan.events)
        started = time.monotonic()
        published = asyncio.run(publish_plans(settings, [plan]))
        timed("publish events, then the ledger", started, args.rows, published.events)
        timed("whole import", total, args.rows, published.events)

        print("the same file again, `setupmon import` in a subprocess:", flush=True)
        env = {**os.environ, "SETUPMON_TOPIC_PREFIX": settings.topic_prefix}
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "setupmon.cli", "import", "--mapping", "edge", str(export),
             "--recorded-at", now.isoformat()],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        timed("rerun: read, ledger, plan, publish none", started, args.rows)
        last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"  {last}")
        if result.returncode != 0 or "published 0 events" not in last:
            print(result.stderr, file=sys.stderr)
            raise SystemExit("the rerun published something or failed")


if __name__ == "__main__":
    main()
