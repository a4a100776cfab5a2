"""One study's state, applied one event at a time, and what changed when it is evaluated.

This is the incremental API the stream uses (and `evaluate` uses in one batch):

    state = StudyState(study_id)
    outcome = state.apply(event)            # accepted / duplicate / superseded
    update = state.advance(as_of)           # clocks, what changed, alerts to raise

`apply` only records the event; `advance` evaluates the clocks as of a UK day, decides alerts
against each clock's alert episodes, and remembers what it reported. Call `advance` after a
batch of events and whenever the UK date changes. The state is a plain value: `to_json` /
`from_json` give a compact form for a Faust table. Applying the same events in any order gives
the same state, and a duplicate or replayed event changes nothing.

Cost: a study is kept in parts, its own milestones and one part per site. `advance` on the
day it last evaluated re-evaluates only the sites whose milestones changed since (and the two
study clocks); a new day, or a change to a study milestone (HRA approval, the registration),
re-evaluates every site. So an event costs the same in a 5-site and a 200-site study, and
`clocks(as_of)` (a full evaluation from scratch, as `evaluate` uses) stays the reference the
incremental result equals.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from core.codec import dumps, exact, loads
from events.milestones import Milestone, MilestoneKind
from kpi.build import build_clocks, site_clocks, site_summary, study_clocks
from kpi.clocks import Clock, next_change
from kpi.facts import Parts, SiteFacts, StudyFacts, facts_as_of, site_facts
from kpi.versions import Version, VersionList
from rules.decide import Alert, AlertId, AlertKind, ClockId, Episode, decide_alerts, record

STATE_FORMAT = 2  # 2: alert episodes; format 1 (a set of raised alert IDs) is still read
STUDY_PART = ""  # the part holding the study's own milestones and clocks


class EventOutcome(StrEnum):
    ACCEPTED = "accepted"  # the event is now the latest version of its milestone
    DUPLICATE = "duplicate"  # its event_id was seen before: nothing changed
    SUPERSEDED = "superseded"  # kept, but an event recorded later already wins


@dataclass(slots=True)
class _Evaluation:
    """What the last `advance` computed, per part, kept to re-evaluate only what changed."""

    as_of: date
    facts: StudyFacts
    clocks: dict[str, list[Clock]]  # part -> its clocks
    fragments: dict[str, bytes]  # part -> its clocks as JSON, comma-joined, no brackets
    summaries: dict[str, bytes]  # site -> its `{stage, flags}` as JSON
    site_order: list[str] = field(default_factory=list)  # sites with clocks, sorted
    wakes: dict[str, date] = field(default_factory=dict)  # part -> its clocks' next change
    # the earliest recruitment at any site, kept so an event at one site does not scan all
    first_day: date | None = None

    def first_recruited(self) -> date | None:
        days = [
            site.dates[MilestoneKind.FIRST_PARTICIPANT_RECRUITED]
            for site in self.facts.sites.values()
            if MilestoneKind.FIRST_PARTICIPANT_RECRUITED in site.dates
        ]
        return min(days) if days else None


class StudyUpdate:
    """What one `advance` found, valid until the study's next `advance`. Whole-study views
    (`clocks`, the status document) are built on demand from the per-part cache, so a caller
    that needs only what changed pays for only that."""

    def __init__(
        self,
        evaluation: _Evaluation,
        study_id: str,
        changed: list[Clock],
        removed: list[str],
        alerts: list[Alert],
    ) -> None:
        self.as_of = evaluation.as_of
        self.facts = evaluation.facts
        self.study_id = study_id
        self.changed = changed  # clocks whose state, dates or flags differ from the last advance
        self.removed = removed  # keys of clocks reported before that no longer exist
        self.alerts = alerts
        self._evaluation = evaluation

    @property
    def sponsor_id(self) -> str | None:
        return self.facts.sponsor_id

    @cached_property
    def clocks(self) -> list[Clock]:
        """Every clock: the study's first, then each site's, sites sorted by ID."""
        clocks = list(self._evaluation.clocks[STUDY_PART])
        for site_id in self._evaluation.site_order:
            clocks += self._evaluation.clocks[site_id]
        return clocks

    @cached_property
    def wake_on(self) -> date | None:
        """The next day one of the study's clocks changes state with no new event: the day
        tick re-evaluates the study then (and not before)."""
        return min(self._evaluation.wakes.values(), default=None)

    def part_clocks(self, part: str) -> list[Clock]:
        """The clocks of one site (or of the study, for STUDY_PART); [] for a site with none."""
        return self._evaluation.clocks.get(part, [])

    def status_json(self, *, updated_at: datetime) -> bytes:
        """The `setup.study-status` value, assembled from each part's cached JSON."""
        evaluation = self._evaluation
        head = dumps(
            {
                "study_id": self.study_id,
                "sponsor_id": self.sponsor_id,
                "as_of": self.as_of.isoformat(),
                "updated_at": updated_at.isoformat(),
            }
        )[:-1]
        parts = (STUDY_PART, *evaluation.site_order)
        clocks = b",".join(evaluation.fragments[part] for part in parts)
        sites = b",".join(
            b'"' + site_id.encode() + b'":' + evaluation.summaries[site_id]
            for site_id in evaluation.site_order
        )
        return head + b',"clocks":[' + clocks + b'],"sites":{' + sites + b"}}"


class StudyState:
    __slots__ = (
        "_dirty",
        "_episodes",
        "_evaluation",
        "_event_ids",
        "_reported",
        "_saved",
        "evaluated_on",
        "parts",
        "reported_sponsor",
        "study_id",
    )

    def __init__(self, study_id: str) -> None:
        self.study_id = study_id
        self.parts: Parts = {}  # part ("" or a site) -> milestone -> every version
        # each alerted clock's latest episode (CONTRACT.md section 3), by part
        self._episodes: dict[str, dict[ClockId, Episode]] = {}
        # part -> clock key -> fingerprint of what the last advance reported (what changed)
        self._reported: dict[str, dict[str, str]] = {}
        self.reported_sponsor: str | None = None
        # the latest day advance() evaluated: a study's evaluation never goes back in time
        self.evaluated_on: date | None = None
        self._event_ids: set[str] = set()
        self._dirty: set[str] = set()  # parts with versions added since the last advance
        self._evaluation: _Evaluation | None = None
        # part -> its share of `encoded()`, kept until the part changes, so writing back a
        # study after an event costs what its changed parts cost, not the whole study
        self._saved: dict[str, tuple[bytes, bytes, bytes]] = {}

    @property
    def episodes(self) -> dict[ClockId, Episode]:
        return {k: v for part in self._episodes.values() for k, v in part.items()}

    def apply(self, event: Milestone) -> EventOutcome:
        if event.study_id != self.study_id:
            raise ValueError(f"event for {event.study_id} applied to {self.study_id}")
        if event.event_id in self._event_ids:
            return EventOutcome.DUPLICATE
        self._event_ids.add(event.event_id)
        part = event.site_id or STUDY_PART
        versions = self.parts.setdefault(part, {}).setdefault(event.milestone, VersionList())
        latest = versions.add(Version.of(event))
        self._dirty.add(part)
        self._saved.pop(part, None)
        return EventOutcome.ACCEPTED if latest else EventOutcome.SUPERSEDED

    def facts(self, as_of: date) -> StudyFacts:
        return facts_as_of(self.parts, as_of)

    def clocks(self, as_of: date) -> list[Clock]:
        """Every clock as of `as_of`, evaluated from scratch (what `evaluate` prints)."""
        return build_clocks(self.study_id, self.facts(as_of), as_of)

    def advance(self, as_of: date, *, hold_back_before: date | None = None) -> StudyUpdate:
        """Evaluate as of `as_of`, or as of the last day evaluated if that is later.

        Alerts judged as of a day before `hold_back_before` come back marked `held`
        (see `rules.decide.decide_alerts`); they count as raised all the same."""
        if self.evaluated_on is not None and self.evaluated_on > as_of:
            as_of = self.evaluated_on
        self.evaluated_on = as_of
        previous = self._evaluation
        if previous is None or previous.as_of != as_of or STUDY_PART in self._dirty:
            evaluation = self._evaluate_all(as_of)
            parts = [STUDY_PART, *evaluation.site_order, *self._gone_sites(evaluation)]
        else:
            evaluation = previous
            sites, recruitment_changed = self._evaluate_sites(evaluation, self._dirty)
            parts = [STUDY_PART, *sites]
            if recruitment_changed:
                evaluation.first_day = evaluation.first_recruited()
            _store_part(
                evaluation,
                STUDY_PART,
                study_clocks(self.study_id, evaluation.facts, evaluation.first_day, as_of),
            )
        self._dirty.clear()
        self._evaluation = evaluation

        facts = evaluation.facts
        alerts: list[Alert] = []
        changed: list[Clock] = []
        removed: list[str] = []
        for part in parts:
            clocks = evaluation.clocks.get(part, [])
            episodes = self._episodes.setdefault(part, {})
            new = decide_alerts(
                clocks,
                episodes,
                sponsor_id=facts.sponsor_id,
                atimp=facts.atimp,
                as_of=as_of,
                hold_back_before=hold_back_before,
            )
            record(episodes, new)
            alerts += new
            if self._compare(part, clocks, changed, removed) or new:
                self._saved.pop(part, None)
        self.reported_sponsor = facts.sponsor_id
        return StudyUpdate(
            evaluation, self.study_id, changed, sorted(removed), alerts
        )

    def _evaluate_all(self, as_of: date) -> _Evaluation:
        facts = self.facts(as_of)
        evaluation = _Evaluation(as_of, facts, {}, {}, {}, sorted(facts.sites))
        for site_id in evaluation.site_order:
            self._store_site(evaluation, site_id, facts.sites[site_id])
        evaluation.first_day = evaluation.first_recruited()
        _store_part(
            evaluation, STUDY_PART, study_clocks(self.study_id, facts, evaluation.first_day, as_of)
        )
        return evaluation

    def _evaluate_sites(
        self, evaluation: _Evaluation, sites: set[str]
    ) -> tuple[list[str], bool]:
        """Re-evaluate the given sites on the day evaluated last: them sorted, and whether a
        site's first recruitment changed (the study_setup clock stops at the earliest)."""
        recruited = MilestoneKind.FIRST_PARTICIPANT_RECRUITED
        recruitment_changed = False
        for site_id in sorted(sites):
            site = site_facts(self.parts[site_id], evaluation.as_of)
            before = evaluation.facts.sites.get(site_id)
            recruitment_changed |= (before and before.dates.get(recruited)) != (
                site and site.dates.get(recruited)
            )
            known = site_id in evaluation.facts.sites
            if site is None:
                if known:  # every date of the site is retracted: it has no clocks now
                    del evaluation.facts.sites[site_id]
                    evaluation.site_order.remove(site_id)
                    for cache in (evaluation.clocks, evaluation.fragments, evaluation.summaries):
                        cache.pop(site_id, None)
                    evaluation.wakes.pop(site_id, None)
                continue
            evaluation.facts.sites[site_id] = site
            if not known:
                insort(evaluation.site_order, site_id)
            self._store_site(evaluation, site_id, site)
        return sorted(sites), recruitment_changed

    def _store_site(self, evaluation: _Evaluation, site_id: str, site: SiteFacts) -> None:
        clocks = site_clocks(self.study_id, evaluation.facts, site_id, site, evaluation.as_of)
        _store_part(evaluation, site_id, clocks)
        evaluation.summaries[site_id] = exact(dumps(site_summary(site, clocks)))

    def _gone_sites(self, evaluation: _Evaluation) -> list[str]:
        """Sites reported or alerted before that have no clocks now."""
        known = set(self._reported) | set(self._episodes)
        return sorted(known - set(evaluation.site_order) - {STUDY_PART})

    def _compare(
        self, part: str, clocks: list[Clock], changed: list[Clock], removed: list[str]
    ) -> bool:
        """Note which of a part's clocks changed since the last report, and which are gone;
        whether any did."""
        reported = self._reported.setdefault(part, {})
        current = set()
        count = len(changed) + len(removed)
        for clock in clocks:
            key = clock.key
            current.add(key)
            fingerprint = _fingerprint(clock)
            if reported.get(key) != fingerprint:
                reported[key] = fingerprint
                changed.append(clock)
        for key in [key for key in reported if key not in current]:
            del reported[key]
            removed.append(key)
        if not reported:
            del self._reported[part]
        return len(changed) + len(removed) > count

    # -- compact serialisation for a Faust table ------------------------------------------

    def encoded(self) -> bytes:
        """The state as JSON (format 2), assembled from each part's cached share."""
        parts = sorted(set(self.parts) | set(self._episodes) | set(self._reported))
        shares = [self._share(part) for part in parts]
        versions, episodes, reported = (
            b",".join(share[n] for share in shares if share[n]) for n in range(3)
        )
        head = dumps(
            {
                "format": STATE_FORMAT,
                "study_id": self.study_id,
                "reported_sponsor": self.reported_sponsor,
                "evaluated_on": None if self.evaluated_on is None else self.evaluated_on.isoformat(),
            }
        )[:-1]
        return (
            head
            + b',"versions":['
            + versions
            + b'],"episodes":['
            + episodes
            + b'],"reported":{'
            + reported
            + b"}}"
        )

    def _share(self, part: str) -> tuple[bytes, bytes, bytes]:
        """A part's versions, episodes and reported fingerprints as JSON, no brackets."""
        share = self._saved.get(part)
        if share is None:
            versions = [
                [part, milestone.value, *version.to_row()]
                for milestone, versions in sorted(self.parts.get(part, {}).items())
                for version in versions
            ]
            episodes = sorted(
                [identity.format(), episode.number, sorted(episode.kinds), episode.announced]
                for identity, episode in self._episodes.get(part, {}).items()
            )
            share = self._saved[part] = (
                exact(dumps(versions)[1:-1]),
                exact(dumps(episodes)[1:-1]),
                exact(dumps(self._reported.get(part, {}))[1:-1]),
            )
        return share

    def to_json(self) -> dict[str, object]:
        return dict(loads(self.encoded()))

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
        for (part, milestone), versions in grouped.items():
            state.parts.setdefault(part, {})[milestone] = VersionList(versions)
        reported = data["reported"]
        assert isinstance(reported, dict)  # noqa: S101
        for identity, episode in _read_episodes(data).items():
            state._episodes.setdefault(identity.site_id or STUDY_PART, {})[identity] = episode
        for key, fingerprint in reported.items():
            part = key.split("/", 1)[0]
            state._reported.setdefault(STUDY_PART if part == "-" else part, {})[key] = fingerprint
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


def _store_part(evaluation: _Evaluation, part: str, clocks: list[Clock]) -> None:
    """Cache a part's clocks, their JSON for the status document, and their next change."""
    evaluation.clocks[part] = clocks
    evaluation.fragments[part] = dumps([clock.to_json() for clock in clocks])[1:-1]
    wakes = [day for day in map(next_change, clocks) if day is not None]
    if wakes:
        evaluation.wakes[part] = min(wakes)
    else:
        evaluation.wakes.pop(part, None)


def _fingerprint(clock: Clock) -> str:
    """What, if it changes, makes a clock worth reporting again (not its elapsed days)."""
    return f"{clock.state}|{clock.start_date}|{clock.stop_date}|{clock.limit_days}|{clock.flags}"
