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
from importer.dates import EARLIEST_YEAR
from importer.mapping import Mapping as ExportMapping
from importer.mapping import load_mapping, source_problem
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
    if moment.year < EARLIEST_YEAR:  # every set-up date would be after it
        raise InputError(f"--recorded-at {text!r} is before {EARLIEST_YEAR}: a typo?")
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
    mapping = _with_source(load_mapping(request.mapping), request.source)
    reads = [_read_file(path, mapping, request, now, err) for path in request.files]
    reads.sort(key=lambda file: file.recorded_at)
    _refuse_problems(reads, request, err)

    ledger: dict[str, LedgerEntry] = asyncio.run(read_ledger(settings))
    planned_by: dict[str, str] = {}  # ledger key -> the file of this import that planned it
    plans: list[tuple[FileRead, ImportPlan]] = []
    for file in reads:
        plan = plan_import(
            file.read,
            ledger,
            file.recorded_at,
            skip_bad_rows=request.skip_bad_rows,
            planned_by=planned_by,
        )
        if plan.refused:
            raise _refused(file.path, plan.problems, _hint(request, file.read, plan))
        _list_skipped(file, plan, err)
        for warning in plan.warnings:
            print(f"warning: {file.path}: {warning}", file=err)
        entries = _entries(plan)
        ledger = {**ledger, **entries}
        planned_by.update(dict.fromkeys(entries, str(file.path)))
        plans.append((file, plan))

    counts = [(file, _counts(file.read, plan)) for file, plan in plans]
    total = _total([c for _, c in counts])
    # a study or site in several files is one study or site
    total["studies"] = len({study for _, plan in plans for study in plan.study_ids})
    total["sites"] = len({site for _, plan in plans for site in plan.site_ids})
    verb = "would publish" if request.dry_run else "published"
    if request.dry_run:
        _print_files(counts, verb, out)
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
    # only now: a failed run must not have said it was publishing (stdout is the record)
    _print_files(counts, verb, out)
    print(
        f"published {published.events} events of {published.studies} studies: "
        f"{summary_line(total)}",
        file=out,
    )
    return 0


def _with_source(mapping: ExportMapping, source: str | None) -> ExportMapping:
    """The mapping with --source for its source, checked as a mapping's source is."""
    if source is None:
        return mapping
    if not source.strip():
        raise InputError("--source may not be blank")
    problem = source_problem(source.strip(), has_site_column=mapping.site_id_column is not None)
    if problem is not None:
        raise InputError(f"--source: {problem}")
    return replace(mapping, source=source.strip())


def _print_files(counts: list[tuple[FileRead, dict[str, int]]], verb: str, out: TextIO) -> None:
    for file, file_counts in counts:
        print(
            f"{file.path} (recorded_at {file.recorded_at.isoformat()}): {verb} "
            f"{_events(file_counts)} events; {summary_line(file_counts)}",
            file=out,
        )


def _read_file(
    path: Path, mapping: ExportMapping, request: ImportRequest, now: datetime, err: TextIO
) -> FileRead:
    if path.is_dir():
        raise InputError(f"{path} is a directory, not an export file")
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    recorded_at = request.recorded_at or file_recorded_at(path, now)
    large = path.stat().st_size >= LARGE_FILE_BYTES
    started = time.monotonic()
    if large:
        print(f"reading {path} ({path.stat().st_size / 1e6:.1f} MB)...", file=err, flush=True)
    table = read_table(path, sheet=request.sheet, header_label=mapping.study_id_column)
    read = read_milestones(table, mapping, recorded_at, skip_bad_rows=request.skip_bad_rows)
    if large:
        print(
            f"read {path}: {read.rows:,} rows, {len(read.milestones):,} cells "
            f"in {time.monotonic() - started:.1f} s",
            file=err,
            flush=True,
        )
    return FileRead(path, recorded_at, read)


def _refuse_problems(reads: list[FileRead], request: ImportRequest, err: TextIO) -> None:
    """Refuse the import if any file must be refused (its skipped rows are listed once
    planning has added its own)."""
    for file in reads:
        for warning in file.read.warnings:
            print(f"warning: {file.path}: {warning}", file=err)
    for file in reads:
        if file.read.refused:
            raise _refused(file.path, file.read.problems, _hint(request, file.read))


def _list_skipped(file: FileRead, plan: ImportPlan, err: TextIO) -> None:
    """The rows --skip-bad-rows dropped, when reading and when planning, with why."""
    skipped = sorted({*file.read.skipped_rows, *plan.skipped})
    if not skipped:
        return
    print(f"{file.path}: skipped rows {', '.join(map(str, skipped))}:", file=err)
    for problem in sorted([*file.read.problems, *plan.problems], key=lambda p: p.row):
        print(f"  {problem}", file=err)


def _hint(request: ImportRequest, read: ReadResult, plan: ImportPlan | None = None) -> bool:
    """Whether --skip-bad-rows would import something: not given, the header is fine, and
    some rows are good."""
    if request.skip_bad_rows or read.bad_header:
        return False
    problems = read.problems if plan is None else plan.problems
    return len({problem.row for problem in problems}) < read.rows - len(read.skipped_rows)


def _refused(path: Path, problems: list[Problem], hint: bool) -> InputError:
    listed = "\n  ".join(str(problem) for problem in problems)
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    why = f"{count}; --skip-bad-rows imports the other rows" if hint else count
    return InputError(f"{path} refused, nothing published ({why}):\n  {listed}")


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
