"""The README's sample report: the simulator's national data as an events file, then an
England report, a trust's report, the open data and a screenshot (`make sample-report`).

    python -m bench.sample_report [--studies 2000] [--out .data/sample-report]
        [--site RF7] [--png docs/sample-report.png]

Prints how long each `setupmon report` took (a fresh process each, as a user runs it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from reports.scope import Period
from setupmon.report_browser import screenshot
from setupmon.simulator import plan_events
from setupmon.sites import read_sites

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "deploy" / "sites" / "sample-sites.csv"
# Fixed days, so the sample is the same whenever it is made: studies start through 2025 and
# into 2026; the report covers the second half of 2025 (the first half is "previous").
FIRST_DAY = date(2025, 1, 1)
SPAN_DAYS = 480
PERIOD = Period(date(2025, 7, 1), date(2025, 12, 31))


def write_events(path: Path, studies: int, seed: int) -> int:
    """The simulator's plan as JSON lines (malformed messages included, as a feed sends)."""
    site_ids = [site.site_id for site in read_sites(SITES)]
    planned = plan_events(
        site_ids, studies=studies, first_day=FIRST_DAY, span_days=SPAN_DAYS, seed=seed
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for item in planned:
            handle.write(item.value + b"\n")
    return len(planned)


def setupmon(*arguments: str) -> tuple[float, list[str]]:
    """One `setupmon` command in its own process: seconds taken and the paths it printed."""
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "setupmon.cli", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"setupmon {' '.join(arguments)} failed:\n{done.stderr}")
    return seconds, done.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / ".data" / "sample-report")
    parser.add_argument("--site", default="RF7", help="the trust of the trust report")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "sample-report.png")
    args = parser.parse_args()

    events = args.out / "sample-events.jsonl"
    count = write_events(events, args.studies, args.seed)
    print(f"{events}: {count:,} messages, {args.studies:,} studies at {SITES.name}'s sites")
    period = ["--from", PERIOD.start.isoformat(), "--to", PERIOD.end.isoformat()]
    source = ["--events", str(events), "--sites", str(SITES), "--out", str(args.out)]

    for label, scope in (("England", []), (f"trust {args.site}", ["--site", args.site])):
        seconds, _ = setupmon("report", *scope, *period, *source, "--no-pdf")
        print(f"report, {label}, HTML only: {seconds:.1f}s")
        seconds, paths = setupmon("report", *scope, *period, *source)
        print(f"report, {label}, HTML and PDF: {seconds:.1f}s -> {', '.join(paths)}")
    seconds, paths = setupmon("publish", *period, *source)
    print(f"publish: {seconds:.1f}s -> {len(paths)} files")

    trust_page = args.out / f"report-{args.site}-{PERIOD.start}-{PERIOD.end}.html"
    args.png.parent.mkdir(parents=True, exist_ok=True)
    screenshot(trust_page, args.png, width=1100, height=1500)
    print(f"screenshot of {trust_page.name}: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
