"""Loaders for `setupmon report` and `publish`: an events file or the broker's topics, read
into one `reports.inputs.ReportInput` (issue 13).

The events file goes through the engine of `setupmon evaluate` (validation, `StudyState`,
the replay rule: events recorded on a later UK day than the evaluation day are not known).
The broker path reads what the workers already computed: the compacted `study-status` (clocks
and sponsor per study) and `sites` topics, and `milestones` for how late entries were made.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from broker.client import KafkaUnavailable
from broker.topic_reader import TopicMissing, read_to_end
from broker.topic_view import TopicView
from broker.topics import TopicNames
from core.errors import InputError, SetupmonError
from core.settings import Settings
from events.milestones import Milestone
from events.sites import Site
from events.validation import Rejection, validate_event
from reports.figures import clock_on
from reports.inputs import ClockRow, EntryDelay, ReportInput, SiteInfo
from setupmon.sites import read_sites
from studies.state import EventOutcome, StudyState


def sites_from_file(path: Path) -> dict[str, SiteInfo]:
    """The registry CSV (`setupmon sites load`'s format) without its contacts."""
    return {site.site_id: _site_info(site) for site in read_sites(path)}


def _site_info(site: Site) -> SiteInfo:
    return SiteInfo(site.site_id, site.name, site.region)


class _Replay:
    """Events applied one by one, as `evaluate` applies them, with their entry delays."""

    def __init__(self, as_of: date, *, evaluate: bool = True) -> None:
        self.as_of = as_of
        self.evaluate = evaluate  # False: entry delays only (the broker has the clocks)
        self.studies: dict[str, StudyState] = {}
        self.seen: set[tuple[str, str]] = set()  # (study, event_id) when not evaluating
        self.entries: list[EntryDelay] = []
        self.valid = 0  # valid events, whenever recorded
        self.known = 0  # valid events recorded by `as_of`
        self.rejected = 0

    def feed(self, raw: bytes) -> None:
        result = validate_event(raw)
        if isinstance(result, Rejection):
            self.rejected += 1
            return
        self.valid += 1
        if result.recorded_day > self.as_of:  # the replay rule (CONTRACT.md section 2)
            return
        self.known += 1
        # As the stream's entry-delay histogram: every event but a duplicate; a retraction
        # withdraws a date rather than entering one, so it has no delay to count.
        if self._first_time(result) and not result.retract:
            self.entries.append(_entry(result))

    def _first_time(self, event: Milestone) -> bool:
        if not self.evaluate:
            key = (event.study_id, event.event_id)
            fresh = key not in self.seen
            self.seen.add(key)
            return fresh
        state = self.studies.setdefault(event.study_id, StudyState(event.study_id))
        return state.apply(event) is not EventOutcome.DUPLICATE

    def clocks(self) -> list[ClockRow]:
        rows: list[ClockRow] = []
        for study_id in sorted(self.studies):
            state = self.studies[study_id]
            sponsor = state.facts(self.as_of).sponsor_id
            for clock in state.clocks(self.as_of):
                rows.append(ClockRow.from_json(clock.to_json(with_study=True), sponsor_id=sponsor))
        return rows


def _entry(event: Milestone) -> EntryDelay:
    return EntryDelay(
        event.study_id, event.site_id, event.milestone.value, event.date, event.recorded_day
    )


def load_events_file(
    path: Path, as_of: date, sites: dict[str, SiteInfo], notes: TextIO | None = None
) -> ReportInput:
    """Every clock of the file as of `as_of`, as `setupmon evaluate --as-of` prints them.

    A file with no valid event (a CSV export, the wrong file) is refused: its report would be
    all "no clocks" and could go to a board unnoticed. Rejected lines are counted on `notes`
    (default: stderr)."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    replay = _Replay(as_of)
    with path.open("rb") as handle:
        for line in handle:
            raw = line.rstrip(b"\r\n")
            if raw.strip():
                replay.feed(raw)
    rejected = f"{replay.rejected:,} {'line' if replay.rejected == 1 else 'lines'} rejected"
    lists_them = f"`setupmon evaluate --events {path}` lists them"
    if replay.valid == 0:
        raise InputError(
            f"{path} holds no valid milestone event ({rejected}; {lists_them}): "
            "--events takes the JSON lines of milestone events, not an export"
        )
    if replay.rejected:
        print(f"setupmon: {path}: {rejected} ({lists_them})", file=notes or sys.stderr)
    source = (
        f"events file {path.name} ({replay.known:,} valid events recorded by {as_of}, "
        f"{replay.rejected:,} rejected lines), evaluated as of {as_of}"
    )
    return ReportInput(as_of, replay.clocks(), replay.entries, sites, source)


def taken_back(data: ReportInput, day: date) -> ReportInput:
    """The clocks as they stood on an earlier `day`, from their start, stop and limit
    (`reports.figures.clock_on`): dates entered after `day` count as if entered on time."""
    if day >= data.as_of:
        return data
    clocks = [then for clock in data.clocks if (then := clock_on(clock, day)) is not None]
    source = f"{data.source}; clocks taken back to {day} from their start, stop and limit"
    return replace(data, as_of=day, clocks=clocks, source=source)


# -- the broker ---------------------------------------------------------------------------


async def load_from_broker(
    settings: Settings, sites_file: Path | None = None, progress: TextIO | None = sys.stderr
) -> ReportInput:
    """What the workers computed: the latest `study-status` record of every study (its clocks
    and sponsor, as of the workers' day), the `sites` registry, and the entry delays of every
    event on `milestones`. Each topic is read to its end as it was when its reading started."""
    topics = TopicNames.from_settings(settings)
    started = datetime.now(UTC)
    try:
        status = TopicView(settings, topics.study_status)
        await read_to_end(settings, topics.study_status, status.apply, progress)
        registry = TopicView(settings, topics.sites)
        await read_to_end(settings, topics.sites, registry.apply, progress)
        as_of = _latest_as_of(status.records) or started.date()
        replay = _Replay(as_of, evaluate=False)
        read = await read_to_end(
            settings, topics.milestones, lambda _key, value: replay.feed(value or b""), progress
        )
    except TopicMissing as exc:
        raise SetupmonError(
            f"{exc}: is the prefix right and has a worker run? (or report from a file with --events)"
        ) from exc
    except KafkaUnavailable as exc:
        raise SetupmonError(
            f"cannot read the topics from {settings.bootstrap_servers}: {exc} "
            "(is Kafka up and SETUPMON_BOOTSTRAP_SERVERS right? or report from a file: --events)"
        ) from exc
    sites = _registry_sites(registry.records)
    if sites_file is not None:
        sites.update(sites_from_file(sites_file))
    source = (
        f"topics {topics.study_status} ({len(status.records):,} studies, evaluated as of "
        f"{as_of}), {topics.sites} ({len(registry.records):,} sites) and "
        f"{topics.milestones} ({read:,} messages), read at {started:%Y-%m-%d %H:%M} UTC"
    )
    return ReportInput(as_of, _status_clocks(status.records), replay.entries, sites, source)


def _latest_as_of(records: dict[str, dict[str, object]]) -> date | None:
    days = [_as_of(record) for record in records.values()]
    return max((day for day in days if day is not None), default=None)


def _as_of(record: dict[str, object]) -> date | None:
    try:
        return date.fromisoformat(str(record.get("as_of")))
    except ValueError:
        return None


def _status_clocks(records: dict[str, dict[str, object]]) -> list[ClockRow]:
    """Every clock of every study's latest status record, with the study's sponsor. (A study
    the workers have not re-evaluated since an earlier day keeps that day's figures; the
    daily re-evaluation makes that rare.)"""
    rows: list[ClockRow] = []
    for study_id in sorted(records):
        record = records[study_id]
        sponsor = record.get("sponsor_id")
        clocks = record.get("clocks")
        for clock in clocks if isinstance(clocks, list) else []:
            if not isinstance(clock, dict):
                continue
            try:
                rows.append(
                    ClockRow.from_json(
                        {**clock, "study_id": study_id},
                        sponsor if isinstance(sponsor, str) else None,
                    )
                )
            except ValueError:
                continue  # not a clock of the contract's shape: nothing a report can show
    return rows


def _registry_sites(records: dict[str, dict[str, object]]) -> dict[str, SiteInfo]:
    sites: dict[str, SiteInfo] = {}
    for record in records.values():
        try:
            site = Site.from_json(record)
        except ValueError:
            continue  # the worker ignores such a record too: its sites stay "unknown"
        sites[site.site_id] = _site_info(site)
    return sites
