"""`setupmon import` from files to the broker: read, check, plan against the ledger, publish.

Every file is read and planned before anything is published, so a file with a problem
refuses the whole import (every problem listed by row and column) and nothing reaches the
topic. Files are planned in the order of their `recorded_at` (oldest first), each against
the ledger as the files before it leave it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from core.errors import InputError
from core.settings import Settings
from events.validation import RFC3339_PATTERN
from importer.mapping import Mapping as ExportMapping
from importer.mapping import load_mapping
from importer.plan import ImportPlan, LedgerEntry, plan_import
from importer.rows import Problem, ReadResult, read_milestones
from importer.tables import read_table
from setupmon.import_progress import ProgressBar
from setupmon.importing import publish_plans, read_ledger

LARGE_FILE_BYTES = 1024 * 1024  # reading progress is shown for files this big
LARGE_IMPORT_EVENTS = 10_000  # a publishing progress bar from this many events
SUMMARY_FIELDS = (
    "studies",
    "sites",
    "rows",
    "new",
    "corrected",
    "retracted",
    "unchanged",
    "skipped_rows",
    "problems",
    "warnings",
)


@dataclass(frozen=True, slots=True)
class ImportRequest:
    files: list[Path]
    mapping: str
    source: str | None = None
    recorded_at: datetime | None = None  # None: each file's modification time
    dry_run: bool = False
    skip_bad_rows: bool = False
    sheet: str | None = None


@dataclass(frozen=True, slots=True)
class FileRead:
    path: Path
    recorded_at: datetime
    read: ReadResult


def parse_recorded_at(text: str, now: datetime) -> datetime:
    """An RFC 3339 timestamp with an offset, not in the future."""
    if not RFC3339_PATTERN.fullmatch(text):
        raise InputError(
            f"--recorded-at {text!r} is not an RFC 3339 time with an offset "
            "(e.g. 2026-03-31T17:00:00+01:00 or 2026-03-31T16:00:00Z)"
        )
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise InputError(f"--recorded-at {text!r} is not a real time: {exc}") from exc
    if moment > now:
        raise InputError(
            f"--recorded-at {text!r} is in the future: the export cannot have been made yet"
        )
    return moment


def file_recorded_at(path: Path, now: datetime) -> datetime:
    """The file's modification time (UTC, whole seconds): when the export was made."""
    moment = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(microsecond=0)
    if moment > now:
        raise InputError(
            f"{path} was modified in the future ({moment.isoformat()}); pass --recorded-at"
        )
    return moment


def summary_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {counts.get(name, 0)}" for name in SUMMARY_FIELDS)


def run_import(settings: Settings, request: ImportRequest, out: TextIO, err: TextIO) -> int:
    now = datetime.now(UTC)
    mapping = load_mapping(request.mapping)
    if request.source is not None:
        if not request.source.strip():
            raise InputError("--source may not be blank")
        mapping = replace(mapping, source=request.source.strip())
    reads = [_read_file(path, mapping, request, now, err) for path in request.files]
    reads.sort(key=lambda file: file.recorded_at)
    _refuse_problems(reads, err)

    ledger: dict[str, LedgerEntry] = asyncio.run(read_ledger(settings))
    plans: list[tuple[FileRead, ImportPlan]] = []
    for file in reads:
        plan = plan_import(file.read, ledger, file.recorded_at)
        if plan.problems:
            raise _refused(file.path, plan.problems)
        for warning in plan.warnings:
            print(f"warning: {file.path}: {warning}", file=err)
        ledger = {**ledger, **_entries(plan)}
        plans.append((file, plan))

    counts = [(file, _counts(file.read, plan)) for file, plan in plans]
    total = _total([c for _, c in counts])
    # a study or site in several files is one study or site
    total["studies"] = len({m.study_id for file in reads for m in file.read.milestones})
    total["sites"] = len({m.site_id for file in reads for m in file.read.milestones if m.site_id})
    verb = "would publish" if request.dry_run else "publishing"
    for file, file_counts in counts:
        print(
            f"{file.path} (recorded_at {file.recorded_at.isoformat()}): {verb} "
            f"{_events(file_counts)} events; {summary_line(file_counts)}",
            file=out,
        )
    if request.dry_run:
        print(f"dry run, nothing published: {summary_line(total)}", file=out)
        return 0
    events = _events(total)
    bar = ProgressBar(err, "publishing", events, "events")
    show = events >= LARGE_IMPORT_EVENTS or (err.isatty() and events > 0)
    published = asyncio.run(
        publish_plans(settings, [plan for _, plan in plans], bar.update if show else None)
    )
    if show:
        bar.finish()
    print(
        f"published {published.events} events of {published.studies} studies: "
        f"{summary_line(total)}",
        file=out,
    )
    return 0


def _read_file(
    path: Path, mapping: ExportMapping, request: ImportRequest, now: datetime, err: TextIO
) -> FileRead:
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    recorded_at = request.recorded_at or file_recorded_at(path, now)
    large = path.stat().st_size >= LARGE_FILE_BYTES
    started = time.monotonic()
    if large:
        print(f"reading {path} ({path.stat().st_size / 1e6:.1f} MB)...", file=err, flush=True)
    table = read_table(path, sheet=request.sheet)
    read = read_milestones(table, mapping, recorded_at, skip_bad_rows=request.skip_bad_rows)
    if large:
        print(
            f"read {path}: {read.rows:,} rows, {len(read.milestones):,} cells "
            f"in {time.monotonic() - started:.1f} s",
            file=err,
            flush=True,
        )
    return FileRead(path, recorded_at, read)


def _refuse_problems(reads: list[FileRead], err: TextIO) -> None:
    """Refuse the import if any file must be refused; otherwise list what is skipped."""
    for file in reads:
        for warning in file.read.warnings:
            print(f"warning: {file.path}: {warning}", file=err)
    for file in reads:
        if file.read.refused:
            raise _refused(file.path, file.read.problems)
    for file in reads:
        if file.read.problems:
            skipped = ", ".join(str(row) for row in file.read.skipped_rows)
            print(f"{file.path}: skipped rows {skipped}:", file=err)
            for problem in file.read.problems:
                print(f"  {problem}", file=err)


def _refused(path: Path, problems: list[Problem]) -> InputError:
    listed = "\n  ".join(str(problem) for problem in problems)
    return InputError(
        f"{path} refused, nothing published ({len(problems)} problems; "
        f"--skip-bad-rows imports the other rows):\n  {listed}"
    )


def _entries(plan: ImportPlan) -> dict[str, LedgerEntry]:
    return {e.key: e.ledger_entry for events in plan.studies.values() for e in events}


def _counts(read: ReadResult, plan: ImportPlan) -> dict[str, int]:
    counts = dict(plan.summary())
    counts["rows"] = read.rows
    counts["problems"] = len(read.problems) + len(plan.problems)
    counts["warnings"] = len(read.warnings) + len(plan.warnings)
    return counts


def _total(counts: list[dict[str, int]]) -> dict[str, int]:
    return {name: sum(c.get(name, 0) for c in counts) for name in SUMMARY_FIELDS}


def _events(counts: dict[str, int]) -> int:
    return counts["new"] + counts["corrected"] + counts["retracted"]
