"""One study's state, applied one event at a time, and what changed when it is evaluated.

This is the incremental API the stream uses (and `evaluate` uses in one batch):

    state = StudyState(study_id)
    outcome = state.apply(event)            # accepted / duplicate / superseded
    update = state.advance(as_of)           # clocks, what changed, alerts to raise

`apply` only records the event; `advance` evaluates the clocks as of a UK day, decides alerts
against each clock's alert episodes, and remembers what it reported. Call `advance` after a batch
of events and whenever the UK date changes. The state is a plain value: `to_json`/`from_json`
give a compact form for a Faust table. Applying the same events in any order gives the same
state, and a duplicate or replayed event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from alerts.decide import Alert, AlertId, AlertKind, ClockId, Episode, decide_alerts, record
from events.milestones import Milestone, MilestoneKind
from kpi.build import build_clocks, site_summaries
from kpi.clocks import Clock
from kpi.facts import StudyFacts, facts_as_of
from kpi.versions import Version, VersionList

STATE_FORMAT = 2  # 2: alert episodes; format 1 (a set of raised alert IDs) is still read


class EventOutcome(StrEnum):
    ACCEPTED = "accepted"  # the event is now the latest version of its milestone
    DUPLICATE = "duplicate"  # its event_id was seen before: nothing changed
    SUPERSEDED = "superseded"  # kept, but an event recorded later already wins


@dataclass(frozen=True, slots=True)
class StudyUpdate:
    as_of: date
    facts: StudyFacts
    clocks: list[Clock]
    changed: list[Clock]  # clocks whose state, dates or flags differ from the last advance
    removed: list[str]  # keys of clocks reported before that no longer exist
    alerts: list[Alert]
    previous_sponsor_id: str | None  # the sponsor the last advance reported

    @property
    def sponsor_changed(self) -> bool:
        return self.previous_sponsor_id != self.sponsor_id

    @property
    def sponsor_id(self) -> str | None:
        return self.facts.sponsor_id

    def status_document(self) -> dict[str, object]:
        """`setup.study-status` value, without `updated_at` (a wall-clock time the caller adds)."""
        return {
            "study_id": self.clocks[0].study_id,
            "sponsor_id": self.sponsor_id,
            "as_of": self.as_of.isoformat(),
            "clocks": [clock.to_json() for clock in self.clocks],
            "sites": site_summaries(self.facts, self.clocks),
        }


class StudyState:
    __slots__ = (
        "_event_ids",
        "episodes",
        "evaluated_on",
        "reported",
        "reported_sponsor",
        "study_id",
        "versions",
    )

    def __init__(self, study_id: str) -> None:
        self.study_id = study_id
        self.versions: dict[tuple[str, MilestoneKind], VersionList] = {}
        # each alerted clock's latest episode (CONTRACT.md section 3)
        self.episodes: dict[ClockId, Episode] = {}
        # clock key -> fingerprint of what the last advance reported, to tell what changed
        self.reported: dict[str, str] = {}
        self.reported_sponsor: str | None = None
        # the latest day advance() evaluated: a study's evaluation never goes back in time
        self.evaluated_on: date | None = None
        self._event_ids: set[str] = set()

    def apply(self, event: Milestone) -> EventOutcome:
        if event.study_id != self.study_id:
            raise ValueError(f"event for {event.study_id} applied to {self.study_id}")
        if event.event_id in self._event_ids:
            return EventOutcome.DUPLICATE
        self._event_ids.add(event.event_id)
        key = (event.site_id or "", event.milestone)
        versions = self.versions.setdefault(key, VersionList())
        latest = versions.add(Version.of(event))
        return EventOutcome.ACCEPTED if latest else EventOutcome.SUPERSEDED

    def facts(self, as_of: date) -> StudyFacts:
        return facts_as_of(self.versions, as_of)

    def clocks(self, as_of: date) -> list[Clock]:
        return build_clocks(self.study_id, self.facts(as_of), as_of)

    def advance(self, as_of: date, *, hold_back_before: date | None = None) -> StudyUpdate:
        """Evaluate as of `as_of`, or as of the last day evaluated if that is later.

        Alerts judged as of a day before `hold_back_before` come back marked `held`
        (see `alerts.decide.decide_alerts`); they count as raised all the same."""
        if self.evaluated_on is not None and self.evaluated_on > as_of:
            as_of = self.evaluated_on
        self.evaluated_on = as_of
        facts = self.facts(as_of)
        clocks = build_clocks(self.study_id, facts, as_of)
        alerts = decide_alerts(
            clocks,
            self.episodes,
            sponsor_id=facts.sponsor_id,
            atimp=facts.atimp,
            as_of=as_of,
            hold_back_before=hold_back_before,
        )
        record(self.episodes, alerts)
        fingerprints = {clock.key: _fingerprint(clock) for clock in clocks}
        changed = [c for c in clocks if self.reported.get(c.key) != fingerprints[c.key]]
        removed = sorted(set(self.reported) - set(fingerprints))
        self.reported = fingerprints
        previous_sponsor, self.reported_sponsor = self.reported_sponsor, facts.sponsor_id
        return StudyUpdate(as_of, facts, clocks, changed, removed, alerts, previous_sponsor)

    # -- compact serialisation for a Faust table ------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "format": STATE_FORMAT,
            "study_id": self.study_id,
            "versions": [
                [site_id, milestone.value, *version.to_row()]
                for (site_id, milestone), versions in sorted(self.versions.items())
                for version in versions
            ],
            "episodes": sorted(
                [identity.format(), episode.number, sorted(episode.kinds), episode.announced]
                for identity, episode in self.episodes.items()
            ),
            "reported": self.reported,
            "reported_sponsor": self.reported_sponsor,
            "evaluated_on": None if self.evaluated_on is None else self.evaluated_on.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StudyState:
        if data.get("format") not in (1, STATE_FORMAT):
            raise ValueError(f"unknown study state format {data.get('format')!r}")
        study_id = data["study_id"]
        assert isinstance(study_id, str)  # noqa: S101
        state = cls(study_id)
        grouped: dict[tuple[str, MilestoneKind], list[Version]] = {}
        rows = data["versions"]
        assert isinstance(rows, list)  # noqa: S101
        for site_id, milestone, *row in rows:
            version = Version.from_row(row)
            grouped.setdefault((site_id, MilestoneKind(milestone)), []).append(version)
            state._event_ids.add(version.event_id)
        state.versions = {key: VersionList(versions) for key, versions in grouped.items()}
        reported = data["reported"]
        assert isinstance(reported, dict)  # noqa: S101
        state.episodes = _read_episodes(data)
        state.reported = dict(reported)
        sponsor = data.get("reported_sponsor")
        state.reported_sponsor = sponsor if isinstance(sponsor, str) else None
        evaluated_on = data.get("evaluated_on")
        state.evaluated_on = (
            date.fromisoformat(evaluated_on) if isinstance(evaluated_on, str) else None
        )
        return state


def _read_episodes(data: dict[str, object]) -> dict[ClockId, Episode]:
    if data["format"] == 1:
        # Format 1 kept the IDs raised, each kind once per clock: one episode each.
        raised = data["raised"]
        assert isinstance(raised, list)  # noqa: S101
        episodes: dict[ClockId, Episode] = {}
        for text in raised:
            alert_id = AlertId.parse(text)
            kinds = episodes.get(alert_id.clock, Episode(1, frozenset())).kinds
            # whether it was held back was not kept: take it as sent, so later ones are too
            episodes[alert_id.clock] = Episode(1, kinds | {alert_id.kind}, announced=True)
        return episodes
    rows = data["episodes"]
    assert isinstance(rows, list)  # noqa: S101
    return {
        ClockId.parse(identity): Episode(number, frozenset(AlertKind(k) for k in kinds), announced)
        for identity, number, kinds, announced in rows
    }


def _fingerprint(clock: Clock) -> str:
    """What, if it changes, makes a clock worth reporting again (not its elapsed days)."""
    return f"{clock.state}|{clock.start_date}|{clock.stop_date}|{clock.limit_days}|{clock.flags}"
