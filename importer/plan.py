"""From what a file says and what was published before, the events to publish.

Rules (README, "setupmon import"): a key's value unchanged publishes nothing; a new date is
"new", a changed one "corrected", a cleared one "retracted"; keys this file does not mention
are left alone (a partial export is not a retraction); an export older than the import that
published a key's value is refused for that key; event IDs come from the key and the value
(and its revision when a value comes back), so a rerun publishes the same IDs. With
skip_bad_rows, a row with a planning problem is dropped whole, as the reader drops a bad row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from core.codec import dumps
from events.milestones import STUDY_MILESTONES, MilestoneKind
from events.validation import Rejection, validate_event
from importer.ledger import LedgerEntry
from importer.rows import ImportedMilestone, Problem, ReadResult

__all__ = ["ImportPlan", "LedgerEntry", "PlannedEvent", "plan_import"]

LIFECYCLE = {kind.value: index for index, kind in enumerate(MilestoneKind)}


@dataclass(frozen=True)
class PlannedEvent:
    key: str
    study_id: str
    event: bytes  # the contract JSON, as it goes on the topic
    change: str  # "new" | "corrected" | "retracted"
    ledger_entry: LedgerEntry  # what the ledger holds once this event is published
    row: int = 0


@dataclass(frozen=True)
class ImportPlan:
    studies: dict[str, list[PlannedEvent]]  # study_id -> its events, in publishing order
    new: int
    corrected: int
    retracted: int
    unchanged: int
    problems: list[Problem]  # planning problems (stale data, rejected events)
    warnings: list[str]  # planning warnings only; the file's own are in ReadResult.warnings
    rows: int = 0
    file_studies: int = 0
    file_sites: int = 0
    skipped_rows: int = 0  # by the reader and by planning
    skipped: tuple[int, ...] = ()  # the rows planning dropped (skip_bad_rows)
    study_ids: frozenset[str] = frozenset()  # of the milestones planned (skipped rows not)
    site_ids: frozenset[str] = frozenset()

    @property
    def refused(self) -> bool:
        """Problems, and their rows were not skipped: the caller must refuse the file."""
        return bool(self.problems) and not self.skipped

    @property
    def events(self) -> int:
        return self.new + self.corrected + self.retracted

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "studies": self.file_studies,
            "sites": self.file_sites,
            "new": self.new,
            "corrected": self.corrected,
            "retracted": self.retracted,
            "unchanged": self.unchanged,
            "skipped_rows": self.skipped_rows,
        }


def plan_import(
    read: ReadResult,
    ledger: Mapping[str, LedgerEntry],
    recorded_at: datetime,
    *,
    skip_bad_rows: bool = False,
    planned_by: Mapping[str, str] | None = None,
) -> ImportPlan:
    """The events that bring the topic to what `read` says, given what `ledger` holds.

    `planned_by` names, for a key, the file of the same import whose plan put it in `ledger`
    (so a conflict with it is not blamed on an earlier import). With `skip_bad_rows`, rows
    with planning problems are dropped whole and listed in `skipped`.
    """
    if recorded_at.tzinfo is None:
        raise ValueError("recorded_at needs a UTC offset")
    plan = _plan(read, read.milestones, ledger, recorded_at, planned_by or {})
    if not plan.problems or not skip_bad_rows:
        return plan
    bad = {problem.row for problem in plan.problems}
    kept = [item for item in read.milestones if item.row not in bad]
    again = _plan(read, kept, ledger, recorded_at, planned_by or {})
    return replace(
        again,
        problems=plan.problems,
        skipped=tuple(sorted(bad)),
        skipped_rows=again.skipped_rows + len(bad),
    )


def _plan(
    read: ReadResult,
    milestones: list[ImportedMilestone],
    ledger: Mapping[str, LedgerEntry],
    recorded_at: datetime,
    planned_by: Mapping[str, str],
) -> ImportPlan:
    stamp = recorded_at.isoformat()
    counts = {"new": 0, "corrected": 0, "retracted": 0, "unchanged": 0}
    problems: list[Problem] = []
    planned: dict[str, list[tuple[tuple[int, str, int, str], PlannedEvent]]] = {}
    for item in milestones:
        key = item.key
        entry = ledger.get(key)
        value = _value(item)
        published = None if entry is None else entry.value
        if value == published:
            counts["unchanged"] += entry is not None
            continue
        if entry is not None and entry.recorded >= recorded_at:
            problems.append(_stale(item, entry, stamp, planned_by.get(key)))
            continue
        event, change, new_entry = _event(item, key, value, entry, stamp)
        verdict = validate_event(event)
        if isinstance(verdict, Rejection):
            message = f"its {item.milestone} event would be rejected: {verdict.detail}"
            problems.append(Problem(item.row, item.column, message))
            continue
        counts[change] += 1
        order = (
            0 if item.milestone in STUDY_MILESTONES else 1,
            verdict.date.isoformat(),
            LIFECYCLE[item.milestone],
            item.site_id or "",
        )
        planned_event = PlannedEvent(key, item.study_id, event, change, new_entry, item.row)
        planned.setdefault(item.study_id, []).append((order, planned_event))
    studies = {
        study: [event for _, event in sorted(events, key=lambda pair: pair[0])]
        for study, events in planned.items()
    }
    study_ids = frozenset(item.study_id for item in milestones)
    site_ids = frozenset(item.site_id for item in milestones if item.site_id is not None)
    return ImportPlan(
        studies=studies,
        problems=problems,
        warnings=[],
        rows=read.rows,
        file_studies=len(study_ids),
        file_sites=len(site_ids),
        skipped_rows=len(read.skipped_rows),
        study_ids=study_ids,
        site_ids=site_ids,
        new=counts["new"],
        corrected=counts["corrected"],
        retracted=counts["retracted"],
        unchanged=counts["unchanged"],
    )


def _value(item: ImportedMilestone) -> str | None:
    """The canonical value a ledger compares: the date, and study_registered's attributes."""
    if item.date is None:
        return None
    if item.attributes is None:
        return item.date.isoformat()
    return f"{item.date.isoformat()} {dumps(item.attributes).decode()}"


def _event(
    item: ImportedMilestone, key: str, value: str | None, entry: LedgerEntry | None, stamp: str
) -> tuple[bytes, str, LedgerEntry]:
    previous = None if entry is None else entry.value
    published = {} if entry is None else dict(entry.published)
    if value is None:  # a cleared cell: withdraw the date published before
        assert previous is not None  # noqa: S101 - value == previous returned earlier
        counted, change, day = f"retract {previous}", "retracted", previous[:10]
    else:
        counted, change, day = value, "new" if previous is None else "corrected", value[:10]
    revision = published.get(counted, 0) + 1
    published[counted] = revision
    event_id = _event_id(key, counted, revision)
    body: dict[str, object] = {
        "event_id": event_id,
        "study_id": item.study_id,
        "milestone": item.milestone,
        "date": day,
        "recorded_at": stamp,
        "source": item.source,
    }
    if item.site_id is not None:
        body["site_id"] = item.site_id
    if value is None:
        body["retract"] = True
    elif item.attributes is not None:
        body["attributes"] = item.attributes
    return dumps(body), change, LedgerEntry(event_id, value, stamp, published)


def _event_id(key: str, counted: str, revision: int) -> str:
    """Derived from what is published: the same file twice gives the same IDs. A value
    published again (A -> B -> A) carries its revision, else it would repeat the first A's
    ID and the stream would take it for a duplicate and keep B."""
    text = f"{key}|{counted}" + (f"|{revision}" if revision >= 2 else "")
    return "imp-" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _stale(
    item: ImportedMilestone, entry: LedgerEntry, stamp: str, other_file: str | None
) -> Problem:
    what = f"{item.milestone} of {item.study_id}" + (
        "" if item.site_id is None else f" at site {item.site_id}"
    )
    was = "a retraction" if entry.value is None else entry.value[:10]
    if other_file is not None:  # recorded_at ties with a file earlier in this import
        return Problem(
            item.row,
            item.column,
            f"{other_file}, in this import with the same recorded_at ({stamp}), gives {was} "
            f"for {what}: which is right? Import them separately, each with its real "
            f"--recorded-at",
        )
    return Problem(
        item.row,
        item.column,
        f"this export (recorded {stamp}) is not newer than the import that published {was} "
        f"for {what} (recorded {entry.recorded_at}); its value would lose: import a newer "
        f"export, or give its real time with --recorded-at",
    )
